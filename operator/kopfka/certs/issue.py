"""Issuing keys and certificates with the `cryptography` package: CAs, the nodes' certificates,
the operator's client certificate and TLS KafkaUsers' client certificates.

Keys are EC P-256 (NIST secp256r1) for the CA and for every broker: every TLS client Kafka users
run accepts ECDSA P-256 (Java, librdkafka, Go, Python's ssl), a key takes microseconds to make
where RSA 2048 takes tens of milliseconds on a busy core (a cluster of 30 brokers renews them all
at once), and the certificates are small. A user's own CA may hold an RSA or EC key; the brokers'
keys are P-256 either way. Times are passed in (`now`), never read here, so callers and tests
decide the clock.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Certificates start a little before they are made: a client whose clock is behind by a few
# minutes would otherwise refuse a fresh certificate as not yet valid.
BACKDATE = datetime.timedelta(minutes=5)

SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class Authority:
    """A CA that can sign: its certificate and private key."""

    certificate: x509.Certificate
    key: SigningKey

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return _key_pem(self.key)


def _key_pem(key: SigningKey) -> bytes:
    """PKCS#8, unencrypted: what Kafka's PEM key store reads without ssl.key.password."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "kopfka"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
        ]
    )


def new_authority(common_name: str, *, now: datetime.datetime, validity_days: int) -> Authority:
    """A self-signed CA that may sign end-entity certificates only (path length 0)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + datetime.timedelta(days=validity_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signs_certificates=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Authority(certificate=certificate, key=key)


def _key_usage(*, signs_certificates: bool) -> x509.KeyUsage:
    """Signatures (the TLS handshake's, and a CA's on certificates and CRLs); nothing else."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def _leaf(
    authority: Authority,
    key: ec.EllipticCurvePrivateKey,
    subject: x509.Name,
    *,
    usages: Sequence[x509.ObjectIdentifier],
    dns_names: Sequence[str],
    now: datetime.datetime,
    validity_days: int,
) -> x509.Certificate:
    """An end-entity certificate for `key`, signed by `authority`, for its extended key usages
    (a TLS server's, a client's, or both). It never outlives its CA: a peer would refuse it
    from then on anyway."""
    not_after = min(
        now + datetime.timedelta(days=validity_days), authority.certificate.not_valid_after_utc
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(authority.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signs_certificates=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.key.public_key()),
            critical=False,
        )
    )
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name) for name in dns_names]),
            critical=False,
        )
    return builder.sign(authority.key, hashes.SHA256())


def server_bundle(
    authority: Authority,
    common_name: str,
    dns_names: Sequence[str],
    *,
    now: datetime.datetime,
    validity_days: int,
) -> bytes:
    """A new key and a node's certificate for `dns_names`, signed by `authority`, as one PEM
    file: the key, the certificate, then the CA's certificate (the chain Kafka presents). For a
    server and a client both: with spec.internalListeners.tls nodes present it to each other
    in both roles (a broker is the controllers' client, and its followers' fetch target)."""
    return _key_store(
        authority,
        _name(common_name),
        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
        dns_names,
        now=now,
        validity_days=validity_days,
    )


def client_bundle(
    authority: Authority, common_name: str, *, now: datetime.datetime, validity_days: int
) -> bytes:
    """A new key and a client certificate, as `server_bundle` makes a node's: the operator's
    own, which it and its Jobs present on the internal listeners."""
    return _key_store(
        authority,
        _name(common_name),
        [ExtendedKeyUsageOID.CLIENT_AUTH],
        (),
        now=now,
        validity_days=validity_days,
    )


def _key_store(
    authority: Authority,
    subject: x509.Name,
    usages: Sequence[x509.ObjectIdentifier],
    dns_names: Sequence[str],
    *,
    now: datetime.datetime,
    validity_days: int,
) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _leaf(
        authority,
        key,
        subject,
        usages=usages,
        dns_names=dns_names,
        now=now,
        validity_days=validity_days,
    )
    return (
        _key_pem(key)
        + certificate.public_bytes(serialization.Encoding.PEM)
        + authority.certificate_pem
    )


@dataclass(frozen=True)
class ClientCertificate:
    """A TLS KafkaUser's key and certificate (PEM): what its Secret holds."""

    key_pem: bytes
    certificate_pem: bytes


def client_certificate(
    authority: Authority, username: str, *, now: datetime.datetime, validity_days: int
) -> ClientCertificate:
    """A new key and a client certificate whose subject is CN=<username> alone, signed by the
    clients CA: the brokers' mapping rule makes it the principal User:<username>."""
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _leaf(
        authority,
        key,
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, username)]),
        usages=[ExtendedKeyUsageOID.CLIENT_AUTH],
        dns_names=(),
        now=now,
        validity_days=validity_days,
    )
    return ClientCertificate(
        key_pem=_key_pem(key), certificate_pem=certificate.public_bytes(serialization.Encoding.PEM)
    )
