"""spec.authorization on a real node started by the broker image's entrypoint, with the
configuration kopfka renders, and KafkaUsers' ACLs set by the user Job's command (`kopfka
users-apply`) from the planner's work: the internal listeners' principal (which the operator and
its Jobs use) may do everything, an unauthenticated client of the plaintext listener nothing, a
user exactly what its ACLs name, a super user everything; and deleting the user removes its
ACLs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kafka.errors
import pytest

from kopfka.kafka.facts import UserFacts
from kopfka.model.cluster import parse_cluster
from kopfka.model.user import parse_user
from kopfka.reconcile import new_cluster_id
from kopfka.users.plan import DELETED, IN_SYNC, UserResource, plan_users
from tests.kafka.clients import consume_all, create_topic, produce
from tests.kafka.conftest import KAFKA_VERSION, SMALL_POOL
from tests.kafka.localkafka import LocalKafka, local_kafka
from tests.kafka.users import ACL_BINDINGS, ACLS, PASSWORD, kafka_users, scram, users_apply

PLAIN_PORT, SCRAM_PORT = 9092, 9095
SPEC = parse_cluster(
    "ruled",
    "kafka",
    {
        "mode": "combined",
        "controllers": {"replicas": 1, **SMALL_POOL},
        "listeners": [
            {"name": "plain", "port": PLAIN_PORT},
            {"name": "scram", "port": SCRAM_PORT, "authentication": {"type": "scram-sha-512"}},
        ],
        "authorization": {"type": "simple", "superUsers": ["root"]},
    },
)
# The operator's and its Jobs' way in: the replication listener (User:KOPFKA-INTERNAL).
INTERNAL = SPEC.operator_bootstrap


@pytest.fixture(scope="module")
def ruled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    base = tmp_path_factory.mktemp("ruled")
    with local_kafka(SPEC, new_cluster_id(), base, KAFKA_VERSION) as cluster:
        for topic in ("orders-eu", "audit", "payments"):
            create_topic(INTERNAL, topic, partitions=1, replicas=1)
        yield cluster


def resource(name: str, acls: list[dict[str, Any]], *, deleting: bool = False) -> UserResource:
    spec = parse_user(
        name,
        {
            "cluster": "ruled",
            "authentication": {"type": "scram-sha-512"},
            "authorization": {"acls": acls},
        },
    )
    return UserResource(
        f"kafka/{name}",
        name,
        1,
        spec=spec,
        secret_revision="uid-1",
        applied_revision="uid-1",
        deleting=deleting,
    )


def held(*names: str) -> dict[str, UserFacts]:
    return kafka_users(INTERNAL, *names, acls=True)


def made(name: str, acls: list[dict[str, Any]], tmp: Path) -> None:
    ran = users_apply(INTERNAL, plan_users([resource(name, acls)], held(name)).work, tmp)
    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_the_internal_listener_may_do_everything_and_an_anonymous_client_nothing(
    ruled: LocalKafka,
) -> None:
    assert INTERNAL == "ruled-nodes-0.ruled-nodes.kafka.svc:9091"
    assert produce(INTERNAL, "payments", [b"from the operator"]) == 1
    assert consume_all(INTERNAL, "payments", 1) == [b"from the operator"]
    # The plaintext client listener still answers, but User:ANONYMOUS has no ACL.
    with pytest.raises(kafka.errors.TopicAuthorizationFailedError):
        produce(ruled.bootstrap(PLAIN_PORT), "payments", [b"anonymous"])


def test_a_users_acls_allow_what_they_name_and_deny_the_rest(
    ruled: LocalKafka, tmp_path: Path
) -> None:
    made("alice", ACLS, tmp_path)
    assert held("alice")["alice"].acls == ACL_BINDINGS
    again = plan_users([resource("alice", ACLS)], held("alice"))
    assert not again.work.has_work
    assert again.verdicts["kafka/alice"].reason == IN_SYNC

    alice = scram("alice", PASSWORD)
    at = ruled.bootstrap(SCRAM_PORT)
    assert produce(at, "orders-eu", [b"order"], security=alice) == 1  # Write on the prefix
    with pytest.raises(kafka.errors.TopicAuthorizationFailedError):
        produce(at, "payments", [b"order"], security=alice)  # no ACL names it
    produce(INTERNAL, "audit", [b"entry"])
    assert consume_all(at, "audit", 1, security=alice) == [b"entry"]  # Read on the name
    with pytest.raises(kafka.errors.TopicAuthorizationFailedError):
        produce(at, "audit", [b"forged"], security=alice)  # Read only, not Write

    # A super user of the spec needs no ACL.
    made("root", [], tmp_path / "root")
    assert produce(at, "payments", [b"root"], security=scram("root", PASSWORD)) == 1


def test_an_acl_left_out_of_the_spec_is_removed(ruled: LocalKafka, tmp_path: Path) -> None:
    made("bob", ACLS, tmp_path / "first")
    made("bob", ACLS[1:], tmp_path / "second")
    assert {acl.name for acl in held("bob")["bob"].acls} == {"audit"}
    with pytest.raises(kafka.errors.TopicAuthorizationFailedError):
        produce(ruled.bootstrap(SCRAM_PORT), "orders-eu", [b"x"], security=scram("bob", PASSWORD))


def test_deleting_the_user_removes_its_acls(ruled: LocalKafka, tmp_path: Path) -> None:
    made("carol", ACLS, tmp_path / "made")
    plan = plan_users([resource("carol", ACLS, deleting=True)], held("carol"))
    assert plan.work.deletions == ("carol",)
    assert len(plan.work.acls["carol"].delete) == 4
    gone = users_apply(INTERNAL, plan.work, tmp_path / "gone")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert held("carol") == {}
    released = plan_users([resource("carol", ACLS, deleting=True)], {})
    assert released.verdicts["kafka/carol"].reason == DELETED
