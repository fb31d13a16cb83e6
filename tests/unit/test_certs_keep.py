"""What a cluster keeps and what it gets anew (certs/keep.py), on a fixed clock: nothing is
issued twice, a scale-up restarts nobody, renewal and a new CA do."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest
from cryptography import x509

from kopfka.certs.issue import new_authority
from kopfka.certs.keep import keep_certificates
from kopfka.certs.kept import PREVIOUS_CA_CERTIFICATE, CaProblem, Certificates
from kopfka.model.cluster import ClusterSpec, parse_cluster
from tests.support.tls import NOW, ca_secret_data

DAY = datetime.timedelta(days=1)
TLS = {"name": "secure", "port": 9094, "tls": True}


def parse(brokers: int = 3, **extra: Any) -> ClusterSpec:
    return parse_cluster(
        "events", "streaming", {"brokers": {"replicas": brokers}, "listeners": [TLS], **extra}
    )


def again(spec: ClusterSpec, kept: Certificates, *, now: datetime.datetime = NOW) -> Certificates:
    """The next reconcile: what the Secrets hold now, read back."""
    assert kept.ca_key is not None
    ca_data = {"ca.crt": kept.ca_certificate, "ca.key": kept.ca_key}
    if kept.previous_ca_certificate:
        ca_data[PREVIOUS_CA_CERTIFICATE] = kept.previous_ca_certificate
    return keep_certificates(
        spec,
        ca_data=ca_data,
        broker_files=kept.brokers,
        revision=kept.revision,
        now=now,
    )


def first(spec: ClusterSpec) -> Certificates:
    return keep_certificates(spec, ca_data=None, broker_files={}, revision=None, now=NOW)


def ends(bundle: bytes) -> datetime.datetime:
    return x509.load_pem_x509_certificates(bundle)[0].not_valid_after_utc


def test_a_new_cluster_gets_a_ca_and_a_certificate_per_broker() -> None:
    made = first(parse())
    assert made.ca_key is not None
    assert set(made.brokers) == {f"events-brokers-{ordinal}.pem" for ordinal in range(3)}
    assert all(ends(bundle) == NOW + 365 * DAY for bundle in made.brokers.values())
    assert made.revision


def test_an_unchanged_cluster_keeps_everything_byte_for_byte() -> None:
    spec = parse()
    made = first(spec)
    assert again(spec, made) == made
    # Also later, outside the renewal windows.
    assert again(spec, made, now=NOW + 300 * DAY) == made


def test_a_scale_up_adds_certificates_without_a_new_revision() -> None:
    made = first(parse(3))
    grown = again(parse(5), made)
    assert {key: grown.brokers[key] for key in made.brokers} == made.brokers
    assert len(grown.brokers) == 5
    assert grown.revision == made.revision
    shrunk = again(parse(2), grown)
    assert set(shrunk.brokers) == {"events-brokers-0.pem", "events-brokers-1.pem"}
    assert shrunk.revision == made.revision


def test_renewal_issues_new_certificates_under_the_same_ca_and_a_new_revision() -> None:
    spec = parse()
    made = first(spec)
    renewed = again(spec, made, now=NOW + 336 * DAY)
    assert renewed.ca_certificate == made.ca_certificate
    assert all(renewed.brokers[key] != made.brokers[key] for key in made.brokers)
    assert all(ends(bundle) == NOW + 701 * DAY for bundle in renewed.brokers.values())
    assert renewed.revision != made.revision
    assert again(spec, renewed, now=NOW + 336 * DAY) == renewed


def test_a_ca_near_its_end_is_replaced_and_every_broker_gets_a_new_certificate() -> None:
    spec = parse(clusterCa={"validityDays": 100, "renewalDays": 10})
    made = first(spec)
    renewed = again(spec, made, now=NOW + 91 * DAY)
    assert renewed.ca_certificate != made.ca_certificate
    assert all(renewed.brokers[key] != made.brokers[key] for key in made.brokers)
    assert renewed.revision != made.revision
    # Clients trust the old CA too, until it expires, while the brokers roll onto the new one.
    assert renewed.previous_ca_certificate == made.ca_certificate
    assert renewed.trusted == renewed.ca_certificate + made.ca_certificate
    assert again(spec, renewed, now=NOW + 99 * DAY) == renewed
    expired = again(spec, renewed, now=NOW + 101 * DAY)
    assert expired.previous_ca_certificate is None
    assert expired.trusted == renewed.ca_certificate
    assert expired.brokers == renewed.brokers
    assert expired.revision == renewed.revision


def test_certificates_end_with_a_users_ca_and_are_not_issued_again_and_again() -> None:
    spec = parse(clusterCa={"secretName": "my-ca"})
    mine = new_authority("mine", now=NOW, validity_days=40)
    data = {"ca.crt": mine.certificate_pem, "ca.key": mine.key_pem}
    made = keep_certificates(spec, ca_data=data, broker_files={}, revision=None, now=NOW)
    assert made.ca_key is None
    assert all(
        ends(bundle) == mine.certificate.not_valid_after_utc for bundle in made.brokers.values()
    )
    later = NOW + 20 * DAY  # within the 30 days' window, but a new one could last no longer
    kept = keep_certificates(
        spec, ca_data=data, broker_files=made.brokers, revision=made.revision, now=later
    )
    assert kept == made


@pytest.mark.parametrize(
    ("extra", "ca_data", "missing", "message"),
    [
        (
            {"clusterCa": {"secretName": "my-ca"}},
            None,
            True,
            "spec.clusterCa.secretName: Secret my-ca is not found in namespace streaming",
        ),
        (
            {"clusterCa": {"secretName": "my-ca"}},
            {"ca.crt": b"x"},
            False,
            "Secret my-ca has no ca.key",
        ),
        ({}, {"ca.crt": b"x", "ca.key": b"y"}, False, "delete the Secret"),
    ],
    ids=["users-missing", "users-without-key", "own-unreadable"],
)
def test_a_ca_that_cannot_be_used_is_a_problem_not_a_new_ca(
    extra: dict[str, Any], ca_data: dict[str, bytes] | None, missing: bool, message: str
) -> None:
    with pytest.raises(CaProblem) as raised:
        keep_certificates(parse(**extra), ca_data=ca_data, broker_files={}, revision=None, now=NOW)
    assert raised.value.missing is missing
    assert message in str(raised.value)


def test_a_new_ca_of_the_user_reissues_every_certificate() -> None:
    spec = parse(clusterCa={"secretName": "my-ca"})
    one, two = (new_authority(n, now=NOW, validity_days=400) for n in ("one", "two"))
    made = keep_certificates(
        spec,
        ca_data=ca_secret_data(one),
        broker_files={},
        revision=None,
        now=NOW,
    )
    moved = keep_certificates(
        spec,
        ca_data=ca_secret_data(two),
        broker_files=made.brokers,
        revision=made.revision,
        now=NOW,
    )
    assert moved.ca_certificate == two.certificate_pem
    assert dataclasses.replace(moved, brokers={}, revision="") != dataclasses.replace(
        made, brokers={}, revision=""
    )
    assert all(moved.brokers[key] != made.brokers[key] for key in made.brokers)
    assert moved.revision != made.revision
