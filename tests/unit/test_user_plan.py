"""The KafkaUser planner (users/plan.py) over tables of cases: when a credential is set, when
quotas and ACLs are set or removed, when a KafkaUser being deleted is released, and what a
refused KafkaUser changes (nothing); how a spec's ACLs become Kafka's bindings; and the user
Job's work file round trip."""

from __future__ import annotations

from typing import Any

import pytest

from kopfka.kafka.facts import ScramCredential, TopicError, UserFacts
from kopfka.model.user import Acl, acl_status, parse_user
from kopfka.users import plan as user_plan
from kopfka.users.plan import AclChanges, UserResource, UserWork, plan_users, quota_changes
from kopfka.users.wire import Outcome, outcome_line, read_work_file, refusals, work_file

SHA512 = ScramCredential("SCRAM-SHA-512", 4096)
SHA256 = ScramCredential("SCRAM-SHA-256", 4096)
WRITE_ORDERS = Acl("TOPIC", "orders-", "PREFIXED", "WRITE", "ALLOW", "*")
DESCRIBE_ORDERS = Acl("TOPIC", "orders-", "PREFIXED", "DESCRIBE", "ALLOW", "*")
READ_GROUP = Acl("GROUP", "billing", "LITERAL", "READ", "ALLOW", "*")
ORDERS_ACL = {
    "resource": {"type": "topic", "name": "orders-", "patternType": "prefix"},
    "operations": ["Write", "Describe"],
}


def user(
    *,
    acls: list[dict[str, Any]] | None = None,
    quotas: dict[str, Any] | None = None,
    secret_revision: str | None = "uid-1",
    applied: str | None = None,
    deleting: bool = False,
    problem: tuple[str, str] | None = None,
) -> UserResource:
    raw: dict[str, Any] = {"cluster": "events", "authentication": {"type": "scram-sha-512"}}
    if quotas is not None:
        raw["quotas"] = quotas
    if acls is not None:
        raw["authorization"] = {"acls": acls}
    return UserResource(
        "streaming/alice",
        "alice",
        3,
        spec=parse_user("alice", raw),
        secret_revision=secret_revision,
        applied_revision=applied,
        deleting=deleting,
        problem=problem,
    )


CASES: list[tuple[str, UserResource, UserFacts | None, str, UserWork]] = [
    (
        "new user: credential and quotas set",
        user(quotas={"producerByteRate": 1024}),
        None,
        user_plan.CREATING,
        UserWork(credentials={"alice": "uid-1"}, quotas={"alice": {"producer_byte_rate": 1024.0}}),
    ),
    (
        "in sync",
        user(quotas={"producerByteRate": 1024}, applied="uid-1"),
        UserFacts((SHA512,), {"producer_byte_rate": 1024.0}),
        user_plan.IN_SYNC,
        UserWork(),
    ),
    (
        "credential present but from an unknown Secret: set again from ours",
        user(applied=None),
        UserFacts((SHA512,)),
        user_plan.UPDATING,
        UserWork(credentials={"alice": "uid-1"}),
    ),
    (
        "the Secret was made again (a new password): credential set again",
        user(secret_revision="uid-2", applied="uid-1"),
        UserFacts((SHA512,)),
        user_plan.UPDATING,
        UserWork(credentials={"alice": "uid-2"}),
    ),
    (
        "only another mechanism: ours is created",
        user(applied="uid-1"),
        UserFacts((SHA256,)),
        user_plan.CREATING,
        UserWork(credentials={"alice": "uid-1"}),
    ),
    (
        "a quota changed and one left the spec",
        user(quotas={"consumerByteRate": 2048}, applied="uid-1"),
        UserFacts((SHA512,), {"consumer_byte_rate": 1.0, "request_percentage": 20.0}),
        user_plan.UPDATING,
        UserWork(quotas={"alice": {"consumer_byte_rate": 2048.0, "request_percentage": None}}),
    ),
    (
        "deleting: credential and quotas removed",
        user(deleting=True),
        UserFacts((SHA512,), {"producer_byte_rate": 5.0}),
        user_plan.DELETING,
        UserWork(deletions=("alice",), quotas={"alice": {"producer_byte_rate": None}}),
    ),
    (
        "deleting, Kafka holds only another mechanism: released",
        user(deleting=True),
        UserFacts((SHA256,)),
        user_plan.DELETED,
        UserWork(),
    ),
    (
        "deleting, Kafka holds nothing: released",
        user(deleting=True),
        None,
        user_plan.DELETED,
        UserWork(),
    ),
    (
        "new user with ACLs: each operation's binding created",
        user(acls=[ORDERS_ACL]),
        None,
        user_plan.CREATING,
        UserWork(
            credentials={"alice": "uid-1"},
            acls={"alice": AclChanges(create=frozenset({WRITE_ORDERS, DESCRIBE_ORDERS}))},
        ),
    ),
    (
        "ACLs in sync",
        user(acls=[ORDERS_ACL], applied="uid-1"),
        UserFacts((SHA512,), acls=(DESCRIBE_ORDERS, WRITE_ORDERS)),
        user_plan.IN_SYNC,
        UserWork(),
    ),
    (
        "an ACL left the spec and one came: created and deleted",
        user(acls=[ORDERS_ACL], applied="uid-1"),
        UserFacts((SHA512,), acls=(READ_GROUP, WRITE_ORDERS)),
        user_plan.UPDATING,
        UserWork(
            acls={
                "alice": AclChanges(
                    create=frozenset({DESCRIBE_ORDERS}), delete=frozenset({READ_GROUP})
                )
            }
        ),
    ),
    (
        "ACLs of the principal set by hand: deleted, the KafkaUser owns them",
        user(applied="uid-1"),
        UserFacts((SHA512,), acls=(READ_GROUP,)),
        user_plan.UPDATING,
        UserWork(acls={"alice": AclChanges(delete=frozenset({READ_GROUP}))}),
    ),
    (
        "deleting: ACLs removed with the credential",
        user(deleting=True, acls=[ORDERS_ACL]),
        UserFacts((SHA512,), acls=(WRITE_ORDERS,)),
        user_plan.DELETING,
        UserWork(
            deletions=("alice",), acls={"alice": AclChanges(delete=frozenset({WRITE_ORDERS}))}
        ),
    ),
    (
        "deleting, Kafka holds only ACLs: not released until they are gone",
        user(deleting=True),
        UserFacts(acls=(READ_GROUP,)),
        user_plan.DELETING,
        UserWork(acls={"alice": AclChanges(delete=frozenset({READ_GROUP}))}),
    ),
    (
        "refused (ACLs on a cluster without an authorizer): nothing changes",
        user(acls=[ORDERS_ACL], problem=("NoAuthorizer", "no authorizer")),
        None,
        "NoAuthorizer",
        UserWork(),
    ),
    (
        "refused (no SCRAM listener): nothing changes",
        user(problem=("NoScramListener", "no listener")),
        None,
        "NoScramListener",
        UserWork(),
    ),
    (
        "refused but being deleted: its credential still goes",
        user(problem=("NoScramListener", "no listener"), deleting=True),
        UserFacts((SHA512,)),
        user_plan.DELETING,
        UserWork(deletions=("alice",)),
    ),
]


