"""The cluster CA and broker certificates (kopfka.certs): what is issued, and the pure decisions
about kept ones, on a fixed clock."""

from __future__ import annotations

import datetime
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from kopfka.certs.check import (
    broker_certificate_problem,
    load_authority,
    renewal_due,
    to_issue,
)
from kopfka.certs.issue import Authority, new_authority, server_bundle
from kopfka.model import names
from kopfka.model.names import Role

NOW = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)
NAMES = names.broker_dns_names("events", "streaming", Role.BROKER, 0)
CA = new_authority("kopfka cluster CA streaming/events", now=NOW, validity_days=1825)
OTHER_CA = new_authority("another CA", now=NOW, validity_days=1825)


def ca_data(authority: Authority) -> dict[str, bytes]:
    return {"ca.crt": authority.certificate_pem, "ca.key": authority.key_pem}


def leaf(bundle: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificates(bundle)[0]


def self_signed(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, *, ca: bool
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "mine")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + 100 * DAY)
    )
    if ca:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True
        )
    return builder.sign(key, hashes.SHA256())


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def key_pem(key: object, password: bytes | None = None) -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(  # type: ignore[attr-defined,no-any-return]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
ED_KEY = ed25519.Ed25519PrivateKey.generate()


@pytest.mark.parametrize(
    ("data", "at", "problem"),
    [
        (ca_data(CA), NOW, None),
        ({"ca.crt": pem(self_signed(RSA_KEY, ca=True)), "ca.key": key_pem(RSA_KEY)}, NOW, None),
        ({"ca.crt": CA.certificate_pem}, NOW, "Secret s has no ca.key"),
        ({}, NOW, "Secret s has no ca.crt and no ca.key"),
        ({"ca.crt": b"not pem", "ca.key": CA.key_pem}, NOW, "ca.crt is not a PEM certificate"),
        ({"ca.crt": CA.certificate_pem, "ca.key": b"junk"}, NOW, "ca.key is not a PEM private"),
        (
            {"ca.crt": CA.certificate_pem, "ca.key": key_pem(CA.key, b"secret")},
            NOW,
            "ca.key is encrypted",
        ),
        (
            {"ca.crt": pem(self_signed(EC_KEY, ca=False)), "ca.key": key_pem(EC_KEY)},
            NOW,
            "ca.crt is not a CA certificate",
        ),
        (
            {"ca.crt": CA.certificate_pem, "ca.key": OTHER_CA.key_pem},
            NOW,
            "ca.key is not the key of ca.crt",
        ),
        ({"ca.crt": CA.certificate_pem, "ca.key": key_pem(ED_KEY)}, NOW, "RSA or EC key"),
        (ca_data(CA), NOW + 1826 * DAY, "Secret s: the CA expired at 2031-05-31T12:00:00Z"),
        (ca_data(CA), NOW - DAY, "the CA is not valid before 2026-06-01T11:55:00Z"),
    ],
    ids=[
        "kopfka-made",
        "users-rsa",
        "no-key",
        "empty",
        "malformed-cert",
        "malformed-key",
        "encrypted-key",
        "not-a-ca",
        "key-of-another-ca",
        "ed25519-key",
        "expired",
        "not-yet-valid",
    ],
)
def test_a_ca_secret_is_usable_or_says_why_not(
    data: dict[str, bytes], at: datetime.datetime, problem: str | None
) -> None:
    found = load_authority(data, now=at, source="s")
    if problem is None:
        assert isinstance(found, Authority)
    else:
        assert isinstance(found, str)
        assert problem in found


def test_a_ca_that_may_not_sign_certificates_is_refused() -> None:
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "no signing")])
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(EC_KEY.public_key())
        .serial_number(2)
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .sign(EC_KEY, hashes.SHA256())
    )
    found = load_authority(
        {"ca.crt": pem(certificate), "ca.key": key_pem(EC_KEY)}, now=NOW, source="s"
    )
    assert found == "Secret s: ca.crt may not sign certificates (keyUsage)"


def test_the_ca_kopfka_makes() -> None:
    certificate = CA.certificate
    assert certificate.not_valid_before_utc == NOW - datetime.timedelta(minutes=5)
    assert certificate.not_valid_after_utc == NOW + 1825 * DAY
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca
    assert constraints.path_length == 0
    assert isinstance(CA.key, ec.EllipticCurvePrivateKey)
    assert CA.key.curve.name == "secp256r1"


def test_a_broker_file_holds_key_certificate_and_ca_for_every_name(tmp_path: Path) -> None:
    bundle = server_bundle(CA, "events-brokers-0", NAMES, now=NOW, validity_days=365)
    certificates = x509.load_pem_x509_certificates(bundle)
    assert [c.subject for c in certificates] == [
        leaf(bundle).subject,
        CA.certificate.subject,
    ]
    assert bundle.startswith(b"-----BEGIN PRIVATE KEY-----")
    sans = leaf(bundle).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == list(NAMES)
    assert leaf(bundle).not_valid_after_utc == NOW + 365 * DAY
    leaf(bundle).verify_directly_issued_by(CA.certificate)
    # Python's own TLS stack reads the file as a server's chain (Kafka's PEM key store reads the
    # same layout: the Kafka tier proves it with brokers).
    path = tmp_path / "broker.pem"
    path.write_bytes(bundle)
    ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(path)
    assert (
        broker_certificate_problem(
            bundle, authority=CA.certificate, dns_names=NAMES, now=NOW, renewal_days=30
        )
        is None
    )


