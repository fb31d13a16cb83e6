"""TLS KafkaUsers (authentication tls): the model and its checks against the cluster, the
planner's table for them (no SCRAM credential, one left over is deleted; quotas and ACLs as for
any user), the certificate kopfka issues and keeps (certs/keep.py keep_user_certificate), and
its Secret."""

from __future__ import annotations

import base64
import datetime
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from kopfka.certs.issue import Authority, new_authority
from kopfka.certs.keep import keep_certificates, keep_user_certificate
from kopfka.certs.kept import USER_FILES, CaProblem, UserCertificate
from kopfka.kafka.facts import ScramCredential, UserFacts
from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.errors import SpecError
from kopfka.model.user import NO_SCRAM_LISTENER, NO_TLS_LISTENER, check_against_cluster, parse_user
from kopfka.render.user_job import render_user_certificate_secret
from kopfka.users import plan as user_plan
from kopfka.users.plan import AclChanges, UserResource, UserWork, plan_users
from tests.support.tls import NOW, ca_secret_data

DAY = datetime.timedelta(days=1)
MTLS = {"name": "mtls", "port": 9096, "tls": True, "authentication": {"type": "tls"}}
SCRAM = {"name": "scram", "port": 9095, "authentication": {"type": "scram-sha-512"}}
ORDERS_ACL = {
    "resource": {"type": "topic", "name": "orders-", "patternType": "prefix"},
    "operations": ["Write"],
}
SHA512 = ScramCredential("SCRAM-SHA-512", 4096)


def cluster(*listeners: dict[str, Any], **extra: Any) -> ClusterSpec:
    return parse_cluster(
        "events",
        "streaming",
        {"brokers": {"replicas": 1}, "listeners": list(listeners), **extra},
    )


def tls_user(**extra: Any) -> dict[str, Any]:
    return {"cluster": "events", "authentication": {"type": "tls"}, **extra}


def test_a_tls_user_needs_a_listener_that_takes_certificates() -> None:
    user = parse_user("alice", tls_user())
    assert user.tls
    assert check_against_cluster(user, cluster(MTLS)) is None
    reason, message = check_against_cluster(user, cluster(SCRAM)) or ("", "")
    assert reason == NO_TLS_LISTENER
    assert "has no listener with authentication tls" in message
    scram = parse_user("bob", {"cluster": "events", "authentication": {"type": "scram-sha-512"}})
    assert not scram.tls
    assert (check_against_cluster(scram, cluster(MTLS)) or ("",))[0] == NO_SCRAM_LISTENER


def test_a_tls_users_name_must_fit_a_common_name() -> None:
    parse_user("a" * 64, tls_user())
    with pytest.raises(SpecError, match="at most 64 characters"):
        parse_user("a" * 65, tls_user())
    # A SCRAM user's name has no such limit.
    parse_user("a" * 65, {"cluster": "events", "authentication": {"type": "scram-sha-512"}})


def resource(
    *, acls: list[dict[str, Any]] | None = None, deleting: bool = False, uid: str | None = "uid-1"
) -> UserResource:
    extra = {"authorization": {"acls": acls}} if acls else {}
    return UserResource(
        "streaming/alice",
        "alice",
        2,
        spec=parse_user("alice", tls_user(**extra)),
        secret_revision=uid,
        deleting=deleting,
        certificate=("CN=alice", "2027-06-01T12:00:00Z"),
    )


WRITE = parse_user("alice", tls_user(authorization={"acls": [ORDERS_ACL]})).acls

CASES: list[tuple[str, UserResource, UserFacts | None, str, UserWork]] = [
    ("new TLS user: nothing to set in Kafka", resource(), None, user_plan.IN_SYNC, UserWork()),
    (
        "a SCRAM credential left from before is deleted",
        resource(),
        UserFacts((SHA512,)),
        user_plan.UPDATING,
        UserWork(deletions=("alice",)),
    ),
    (
        "its ACLs are set like any user's",
        resource(acls=[ORDERS_ACL]),
        None,
        user_plan.UPDATING,
        UserWork(acls={"alice": AclChanges(create=WRITE)}),
    ),
    (
        "its certificate Secret is being made",
        resource(uid=None),
        None,
        user_plan.SECRET_MISSING,
        UserWork(),
    ),
    (
        "deleting removes its ACLs",
        resource(acls=[ORDERS_ACL], deleting=True),
        UserFacts((), acls=tuple(WRITE)),
        user_plan.DELETING,
        UserWork(acls={"alice": AclChanges(delete=WRITE)}),
    ),
]


