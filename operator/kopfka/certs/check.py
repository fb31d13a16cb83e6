"""Pure decisions about certificates kept in Secrets, with the time passed in: is a CA usable, is
a broker's or a TLS KafkaUser's certificate still good, which of a cluster's certificates must be
issued again.

They never read the clock nor Kubernetes: reconcile.py reads the Secrets and the time, and these
functions say what to keep. Each problem is a sentence for a condition's message.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from typing import Any, cast

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from kopfka.certs.issue import Authority
from kopfka.certs.kept import fingerprints

CA_CERTIFICATE = "ca.crt"
CA_KEY = "ca.key"
_PRIVATE_KEY = re.compile(rb"-----BEGIN PRIVATE KEY-----.+?-----END PRIVATE KEY-----\s*", re.S)


def _key_of(key: PrivateKeyTypes, certificate: x509.Certificate) -> bool:
    """Whether `key` is the private half of the certificate's public key."""

    def der(public: Any) -> bytes:
        return cast(
            bytes,
            public.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        )

    return der(cast(Any, key).public_key()) == der(certificate.public_key())


def load_authority(
    data: Mapping[str, bytes], *, now: datetime.datetime, source: str
) -> Authority | str:
    """The CA in a Secret's `data` (decoded), or why it cannot sign the brokers' certificates:
    a missing key, a malformed PEM, a certificate that is no CA, a key of another certificate,
    or a CA outside its validity at `now`. `source` names the Secret in the messages."""
    missing = [key for key in (CA_CERTIFICATE, CA_KEY) if not data.get(key)]
    if missing:
        return f"Secret {source} has no {' and no '.join(missing)}"
    try:
        certificate = x509.load_pem_x509_certificate(data[CA_CERTIFICATE])
    except ValueError:
        return f"Secret {source}: {CA_CERTIFICATE} is not a PEM certificate"
    try:
        key = serialization.load_pem_private_key(data[CA_KEY], password=None)
    except TypeError:
        return f"Secret {source}: {CA_KEY} is encrypted; kopfka needs it unencrypted"
    except ValueError:
        return f"Secret {source}: {CA_KEY} is not a PEM private key"
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        return f"Secret {source}: {CA_KEY} must be an RSA or EC key"
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = constraints.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        return f"Secret {source}: {CA_CERTIFICATE} is not a CA certificate (basicConstraints CA)"
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and not usage.key_cert_sign:
        return f"Secret {source}: {CA_CERTIFICATE} may not sign certificates (keyUsage)"
    if not _key_of(key, certificate):
        return f"Secret {source}: {CA_KEY} is not the key of {CA_CERTIFICATE}"
    if now < certificate.not_valid_before_utc:
        return (
            f"Secret {source}: the CA is not valid before "
            f"{certificate.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ}"
        )
    if now >= certificate.not_valid_after_utc:
        ended = certificate.not_valid_after_utc
        return f"Secret {source}: the CA expired at {ended:%Y-%m-%dT%H:%M:%SZ}"
    return Authority(certificate=certificate, key=key)


def renewal_due(
    certificate: x509.Certificate,
    *,
    now: datetime.datetime,
    renewal_days: int,
    limit: datetime.datetime | None = None,
) -> bool:
    """The certificate ends within `renewal_days` of `now`, and a new one would end later: it can
    last no longer than its CA (`limit`), so one that ends with its CA is kept, not issued again
    at every reconcile."""
    if certificate.not_valid_after_utc - now > datetime.timedelta(days=renewal_days):
        return False
    return limit is None or limit > certificate.not_valid_after_utc


def broker_certificate_problem(
    bundle: bytes | None,
    *,
    authority: x509.Certificate,
    dns_names: Sequence[str],
    now: datetime.datetime,
    renewal_days: int,
) -> str | None:
    """Why a broker's PEM file (key, certificate, CA) must be issued again, or None to keep it:
    it is missing or unreadable, its key is not its certificate's, another CA issued it, its
    names are not `dns_names`, or it ends within `renewal_days`."""
    if not bundle:
        return "missing"
    try:
        certificates = x509.load_pem_x509_certificates(bundle)
        found = _PRIVATE_KEY.search(bundle)
        key = serialization.load_pem_private_key(found.group(0), password=None) if found else None
    except (ValueError, TypeError):
        return "unreadable"
    leaf = certificates[0]
    if key is None or not _key_of(key, leaf):
        return "its key is not its certificate's"
    try:
        leaf.verify_directly_issued_by(authority)
    except (ValueError, TypeError, InvalidSignature):
        return "issued by another CA"
    try:
        sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = sans.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    if sorted(names) != sorted(dns_names):
        return "its DNS names changed"
    if renewal_due(leaf, now=now, renewal_days=renewal_days, limit=authority.not_valid_after_utc):
        return f"it expires at {leaf.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}"
    return None