def test_a_broker_certificate_never_outlives_its_ca() -> None:
    short = new_authority("short", now=NOW, validity_days=100)
    bundle = server_bundle(short, "b", NAMES, now=NOW, validity_days=365)
    assert leaf(bundle).not_valid_after_utc == short.certificate.not_valid_after_utc


CERTIFICATE = server_bundle(CA, "events-brokers-0", NAMES, now=NOW, validity_days=365)


@pytest.mark.parametrize(
    ("ends_in_days", "renewal_days", "ca_ends_in_days", "due"),
    [
        (365, 30, None, False),
        (31, 30, None, False),
        (30, 30, None, True),
        (1, 30, None, True),
        (-1, 30, None, True),  # expired already
        (20, 30, 1000, True),  # the CA can issue a longer one
        (20, 30, 20, False),  # it ends with its CA: a new one could not last longer
    ],
)
def test_renewal_is_due_within_the_window_when_a_new_certificate_would_last_longer(
    ends_in_days: int, renewal_days: int, ca_ends_in_days: int | None, due: bool
) -> None:
    end = NOW + ends_in_days * DAY
    limit = None if ca_ends_in_days is None else NOW + ca_ends_in_days * DAY
    certificate = (
        x509.CertificateBuilder()
        .subject_name(CA.certificate.subject)
        .issuer_name(CA.certificate.subject)
        .public_key(EC_KEY.public_key())
        .serial_number(3)
        .not_valid_before(end - 400 * DAY)
        .not_valid_after(end)
        .sign(EC_KEY, hashes.SHA256())
    )
    assert renewal_due(certificate, now=NOW, renewal_days=renewal_days, limit=limit) is due


def _swap_key(bundle: bytes) -> bytes:
    other = server_bundle(CA, "x", NAMES, now=NOW, validity_days=365)
    key_end = b"-----END PRIVATE KEY-----\n"
    return other.split(key_end)[0] + key_end + bundle.split(key_end)[1]


@pytest.mark.parametrize(
    ("bundle", "authority", "dns_names", "at", "problem"),
    [
        (lambda: CERTIFICATE, CA, NAMES, NOW, None),
        (lambda: CERTIFICATE, CA, NAMES, NOW + 334 * DAY, None),
        (lambda: CERTIFICATE, CA, NAMES, NOW + 335 * DAY, "it expires at 2027-06-01T12:00:00Z"),
        (lambda: None, CA, NAMES, NOW, "missing"),
        (lambda: b"", CA, NAMES, NOW, "missing"),
        (lambda: b"garbage", CA, NAMES, NOW, "unreadable"),
        (lambda: CERTIFICATE, OTHER_CA, NAMES, NOW, "issued by another CA"),
        (lambda: CERTIFICATE, CA, NAMES[:4], NOW, "its DNS names changed"),
        (
            lambda: CERTIFICATE,
            CA,
            names.broker_dns_names("events", "elsewhere", Role.BROKER, 0),
            NOW,
            "its DNS names changed",
        ),
        (lambda: _swap_key(CERTIFICATE), CA, NAMES, NOW, "its key is not its certificate's"),
    ],
    ids=[
        "fresh",
        "outside-the-window",
        "inside-the-window",
        "none",
        "empty",
        "garbage",
        "other-ca",
        "fewer-names",
        "other-namespace",
        "swapped-key",
    ],
)
def test_a_broker_certificate_is_kept_or_says_why_it_is_issued_again(
    bundle: Callable[[], bytes | None],
    authority: Authority,
    dns_names: tuple[str, ...],
    at: datetime.datetime,
    problem: str | None,
) -> None:
    found = broker_certificate_problem(
        bundle(),
        authority=authority.certificate,
        dns_names=dns_names,
        now=at,
        renewal_days=30,
    )
    assert found == problem


def test_to_issue_names_only_the_files_that_need_a_new_certificate() -> None:
    wanted = {
        f"events-brokers-{ordinal}.pem": names.broker_dns_names(
            "events", "streaming", Role.BROKER, ordinal
        )
        for ordinal in range(3)
    }
    existing = {"events-brokers-0.pem": CERTIFICATE, "events-brokers-1.pem": CERTIFICATE}
    assert to_issue(existing, wanted, authority=CA.certificate, now=NOW, renewal_days=30) == {
        "events-brokers-1.pem": "its DNS names changed",
        "events-brokers-2.pem": "missing",
    }


def test_dns_names_of_a_broker() -> None:
    assert names.broker_dns_names("events", "streaming", Role.COMBINED, 2) == (
        "events-nodes-2.events-nodes",
        "events-nodes-2.events-nodes.streaming",
        "events-nodes-2.events-nodes.streaming.svc",
        "events-nodes-2.events-nodes.streaming.svc.cluster.local",
        "events-kafka-bootstrap",
        "events-kafka-bootstrap.streaming",
        "events-kafka-bootstrap.streaming.svc",
        "events-kafka-bootstrap.streaming.svc.cluster.local",
        "events-nodes",
        "events-nodes.streaming",
        "events-nodes.streaming.svc",
        "events-nodes.streaming.svc.cluster.local",
    )
