"""The topic Job's wire formats and its batch, without Kafka: the work survives the trip through
its JSON (and the gzip the ConfigMap carries) unchanged, outcome and summary lines have the
documented shape and are read back from a log full of other lines; the batch runs its steps in
the documented order, goes on after topics Kafka refuses, and cuts requests within Kafka's
limits."""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kopfka.kafka.admin import KafkaUnavailable, TopicToCreate, split_requests
from kopfka.kafka.facts import Partition, TopicError, TopicFacts
from kopfka.model.cluster import parse_cluster
from kopfka.model.topic import parse_topic
from kopfka.topics.batch import run_batch
from kopfka.topics.plan import ConfigChange, TopicCreate, TopicResource, plan_topics
from kopfka.topics.wire import (
    BatchLog,
    Outcome,
    Summary,
    TopicWork,
    outcome_line,
    read_batch_log,
    read_work_file,
    summary_line,
    work_file,
    work_from_json,
    work_to_json,
)

INVALID = TopicError(
    "INVALID_CONFIG", "Invalid value soon for configuration retention.ms: Not a number of type LONG"
)


def work(
    *,
    creates: tuple[TopicCreate, ...] = (),
    partition_increases: Mapping[str, int] | None = None,
    config_changes: Mapping[str, ConfigChange] | None = None,
    deletions: tuple[str, ...] = (),
) -> TopicWork:
    return TopicWork(creates, partition_increases or {}, config_changes or {}, deletions)


EVERY_KIND = work(
    creates=(
        TopicCreate("clicks", None, 2, {}),
        TopicCreate("orders", 12, 3, {"retention.ms": "604800000", "cleanup.policy": "delete"}),
    ),
    partition_increases={"payments": 24},
    config_changes={
        "payments": ConfigChange({"cleanup.policy": "compact"}, ("segment.ms",)),
        "audit": ConfigChange({}, ("retention.ms", "segment.bytes")),
    },
    deletions=("old-orders",),
)


def test_work_json_is_the_documented_document() -> None:
    assert json.loads(work_to_json(EVERY_KIND)) == {
        "version": 1,
        "deletions": ["old-orders"],
        "creates": [
            {"name": "clicks", "partitions": None, "replicationFactor": 2, "config": {}},
            {
                "name": "orders",
                "partitions": 12,
                "replicationFactor": 3,
                "config": {"cleanup.policy": "delete", "retention.ms": "604800000"},
            },
        ],
        "partitionIncreases": {"payments": 24},
        "configChanges": {
            "audit": {"set": {}, "delete": ["retention.ms", "segment.bytes"]},
            "payments": {"set": {"cleanup.policy": "compact"}, "delete": ["segment.ms"]},
        },
    }


def test_work_json_has_no_whitespace_between_tokens() -> None:
    text = work_to_json(EVERY_KIND)
    assert text == json.dumps(json.loads(text), separators=(",", ":"))


def test_work_round_trips_through_json() -> None:
    assert work_from_json(work_to_json(EVERY_KIND)) == EVERY_KIND


def test_a_plan_round_trips_as_its_work() -> None:
    cluster = parse_cluster("events", "streaming", {"brokers": {"replicas": 3}})
    resources = [
        TopicResource(
            "streaming",
            name,
            uid=f"uid-{name}",
            created="2025-03-01T10:00:00Z",
            generation=1,
            spec=parse_topic(name, {"cluster": "events", **spec}),
        )
        for name, spec in {
            "orders": {"partitions": 6, "config": {"retention.ms": 1000}},
            "clicks": {},
            "payments": {"partitions": 4, "config": {"cleanup.policy": "compact"}},
        }.items()
    ]
    payments = TopicFacts(
        "payments", "id", tuple(Partition(i, 0, (0, 1, 2), (0, 1, 2)) for i in range(2))
    )
    plan = plan_topics(
        resources,
        actual={"payments": payments},
        configs={"payments": {"segment.ms": "1000"}},
        cluster=cluster,
    )
    assert plan.has_work
    assert work_from_json(work_to_json(plan)) == TopicWork.of(plan)