def to_issue(
    existing: Mapping[str, bytes],
    wanted: Mapping[str, Sequence[str]],
    *,
    authority: x509.Certificate,
    now: datetime.datetime,
    renewal_days: int,
) -> dict[str, str]:
    """The broker files (by Secret key) to issue, each with why; `wanted` maps each key to its
    broker's DNS names."""
    reasons = {
        key: broker_certificate_problem(
            existing.get(key),
            authority=authority,
            dns_names=dns_names,
            now=now,
            renewal_days=renewal_days,
        )
        for key, dns_names in wanted.items()
    }
    return {key: reason for key, reason in reasons.items() if reason is not None}


def client_certificate_problem(
    certificate_pem: bytes | None,
    key_pem: bytes | None,
    *,
    authority: x509.Certificate,
    username: str,
    now: datetime.datetime,
    renewal_days: int,
) -> str | None:
    """Why a TLS KafkaUser's certificate must be issued again, or None to keep it: it is missing
    or unreadable, its key is not its certificate's, another CA issued it (the clients CA
    changed), its subject is not CN=<username>, or it ends within `renewal_days`."""
    if not certificate_pem or not key_pem:
        return "missing"
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        return "unreadable"
    if not _key_of(key, certificate):
        return "its key is not its certificate's"
    try:
        certificate.verify_directly_issued_by(authority)
    except (ValueError, TypeError, InvalidSignature):
        return "issued by another CA"
    if certificate.subject.rfc4514_string() != f"CN={username}":
        return "its subject is not CN=" + username
    if renewal_due(
        certificate, now=now, renewal_days=renewal_days, limit=authority.not_valid_after_utc
    ):
        return f"it expires at {certificate.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}"
    return None


def _valid_certificates(pem: bytes, now: datetime.datetime) -> list[x509.Certificate]:
    """The certificates of a PEM file that are valid at `now` (none for an unreadable file)."""
    try:
        found = x509.load_pem_x509_certificates(pem)
    except ValueError:
        return []
    return [item for item in found if item.not_valid_before_utc <= now < item.not_valid_after_utc]


def node_trust(current: bytes, others: Sequence[bytes], *, now: datetime.datetime) -> bytes:
    """The CAs the nodes trust on the internal listeners (PEM): the cluster CA's certificate
    first, then every other CA certificate in `others` (the previous CA of kopfka's, the trust
    the nodes were given before, the CAs that issued the certificates they keep) that is still
    valid, once each. A CA stays trusted until it expires, so no node that still presents a
    certificate of it is ever refused by one that restarted since."""
    first = current if current.endswith(b"\n") else current + b"\n"
    return first + valid_union(others, now=now, skip=fingerprints(current))


def valid_union(
    pems: Sequence[bytes], *, now: datetime.datetime, skip: Sequence[str] = ()
) -> bytes:
    """Every certificate of the PEM files `pems` that is valid at `now`, once each, in their
    order (none whose fingerprint is in `skip`)."""
    seen = set(skip)
    result = []
    for pem in pems:
        for certificate in _valid_certificates(pem, now):
            text = certificate.public_bytes(serialization.Encoding.PEM)
            (fingerprint,) = fingerprints(text)
            if fingerprint not in seen:
                seen.add(fingerprint)
                result.append(text)
    return b"".join(result)


def issuer_in_bundle(bundle: bytes | None) -> bytes:
    """The CA certificate a node's or the operator's PEM file carries after its own (PEM; empty
    when there is none or the file is unreadable)."""
    try:
        found = x509.load_pem_x509_certificates(bundle or b"")
    except ValueError:
        return b""
    return b"".join(item.public_bytes(serialization.Encoding.PEM) for item in found[1:2])


def good_under_trusted_ca(
    bundle: bytes | None,
    *,
    trusted: Sequence[str],
    dns_names: Sequence[str],
    now: datetime.datetime,
    renewal_days: int,
) -> bool:
    """A node's (or the operator's) PEM file is good but for its CA: another CA than the
    cluster's issued it, one whose fingerprint is in `trusted` (what every node trusts today)
    and that is still valid. While some node does not trust the cluster's CA yet, such a file is
    kept rather than issued again (certs/keep.py)."""
    issuer = _valid_certificates(issuer_in_bundle(bundle), now)
    if not issuer or fingerprints(issuer_in_bundle(bundle))[0] not in trusted:
        return False
    return (
        broker_certificate_problem(
            bundle, authority=issuer[0], dns_names=dns_names, now=now, renewal_days=renewal_days
        )
        is None
    )
