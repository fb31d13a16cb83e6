"""Client certificates (mutual TLS) on a client listener, with the clients CA and the broker
certificates kopfka makes (certs/keep.py) and the configuration it renders, on a real broker
started by the broker image's entrypoint, with spec.authorization on (so the broker image's
principal builder maps the certificates): a client with a certificate of the clients CA completes
the handshake and produces and consumes as the user its CN names; a client without a
certificate, or with one of another CA, gets nothing; a TLS KafkaUser's ACLs, set by the user
Job's command from the planner's work, allow exactly what they name, and a SCRAM credential left
of its name is deleted."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kafka.errors
import pytest

from kopfka.certs.check import load_authority
from kopfka.certs.issue import Authority, client_certificate, new_authority
from kopfka.certs.keep import keep_certificates, keep_user_certificate
from kopfka.certs.kept import Certificates
from kopfka.kafka.facts import UserFacts
from kopfka.model.cluster import parse_cluster
from kopfka.model.user import parse_user
from kopfka.reconcile import new_cluster_id
from kopfka.users.plan import IN_SYNC, UserResource, plan_users
from tests.kafka.clients import connects, consume_all, create_topic, produce
from tests.kafka.conftest import KAFKA_VERSION, SMALL_POOL
from tests.kafka.localkafka import LocalKafka, broker_secret, local_kafka
from tests.kafka.users import ACL_BINDINGS, ACLS, kafka_users, users_apply

MTLS_PORT = 9096
SPEC = parse_cluster(
    "mutual",
    "kafka",
    {
        "mode": "combined",
        "controllers": {"replicas": 1, **SMALL_POOL},
        "listeners": [
            {"name": "mtls", "port": MTLS_PORT, "tls": True, "authentication": {"type": "tls"}}
        ],
        "authorization": {"type": "simple", "superUsers": ["root"]},
    },
)
NOW = datetime.datetime.now(datetime.UTC)
# The operator's and its Jobs' way in: the replication listener (User:KOPFKA-INTERNAL).
INTERNAL = SPEC.operator_bootstrap


@pytest.fixture(scope="module")
def certificates() -> Certificates:
    return keep_certificates(SPEC, ca_data=None, broker_files={}, revision=None, now=NOW)


@pytest.fixture(scope="module")
def clients_ca(certificates: Certificates) -> Authority:
    """The clients CA, as the user sync reads it from <cluster>-clients-ca."""
    kept = certificates.clients_ca
    assert kept is not None
    assert kept.key is not None
    authority = load_authority(
        {"ca.crt": kept.certificate, "ca.key": kept.key}, now=NOW, source="mutual-clients-ca"
    )
    assert isinstance(authority, Authority)
    return authority


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clients")


@pytest.fixture(scope="module")
def mutual(
    tmp_path_factory: pytest.TempPathFactory, certificates: Certificates
) -> Iterator[LocalKafka]:
    base = tmp_path_factory.mktemp("mutual")
    tls_dir = broker_secret(base, certificates.brokers)
    with local_kafka(SPEC, new_cluster_id(), base, KAFKA_VERSION, tls_dir=tls_dir) as cluster:
        yield cluster


def client(
    files: Path, certificates: Certificates, authority: Authority | None, user: str
) -> dict[str, Any]:
    """kafka-python's settings for a client trusting the cluster CA, presenting a certificate
    for `user` of `authority` (None: no certificate)."""
    ca = files / "ca.crt"
    ca.write_bytes(certificates.ca_certificate)
    security: dict[str, Any] = {
        "security_protocol": "SSL",
        "ssl_cafile": str(ca),
        "ssl_check_hostname": True,
    }
    if authority is not None:
        issued = client_certificate(authority, user, now=NOW, validity_days=30)
        stem = f"{user}-{authority.certificate.serial_number}"
        (files / f"{stem}.crt").write_bytes(issued.certificate_pem)
        (files / f"{stem}.key").write_bytes(issued.key_pem)
        security |= {
            "ssl_certfile": str(files / f"{stem}.crt"),
            "ssl_keyfile": str(files / f"{stem}.key"),
        }
    return security


def test_a_certificate_of_the_clients_ca_logs_in_as_the_user_its_cn_names(
    mutual: LocalKafka, files: Path, certificates: Certificates, clients_ca: Authority
) -> None:
    root = client(files, certificates, clients_ca, "root")
    at = mutual.bootstrap(MTLS_PORT)
    # root is a super user: only User:root (not User:CN=root) may create a topic here.
    create_topic(at, "mutual", partitions=3, replicas=1, security=root)
    sent = [f"mutual-{index}".encode() for index in range(100)]
    assert produce(at, "mutual", sent, security=root) == len(sent)
    assert sorted(consume_all(at, "mutual", len(sent), security=root)) == sorted(sent)


def test_a_client_without_a_certificate_or_with_one_of_another_ca_gets_nothing(
    mutual: LocalKafka, files: Path, certificates: Certificates, clients_ca: Authority
) -> None:
    assert connects(mutual.bootstrap(MTLS_PORT), **client(files, certificates, clients_ca, "root"))
    assert not connects(mutual.bootstrap(MTLS_PORT), **client(files, certificates, None, "root"))
    stranger = new_authority("stranger", now=NOW, validity_days=30)
    assert not connects(
        mutual.bootstrap(MTLS_PORT), **client(files, certificates, stranger, "root")
    )
    # The cluster CA issues the brokers' certificates, not clients': it is no way in either.
    cluster_ca = load_authority(
        {"ca.crt": certificates.ca_certificate, "ca.key": certificates.ca_key or b""},
        now=NOW,
        source="mutual-cluster-ca",
    )
    assert isinstance(cluster_ca, Authority)
    assert not connects(
        mutual.bootstrap(MTLS_PORT), **client(files, certificates, cluster_ca, "root")
    )


def test_a_certificate_for_a_user_without_acls_is_allowed_nothing(
    mutual: LocalKafka, files: Path, certificates: Certificates, clients_ca: Authority
) -> None:
    nobody = client(files, certificates, clients_ca, "nobody")
    assert connects(mutual.bootstrap(MTLS_PORT), **nobody)
    with pytest.raises(kafka.errors.TopicAuthorizationFailedError):
        produce(mutual.bootstrap(MTLS_PORT), "mutual", [b"x"], security=nobody)


def user_files(files: Path, certificates: Certificates, user: str) -> dict[str, Any]:
    """A TLS KafkaUser's Secret as kopfka's user sync fills it (keep_user_certificate), written
    out as a pod mounts it, and kafka-python's settings that use its files."""
    kept = certificates.clients_ca
    assert kept is not None
    assert kept.key is not None
    secret = keep_user_certificate(
        SPEC,
        user,
        clients_ca_data={"ca.crt": kept.certificate, "ca.key": kept.key},
        cluster_ca_certificate=certificates.trusted,
        kept={},
        now=NOW,
    )
    directory = files / f"secret-{user}"
    directory.mkdir(exist_ok=True)
    for key, content in secret.files.items():
        (directory / key).write_bytes(content)
    return {
        "security_protocol": "SSL",
        "ssl_cafile": str(directory / "ca.crt"),
        "ssl_certfile": str(directory / "user.crt"),
        "ssl_keyfile": str(directory / "user.key"),
        "ssl_check_hostname": True,
    }


