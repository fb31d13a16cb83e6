"""Holds on KafkaTopics whose change Kafka refused: Kafka's words reach the status, the change
stays out of the next Job until its backoff ends or the spec changes, other KafkaTopics go on, and
an operator restart does not forget a refusal its status records."""

from __future__ import annotations

import datetime

from kopfka.kafka.facts import Partition, TopicError, TopicFacts
from kopfka.model.cluster import parse_cluster
from kopfka.model.topic import parse_topic
from kopfka.topics.holds import KAFKA_ERROR, Backoff, Held, apply_holds, held_from_status, refusals
from kopfka.topics.plan import CREATING, State, TopicPlan, TopicResource, plan_topics
from kopfka.topics.wire import BatchLog, Outcome

CLUSTER = parse_cluster("events", "streaming", {"brokers": {"replicas": 3}})
BACKOFF = Backoff(first=60.0, most=3600.0)
WALL = datetime.datetime(2026, 11, 26, 12, 0, 0, tzinfo=datetime.UTC)
INVALID = TopicError("INVALID_CONFIG", "Invalid value soon for configuration retention.ms")


def resource(name: str, *, generation: int = 1) -> TopicResource:
    return TopicResource(
        "streaming",
        name,
        uid=f"uid-{name}",
        created="2025-03-01T10:00:00Z",
        generation=generation,
        spec=parse_topic(name, {"cluster": "events", "partitions": 3}),
    )


def two_creates(*, generation: int = 1) -> TopicPlan:
    return plan_topics(
        [resource("bad", generation=generation), resource("good")],
        actual={},
        configs={},
        cluster=CLUSTER,
    )


def test_backoff_doubles_from_the_first_wait_up_to_the_most() -> None:
    assert [BACKOFF.after(n) for n in (1, 2, 3, 7, 8, 20)] == [60, 120, 240, 3600, 3600, 3600]


def test_refusals_keep_kafkas_words_and_ignore_what_a_retried_pod_did() -> None:
    first_pod = BatchLog(
        (Outcome("good", "create"), Outcome("bad", "create", INVALID)), summary=None
    )
    # The Job's second pod redoes the work: `good` exists now, `bad` is refused again.
    second_pod = BatchLog(
        (
            Outcome("good", "create", TopicError("TOPIC_ALREADY_EXISTS", "exists")),
            Outcome("bad", "create", INVALID),
            Outcome("later", "config", TopicError("POLICY_VIOLATION", "no")),
            Outcome("later", "config"),
        ),
        summary=None,
    )
    assert refusals([first_pod, second_pod]) == {
        "bad": "Kafka refused to create topic 'bad': INVALID_CONFIG: Invalid value soon for "
        "configuration retention.ms"
    }


def test_a_refused_topic_is_held_with_kafkas_message_and_the_others_go_on() -> None:
    decided = apply_holds(
        two_creates(),
        held={},
        refused={"bad": "Kafka refused to create topic 'bad': INVALID_CONFIG: nope"},
        clock=1000.0,
        wall=WALL,
        backoff=BACKOFF,
    )
    bad, good = decided.verdicts["streaming/bad"], decided.verdicts["streaming/good"]
    assert (bad.state, bad.reason) == (State.REFUSED, KAFKA_ERROR)
    assert bad.message == (
        "Kafka refused to create topic 'bad': INVALID_CONFIG: nope. kopfka tries again at "
        "2026-11-26T12:01:00Z, or when the spec changes"
    )
    assert (good.state, good.reason) == (State.PENDING, CREATING)
    assert [create.name for create in decided.work.creates] == ["good"]
    assert decided.held["streaming/bad"].retry_at == 1060.0
    assert decided.next_retry(1000.0) == 60.0


def test_a_hold_lasts_until_its_backoff_ends_then_the_change_is_tried_again() -> None:
    held = {
        "streaming/bad": Held(
            1, "Kafka refused", attempts=2, retry_at=1120.0, retry_time="2026-11-26T12:00:20Z"
        )
    }
    waiting = apply_holds(
        two_creates(), held=held, refused={}, clock=1100.0, wall=WALL, backoff=BACKOFF
    )
    assert waiting.verdicts["streaming/bad"].reason == KAFKA_ERROR
    # The same words on every sync while the hold lasts: the status is not written again.
    assert waiting.verdicts["streaming/bad"].message == (
        "Kafka refused. kopfka tries again at 2026-11-26T12:00:20Z, or when the spec changes"
    )
    assert [create.name for create in waiting.work.creates] == ["good"]

    retried = apply_holds(
        two_creates(), held=held, refused={}, clock=1120.0, wall=WALL, backoff=BACKOFF
    )
    assert retried.verdicts["streaming/bad"].reason == CREATING
    assert [create.name for create in retried.work.creates] == ["bad", "good"]
    assert retried.next_retry(1120.0) is None  # the Job's end brings the next sync
    # Refused once more: the backoff counts on (third refusal: 4 minutes).
    again = apply_holds(
        two_creates(),
        held=retried.held,
        refused={"bad": "no"},
        clock=1200.0,
        wall=WALL,
        backoff=BACKOFF,
    )
    assert again.held["streaming/bad"].attempts == 3
    assert again.held["streaming/bad"].retry_at == 1200.0 + 240.0


def test_a_changed_spec_ends_the_hold_at_once() -> None:
    held = {
        "streaming/bad": Held(
            1, "Kafka refused", attempts=1, retry_at=5000.0, retry_time="2026-11-26T13:06:40Z"
        )
    }
    decided = apply_holds(
        two_creates(generation=2), held=held, refused={}, clock=1000.0, wall=WALL, backoff=BACKOFF
    )
    assert decided.verdicts["streaming/bad"].reason == CREATING
    assert "streaming/bad" not in decided.held


def test_a_topic_in_sync_is_held_no_more() -> None:
    """Someone fixed it in Kafka (or a broker came back): Ready, and nothing is held."""
    held = {
        "streaming/bad": Held(
            1, "Kafka refused", attempts=1, retry_at=5000.0, retry_time="2026-11-26T13:06:40Z"
        )
    }
    replicas = (0, 1, 2)
    exists = TopicFacts(
        "bad", "id-bad", tuple(Partition(i, 0, replicas, replicas) for i in range(3))
    )
    in_sync = plan_topics([resource("bad")], actual={"bad": exists}, configs={}, cluster=CLUSTER)
    decided = apply_holds(in_sync, held=held, refused={}, clock=1000.0, wall=WALL, backoff=BACKOFF)
    assert decided.verdicts["streaming/bad"].state is State.READY
    assert decided.held == {}


def test_a_status_that_records_a_refusal_holds_after_a_restart() -> None:
    status = {
        "observedGeneration": 4,
        "conditions": [
            {
                "type": "Ready",
                "status": "False",
                "reason": KAFKA_ERROR,
                "message": "m. kopfka tries again at 2026-11-26T11:00:00Z, or when the spec "
                "changes",
            }
        ],
    }
    held = held_from_status(status, 4, clock=10.0, wall=WALL, backoff=BACKOFF)
    # The countdown of the message before the restart is not taken for Kafka's words.
    assert held == Held(4, "m", attempts=1, retry_at=70.0, retry_time="2026-11-26T12:01:00Z")
    assert held_from_status(status, 5, clock=10.0, wall=WALL, backoff=BACKOFF) is None
    creating = {**status, "conditions": [{"type": "Ready", "reason": CREATING}]}
    assert held_from_status(creating, 4, clock=10.0, wall=WALL, backoff=BACKOFF) is None
