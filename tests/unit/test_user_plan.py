"""The KafkaUser planner (users/plan.py) over tables of cases: when a credential is set, when
quotas are set or removed, when a KafkaUser being deleted is released, and what a refused
KafkaUser changes (nothing); and the user Job's work file round trip."""

from __future__ import annotations

from typing import Any

import pytest

from kopfka.kafka.facts import ScramCredential, TopicError, UserFacts
from kopfka.model.user import parse_user
from kopfka.users import plan as user_plan
from kopfka.users.plan import UserResource, UserWork, plan_users, quota_changes
from kopfka.users.wire import Outcome, outcome_line, read_work_file, refusals, work_file

SHA512 = ScramCredential("SCRAM-SHA-512", 4096)
SHA256 = ScramCredential("SCRAM-SHA-256", 4096)


def user(
    *,
    quotas: dict[str, Any] | None = None,
    secret_uid: str | None = "uid-1",
    applied: str | None = None,
    deleting: bool = False,
    problem: tuple[str, str] | None = None,
) -> UserResource:
    raw: dict[str, Any] = {"cluster": "events", "authentication": {"type": "scram-sha-512"}}
    if quotas is not None:
        raw["quotas"] = quotas
    return UserResource(
        "streaming/alice",
        "alice",
        3,
        spec=parse_user("alice", raw),
        secret_uid=secret_uid,
        applied_uid=applied,
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
        user(secret_uid="uid-2", applied="uid-1"),
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


def test_the_work_file_round_trips_and_holds_no_password() -> None:
    work = UserWork(
        credentials={"alice": "uid-1"},
        deletions=("bob",),
        quotas={"alice": {"producer_byte_rate": 1024.0, "request_percentage": None}},
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