def tls_resource(name: str, acls: list[dict[str, Any]]) -> UserResource:
    spec = parse_user(
        name,
        {"cluster": "mutual", "authentication": {"type": "tls"}, "authorization": {"acls": acls}},
    )
    return UserResource(f"kafka/{name}", name, 1, spec=spec, secret_revision="uid-1")


def held(*names: str) -> dict[str, UserFacts]:
    return kafka_users(INTERNAL, *names, acls=True)


def test_a_tls_users_acls_allow_what_they_name_and_deny_the_rest(
    mutual: LocalKafka, files: Path, certificates: Certificates, tmp_path: Path
) -> None:
    for topic in ("orders-eu", "audit", "payments"):
        create_topic(INTERNAL, topic, partitions=1, replicas=1)
    plan = plan_users([tls_resource("alice", ACLS)], held("alice"))
    assert not plan.work.credentials
    ran = users_apply(INTERNAL, plan.work, tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert held("alice")["alice"].acls == ACL_BINDINGS
    assert held("alice")["alice"].credentials == ()
    again = plan_users([tls_resource("alice", ACLS)], held("alice"))
    assert not again.work.has_work
    assert again.verdicts["kafka/alice"].reason == IN_SYNC

    alice = user_files(files, certificates, "alice")
    at = mutual.bootstrap(MTLS_PORT)
    assert produce(at, "orders-eu", [b"order"], security=alice) == 1  # Write on the prefix
    with pytest.raises(kafka.errors.TopicAuthorizationFailedError):
        produce(at, "payments", [b"order"], security=alice)  # no ACL names it
    produce(INTERNAL, "audit", [b"entry"])
    assert consume_all(at, "audit", 1, security=alice) == [b"entry"]  # Read on the name
    with pytest.raises(kafka.errors.TopicAuthorizationFailedError):
        produce(at, "audit", [b"forged"], security=alice)  # Read only, not Write


def test_a_scram_credential_left_of_a_tls_users_name_is_deleted(
    mutual: LocalKafka, tmp_path: Path
) -> None:
    scram = parse_user("dave", {"cluster": "mutual", "authentication": {"type": "scram-sha-512"}})
    as_scram = UserResource("kafka/dave", "dave", 1, spec=scram, secret_revision="uid-1")
    made = users_apply(INTERNAL, plan_users([as_scram], {}).work, tmp_path / "scram")
    assert made.returncode == 0, made.stdout + made.stderr
    assert held("dave")["dave"].credentials

    plan = plan_users([tls_resource("dave", [])], held("dave"))
    assert plan.work.deletions == ("dave",)
    gone = users_apply(INTERNAL, plan.work, tmp_path / "tls")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert held("dave") == {}