_NAMES = st.text("abcxyz._-09", min_size=1, max_size=12)
_VALUES = st.text(max_size=8)  # any text: Kafka's config values are strings, escapes included
_WORK = st.builds(
    TopicWork,
    creates=st.lists(
        st.builds(
            TopicCreate,
            name=_NAMES,
            partitions=st.none() | st.integers(1, 10_000),
            replication_factor=st.integers(1, 5),
            config=st.dictionaries(_NAMES, _VALUES, max_size=3),
        ),
        max_size=4,
        unique_by=lambda create: create.name,
    ).map(lambda creates: tuple(sorted(creates, key=lambda create: create.name))),
    partition_increases=st.dictionaries(_NAMES, st.integers(1, 10_000), max_size=3),
    config_changes=st.dictionaries(
        _NAMES,
        st.builds(
            ConfigChange,
            to_set=st.dictionaries(_NAMES, _VALUES, max_size=3),
            to_delete=st.lists(_NAMES, max_size=3, unique=True).map(lambda k: tuple(sorted(k))),
        ),
        max_size=3,
    ),
    deletions=st.lists(_NAMES, max_size=3, unique=True).map(lambda names: tuple(sorted(names))),
)


@given(_WORK)
def test_any_work_round_trips_through_the_work_file(original: TopicWork) -> None:
    assert read_work_file(work_file(original)) == original


def test_work_file_is_gzip_and_the_same_bytes_for_the_same_work() -> None:
    data = work_file(EVERY_KIND)
    assert gzip.decompress(data).decode() == work_to_json(EVERY_KIND)
    assert work_file(EVERY_KIND) == data


def test_work_file_reader_takes_plain_json_too() -> None:
    assert read_work_file(work_to_json(EVERY_KIND).encode()) == read_work_file(
        work_file(EVERY_KIND)
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"version": 2}', "format version 2; this kopfka reads 1"),
        ("[]", "not a JSON object"),
        ("not json", "not a JSON object"),
        ('{"version": 1}', "malformed"),
        (
            work_to_json(EVERY_KIND).replace('"replicationFactor":3', '"replicationFactor":"3"'),
            "malformed",
        ),
        (work_to_json(EVERY_KIND).replace('"partitions":12', '"partitions":0'), "malformed"),
        (work_to_json(EVERY_KIND).replace('"payments":24', '"payments":true'), "malformed"),
        (work_to_json(EVERY_KIND).replace('"604800000"', "604800000"), "malformed"),
    ],
    ids=[
        "another version",
        "not an object",
        "not json",
        "keys missing",
        "factor not a number",
        "zero partitions",
        "boolean count",
        "config value not a string",
    ],
)
def test_work_this_kopfka_cannot_carry_out_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        work_from_json(text)


def test_outcome_lines_are_the_documented_objects() -> None:
    assert json.loads(outcome_line(Outcome("orders", "create"))) == {
        "topic": "orders",
        "action": "create",
        "ok": True,
    }
    assert json.loads(outcome_line(Outcome("bad", "create", INVALID))) == {
        "topic": "bad",
        "action": "create",
        "ok": False,
        "error": "INVALID_CONFIG",
        "message": INVALID.message,
    }


def test_outcome_line_is_one_line_whatever_kafka_says() -> None:
    line = outcome_line(Outcome("bad", "config", TopicError("INVALID_CONFIG", "two\nlines")))
    assert "\n" not in line


def test_summary_line_counts_outcomes_and_failures() -> None:
    outcomes = [Outcome("a", "create"), Outcome("b", "create", INVALID), Outcome("a", "config")]
    assert json.loads(summary_line(outcomes, seconds=1.23456)) == {
        "summary": {"version": 1, "outcomes": 3, "failed": 1, "seconds": 1.235}
    }


def test_batch_log_is_read_back_between_other_lines() -> None:
    outcomes = [Outcome("a", "delete"), Outcome("b", "create", INVALID), Outcome("c", "config")]
    log = "\n".join(
        [
            "WARNING:kafka.client:Node 1 connection failed",
            outcome_line(outcomes[0]),
            "{not json",
            '{"unrelated": "object"}',
            '{"topic": "x", "action": "rename", "ok": true}',
            outcome_line(outcomes[1]),
            "   " + outcome_line(outcomes[2]),
            summary_line(outcomes, seconds=0.5),
            "",
        ]
    )
    assert read_batch_log(log) == BatchLog(tuple(outcomes), Summary(3, 1, 0.5))
    assert read_batch_log(log).complete


@pytest.mark.parametrize(
    "lines",
    [
        [outcome_line(Outcome("a", "create"))],
        [summary_line([Outcome("a", "create"), Outcome("b", "create")], seconds=1)],
        [outcome_line(Outcome("a", "create")), '{"summary": {"outcomes": "many"}}'],
    ],
    ids=["no summary (the Job stopped)", "outcome lines lost", "summary unreadable"],
)
def test_batch_log_without_its_summary_or_its_outcomes_is_incomplete(lines: list[str]) -> None:
    assert not read_batch_log("\n".join(lines)).complete