@pytest.mark.parametrize(
    ("resource", "facts", "reason", "work"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_the_plan_of_a_tls_user(
    resource: UserResource, facts: UserFacts | None, reason: str, work: UserWork
) -> None:
    plan = plan_users([resource], {"alice": facts} if facts else {})
    verdict = plan.verdicts["streaming/alice"]
    assert verdict.reason == reason
    assert plan.work == work
    assert not plan.work.credentials  # never a password for a TLS user


def test_an_in_sync_tls_user_says_until_when_its_certificate_holds() -> None:
    verdict = plan_users([resource()], {}).verdicts["streaming/alice"]
    assert verdict.ready
    assert "valid until 2027-06-01T12:00:00Z" in verdict.message
    assert "being made" in plan_users([resource(uid=None)], {}).verdicts["streaming/alice"].message
    assert (
        "certificate Secret"
        in plan_users([resource(uid=None)], {}).verdicts["streaming/alice"].message
    )


# -- the certificate ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spec() -> ClusterSpec:
    return cluster(MTLS, userCertificates={"validityDays": 100, "renewalDays": 10})


@pytest.fixture(scope="module")
def clients_ca() -> Authority:
    return new_authority("clients", now=NOW, validity_days=1000)


def keep(
    spec: ClusterSpec,
    authority: Authority,
    kept: dict[str, bytes] | None = None,
    *,
    now: datetime.datetime = NOW,
) -> UserCertificate:
    return keep_user_certificate(
        spec,
        "alice",
        clients_ca_data=ca_secret_data(authority),
        cluster_ca_certificate=b"CLUSTER CA",
        kept=kept or {},
        now=now,
    )


def test_a_new_tls_user_gets_a_client_certificate_of_the_clients_ca(
    spec: ClusterSpec, clients_ca: Authority
) -> None:
    made = keep(spec, clients_ca)
    assert made.issued == "missing"
    assert set(made.files) == set(USER_FILES)
    certificate = x509.load_pem_x509_certificate(made.files["user.crt"])
    assert certificate.subject.rfc4514_string() == "CN=alice" == made.subject
    certificate.verify_directly_issued_by(clients_ca.certificate)
    usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert certificate.not_valid_after_utc == NOW + 100 * DAY
    assert made.not_after == f"{NOW + 100 * DAY:%Y-%m-%dT%H:%M:%SZ}"
    assert made.files["user.pem"] == made.files["user.key"] + made.files["user.crt"]
    assert made.files["ca.crt"] == b"CLUSTER CA"
    assert b"PRIVATE KEY" in made.files["user.key"]


def test_a_good_certificate_is_kept_byte_for_byte(spec: ClusterSpec, clients_ca: Authority) -> None:
    made = keep(spec, clients_ca)
    again = keep(spec, clients_ca, dict(made.files), now=NOW + 50 * DAY)
    assert again.issued is None
    assert again.files == made.files


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("due", "it expires at"),
        ("other-ca", "issued by another CA"),
        ("other-user", "its subject is not CN=alice"),
        ("wrong-key", "its key is not its certificate's"),
        ("garbage", "unreadable"),
    ],
)
def test_a_certificate_is_issued_again_when_it_is_not_good(
    spec: ClusterSpec, clients_ca: Authority, change: str, reason: str
) -> None:
    made = dict(keep(spec, clients_ca).files)
    now = NOW
    authority = clients_ca
    if change == "due":
        now = NOW + 95 * DAY
    elif change == "other-ca":
        authority = new_authority("new clients CA", now=NOW, validity_days=1000)
    elif change == "other-user":
        made = dict(
            keep_user_certificate(
                spec,
                "bob",
                clients_ca_data=ca_secret_data(clients_ca),
                cluster_ca_certificate=b"",
                kept={},
                now=NOW,
            ).files
        )
    elif change == "wrong-key":
        made["user.key"] = keep(spec, clients_ca).files["user.key"]
    else:
        made["user.crt"] = b"not a certificate"
    again = keep(spec, authority, made, now=now)
    assert again.issued is not None
    assert reason in again.issued
    x509.load_pem_x509_certificate(again.files["user.crt"]).verify_directly_issued_by(
        authority.certificate
    )


def test_a_clients_ca_that_is_not_there_or_not_usable_issues_nothing(spec: ClusterSpec) -> None:
    with pytest.raises(CaProblem, match="events-clients-ca is not made yet") as problem:
        keep_user_certificate(
            spec, "alice", clients_ca_data=None, cluster_ca_certificate=b"", kept={}, now=NOW
        )
    assert problem.value.clients
    own = cluster(MTLS, clientsCa={"secretName": "mine"})
    with pytest.raises(CaProblem, match="mine is not found in namespace streaming"):
        keep_user_certificate(
            own, "alice", clients_ca_data=None, cluster_ca_certificate=b"", kept={}, now=NOW
        )
    with pytest.raises(CaProblem, match=r"has no ca\.key"):
        keep_user_certificate(
            spec,
            "alice",
            clients_ca_data={"ca.crt": b"x"},
            cluster_ca_certificate=b"",
            kept={},
            now=NOW,
        )


def test_the_clients_ca_the_cluster_keeps_issues_the_users_certificate() -> None:
    spec = cluster(MTLS)
    made = keep_certificates(spec, ca_data=None, broker_files={}, revision=None, now=NOW)
    assert made.clients_ca is not None
    assert made.clients_ca.key is not None
    user = keep_user_certificate(
        spec,
        "alice",
        clients_ca_data={"ca.crt": made.clients_ca.certificate, "ca.key": made.clients_ca.key},
        cluster_ca_certificate=made.trusted,
        kept={},
        now=NOW,
    )
    assert user.files["ca.crt"] == made.ca_certificate
    issuer = x509.load_pem_x509_certificate(made.clients_ca.certificate)
    x509.load_pem_x509_certificate(user.files["user.crt"]).verify_directly_issued_by(issuer)


def test_the_certificate_secret_holds_the_files_and_the_users_labels() -> None:
    secret = render_user_certificate_secret(
        "streaming", "alice", "events", {"user.crt": b"C", "user.key": b"K"}
    )
    assert secret["metadata"]["name"] == "alice"
    assert secret["metadata"]["labels"]["kopfka.dev/cluster"] == "events"
    assert {key: base64.b64decode(value) for key, value in secret["data"].items()} == {
        "user.crt": b"C",
        "user.key": b"K",
    }
