"""TLS material for tests: what certs/keep.py issues for a new cluster, on a fixed clock."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kopfka.certs.issue import Authority, server_bundle
from kopfka.certs.keep import keep_certificates
from kopfka.certs.kept import Certificates
from kopfka.model.cluster import ClusterSpec

NOW = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)


def new_certificates(spec: ClusterSpec, *, now: datetime.datetime = NOW) -> Certificates | None:
    """A new cluster's CA and node certificates; None when it needs none (no TLS listener)."""
    if not spec.needs_certificates:
        return None
    return keep_certificates(spec, ca_data=None, broker_files={}, revision=None, now=now)


def ca_secret_data(authority: Authority) -> dict[str, bytes]:
    """A user's CA Secret as keep_certificates reads it (decoded): the CA's certificate and key."""
    return {"ca.crt": authority.certificate_pem, "ca.key": authority.key_pem}


def issued_secret(
    authority: Authority,
    dns_names: Sequence[str],
    *,
    now: datetime.datetime = NOW,
    common_name: str = "node",
    chain: Sequence[bytes] = (),
    root: bytes | None = None,
    validity_days: int = 90,
) -> dict[str, bytes]:
    """A Secret as cert-manager's CA issuer writes it (decoded), for a certificate of
    `authority`: tls.crt (the certificate, then `chain`), tls.key (in the SEC 1 form
    cert-manager writes by default, not PKCS#8) and ca.crt (`root`, else the CA's own)."""
    bundle = server_bundle(authority, common_name, dns_names, now=now, validity_days=validity_days)
    key = serialization.load_pem_private_key(bundle, password=None)
    leaf = x509.load_pem_x509_certificates(bundle)[0]
    return {
        "tls.crt": leaf.public_bytes(serialization.Encoding.PEM) + b"".join(chain),
        "tls.key": key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ),
        "ca.crt": root if root is not None else authority.certificate_pem,
    }


def intermediate_authority(
    common_name: str, *, now: datetime.datetime = NOW
) -> tuple[Authority, bytes]:
    """A CA signed by a root (as a company's CA under its offline root): the intermediate, and
    the root's certificate (PEM)."""
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{common_name} root")])
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(root_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    return Authority(certificate=certificate, key=key), root.public_bytes(
        serialization.Encoding.PEM
    )