class FakeAdmin:
    """Records the calls of the batch; `refuse` names topics Kafka refuses, with INVALID."""

    def __init__(self, *, refuse: frozenset[str] = frozenset(), down_at: str | None = None):
        self.calls: list[tuple[str, object]] = []
        self.refuse = refuse
        self.down_at = down_at

    def _answer(self, call: str, names: Sequence[str], argument: object) -> dict[str, object]:
        if call == self.down_at:
            raise KafkaUnavailable("no connection")
        self.calls.append((call, argument))
        return {name: INVALID if name in self.refuse else None for name in names}

    def delete_topics(self, names: Sequence[str]) -> dict[str, object]:
        return self._answer("delete_topics", names, tuple(names))

    def create_topics(self, topics: Sequence[TopicToCreate]) -> dict[str, object]:
        return self._answer("create_topics", [t.name for t in topics], tuple(topics))

    def create_partitions(self, counts: Mapping[str, int]) -> dict[str, object]:
        return self._answer("create_partitions", list(counts), dict(counts))

    def alter_topic_configs(
        self, changes: Mapping[str, Mapping[str, str | None]]
    ) -> dict[str, object]:
        return self._answer("alter_topic_configs", list(changes), dict(changes))


def test_batch_deletes_then_creates_then_raises_partitions_then_changes_configs() -> None:
    admin = FakeAdmin()
    outcomes = run_batch(admin, EVERY_KIND)  # type: ignore[arg-type]
    assert admin.calls == [
        ("delete_topics", ("old-orders",)),
        ("create_topics", EVERY_KIND.creates),
        ("create_partitions", {"payments": 24}),
        (
            "alter_topic_configs",
            {
                "payments": {"cleanup.policy": "compact", "segment.ms": None},
                "audit": {"retention.ms": None, "segment.bytes": None},
            },
        ),
    ]
    assert [(o.topic, o.action) for o in outcomes] == [
        ("old-orders", "delete"),
        ("clicks", "create"),
        ("orders", "create"),
        ("payments", "partitions"),
        ("audit", "config"),
        ("payments", "config"),
    ]
    assert all(outcome.ok for outcome in outcomes)


def test_batch_goes_on_after_topics_kafka_refuses() -> None:
    admin = FakeAdmin(refuse=frozenset({"orders", "payments"}))
    outcomes = {(o.topic, o.action): o for o in run_batch(admin, EVERY_KIND)}  # type: ignore[arg-type]
    assert len(admin.calls) == 4
    assert outcomes["orders", "create"].error == INVALID
    assert outcomes["payments", "partitions"].error == INVALID
    assert outcomes["clicks", "create"].ok
    assert outcomes["audit", "config"].ok


def test_batch_skips_steps_without_work() -> None:
    admin = FakeAdmin()
    run_batch(admin, work(partition_increases={"payments": 24}))  # type: ignore[arg-type]
    assert [call for call, _ in admin.calls] == ["create_partitions"]


def test_batch_reports_each_step_before_kafka_goes_away() -> None:
    admin = FakeAdmin(down_at="create_partitions")
    reported: list[Outcome] = []
    with pytest.raises(KafkaUnavailable):
        run_batch(admin, EVERY_KIND, report=reported.append)  # type: ignore[arg-type]
    assert [(o.topic, o.action) for o in reported] == [
        ("old-orders", "delete"),
        ("clicks", "create"),
        ("orders", "create"),
    ]


@pytest.mark.parametrize(
    ("weights", "max_items", "max_weight", "requests"),
    [
        ([], 3, 10, []),
        ([1, 1, 1, 1, 1, 1, 1], 3, 100, [[1, 1, 1], [1, 1, 1], [1]]),
        ([4, 4, 4, 1], 10, 10, [[4, 4], [4, 1]]),
        ([10, 10], 10, 10, [[10], [10]]),
        ([3, 25, 3], 10, 10, [[3], [25], [3]]),
        ([0, 0, 0], 2, 0, [[0, 0], [0]]),
    ],
    ids=[
        "nothing",
        "by count",
        "by weight",
        "exactly the limit",
        "heavier than the limit goes alone",
        "weightless",
    ],
)
def test_requests_stay_within_both_limits_and_keep_the_order(
    weights: list[int], max_items: int, max_weight: int, requests: list[list[int]]
) -> None:
    cut = list(
        split_requests(weights, weight=lambda w: w, max_items=max_items, max_weight=max_weight)
    )
    assert cut == requests


def test_ten_thousand_topics_take_twenty_requests() -> None:
    assert len(list(split_requests(range(10_000)))) == 20


def test_fifty_partition_topics_stay_under_kafkas_partitions_per_request() -> None:
    requests = list(split_requests([50] * 1000, weight=lambda count: count))
    assert max(sum(request) for request in requests) <= 10_000
    assert sum(len(request) for request in requests) == 1000