@pytest.mark.parametrize(
    ("resource", "held", "reason", "work"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_plan(resource: UserResource, held: UserFacts | None, reason: str, work: UserWork) -> None:
    plan = plan_users([resource], {} if held is None else {"alice": held})
    verdict = plan.verdicts["streaming/alice"]
    assert verdict.reason == reason
    assert plan.work == work
    assert verdict.ready is (reason == user_plan.IN_SYNC)
    assert verdict.released is (reason == user_plan.DELETED)
    assert verdict.generation == 3


@pytest.mark.parametrize(
    ("desired", "held", "changes"),
    [
        ({}, {}, {}),
        ({"a": 1.0}, {"a": 1.0}, {}),
        ({"a": 2.0}, {"a": 1.0}, {"a": 2.0}),
        ({}, {"a": 1.0}, {"a": None}),
        ({"b": 1.0}, {"a": 1.0}, {"a": None, "b": 1.0}),
    ],
)
def test_quota_changes(
    desired: dict[str, float], held: dict[str, float], changes: dict[str, float | None]
) -> None:
    assert quota_changes(desired, held) == changes


@pytest.mark.parametrize(
    ("acl", "bindings"),
    [
        (ORDERS_ACL, {WRITE_ORDERS, DESCRIBE_ORDERS}),
        (
            {"resource": {"type": "cluster"}, "operations": ["IdempotentWrite"]},
            {Acl("CLUSTER", "kafka-cluster", "LITERAL", "IDEMPOTENT_WRITE", "ALLOW", "*")},
        ),
        (
            {
                "resource": {"type": "transactionalId", "name": "tx"},
                "operations": ["Write"],
                "type": "deny",
                "host": "10.0.0.7",
            },
            {Acl("TRANSACTIONAL_ID", "tx", "LITERAL", "WRITE", "DENY", "10.0.0.7")},
        ),
    ],
    ids=["prefixed-topic", "cluster", "denied-transactional-id-from-one-host"],
)
def test_a_specs_acl_becomes_one_kafka_binding_per_operation(
    acl: dict[str, Any], bindings: set[Acl]
) -> None:
    raw = {"cluster": "events", "authentication": {"type": "scram-sha-512"}}
    spec = parse_user("alice", {**raw, "authorization": {"acls": [acl]}})
    assert spec.acls == bindings


def test_status_names_a_binding_in_the_specs_words() -> None:
    assert acl_status(WRITE_ORDERS) == {
        "resource": {"type": "topic", "name": "orders-", "patternType": "prefix"},
        "operation": "Write",
        "type": "allow",
        "host": "*",
    }
    cluster = Acl("CLUSTER", "kafka-cluster", "LITERAL", "CREATE_TOKENS", "ALLOW", "*")
    assert acl_status(cluster) == {
        "resource": {"type": "cluster", "patternType": "literal"},
        "operation": "CREATE_TOKENS",  # an operation the spec cannot name: Kafka's word
        "type": "allow",
        "host": "*",
    }


def test_the_work_file_round_trips_and_holds_no_password() -> None:
    work = UserWork(
        credentials={"alice": "uid-1"},
        deletions=("bob",),
        quotas={"alice": {"producer_byte_rate": 1024.0, "request_percentage": None}},
        acls={
            "alice": AclChanges(create=frozenset({WRITE_ORDERS}), delete=frozenset({READ_GROUP}))
        },
    )
    assert read_work_file(work_file(work)) == work
    with pytest.raises(ValueError, match="format version"):
        read_work_file(b'{"version": 9}')


def test_refusals_are_read_from_the_outcome_lines() -> None:
    log = "\n".join(
        [
            "a warning of the Kafka client",
            outcome_line(Outcome("alice", "credential", None)),
            outcome_line(Outcome("bob", "quotas", TopicError("INVALID_REQUEST", "no"))),
        ]
    )
    assert refusals(log) == {"bob": "Kafka refused the quotas of user bob: INVALID_REQUEST: no"}
