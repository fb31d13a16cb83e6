"""The rebalance Job's wire formats and its waves, without Kafka: the work survives the trip
through its JSON (and the gzip the ConfigMap carries) unchanged and byte for byte the same, bad
files are refused with a reason, the log is read back from lines of every kind; and the run keeps
at most a wave of partitions moving, takes up what Kafka already does, and cleans up the throttle
only when nothing of the work moves any more (a fake Kafka that finishes a move after a few
looks)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping, Sequence

import pytest

from kopfka.kafka.facts import (
    Broker,
    ClusterFacts,
    Partition,
    Reassigning,
    TopicError,
    TopicFacts,
)
from kopfka.rebalance.execute import Result, run_rebalance
from kopfka.rebalance.plan import Reassignment
from kopfka.rebalance.wire import (
    RebalanceWork,
    Target,
    event_line,
    read_rebalance_log,
    read_work_file,
    refused_line,
    summary_line,
    work_file,
)

WORK = RebalanceWork(
    moves=(
        Target("orders", 0, (4, 1, 2)),
        Target("orders", 1, (2, 4, 3)),
        Target("payments", 7, (1,)),
    ),
    wave_size=2,
    throttle_bytes_per_second=10_485_760,
)


def test_work_round_trips_through_the_file() -> None:
    assert read_work_file(work_file(WORK)) == WORK
    unthrottled = RebalanceWork(WORK.moves)
    assert read_work_file(work_file(unthrottled)) == unthrottled


def test_same_work_same_bytes_whatever_the_order_of_its_moves() -> None:
    shuffled = RebalanceWork(tuple(reversed(WORK.moves)), 2, 10_485_760)
    assert work_file(shuffled) == work_file(WORK)
    assert gzip.decompress(work_file(WORK)).startswith(b'{"moves":[{"partition":0,')


def test_work_of_a_plan_takes_its_targets() -> None:
    work = RebalanceWork.of(
        [
            Reassignment("b", 0, current=(1, 2), target=(3, 2)),
            Reassignment("a", 1, current=(1,), target=(2,)),
        ],
        wave_size=5,
        throttle=1000,
    )
    assert work == RebalanceWork((Target("a", 1, (2,)), Target("b", 0, (3, 2))), 5, 1000)


def test_plain_json_is_read_too() -> None:
    assert read_work_file(gzip.decompress(work_file(WORK))) == WORK


def _document(**changes: object) -> bytes:
    document = json.loads(gzip.decompress(work_file(WORK)))
    document.update(changes)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_document(version=2), "format version 2"),
        (b"[1, 2]", "not a JSON object"),
        (b"\x1f\x8bnot gzip", "cannot be read"),
        (b"{", "not a JSON object"),
        (_document(moves=[{"topic": "a", "partition": 0}]), "malformed"),
        (_document(moves=[{"topic": "a", "partition": -1, "replicas": [1]}]), "malformed"),
        (_document(moves=[{"topic": "a", "partition": 0, "replicas": [1, 1]}]), "distinct"),
        (_document(moves=[{"topic": "a", "partition": 0, "replicas": []}]), "distinct"),
        (
            _document(moves=[{"topic": "a", "partition": 0, "replicas": [1]}] * 2),
            "a-0 appears twice",
        ),
        (_document(waveSize=0), "malformed"),
        (_document(throttleBytesPerSecond="fast"), "malformed"),
        (_document(throttleBytesPerSecond=True), "malformed"),
    ],
    ids=[
        "newer version",
        "not an object",
        "broken gzip",
        "broken JSON",
        "no replicas",
        "negative partition",
        "a broker twice",
        "no broker",
        "a partition twice",
        "no wave",
        "throttle not a number",
        "throttle a boolean",
    ],
)
def test_bad_work_is_refused_with_its_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        read_work_file(data)


def test_log_is_read_back_from_its_last_progress_and_its_summary() -> None:
    refusal = TopicError("INVALID_REPLICA_ASSIGNMENT", "no such broker 99")
    lines = [
        "WARNING kafka.conn: something",
        event_line("start", moves=4, skipped=1, total=3, done=0, inFlight=0),
        event_line("submitted", partitions=["a-0", "a-1"], inFlight=2),
        refused_line(Target("a", 2, (99,)), refusal),
        event_line("progress", done=1, total=3, inFlight=1),
        "{not json",
        event_line("progress", done="many", total=3, inFlight=1),
    ]
    running = read_rebalance_log("\n".join(lines))
    assert (running.done, running.total, running.complete) == (1, 3, False)
    assert running.refused == ((Target("a", 2, (99,)), refusal),)
    lines.append(summary_line(moves=4, done=2, refused=1, skipped=1, seconds=1.5))
    finished = read_rebalance_log("\n".join(lines))
    assert (finished.done, finished.total, finished.complete) == (2, 3, True)


class FakeKafka:
    """Partitions with replicas; a submitted move ends after `looks` looks at the reassignments."""

    def __init__(self, replicas: Mapping[tuple[str, int], tuple[int, ...]], *, looks: int = 2):
        self.replicas = dict(replicas)
        self.moving: dict[tuple[str, int], tuple[tuple[int, ...], int]] = {}
        self.looks = looks
        self.submitted: list[list[tuple[str, int]]] = []
        self.most_moving = 0
        self.calls: list[str] = []
        self.brokers = frozenset({1, 2, 3, 4})

    def topics(self, names: Iterable[str] | None = None) -> dict[str, TopicFacts]:
        self.calls.append("topics")
        found: dict[str, list[Partition]] = {}
        for (topic, index), replicas in sorted(self.replicas.items()):
            found.setdefault(topic, []).append(Partition(index, replicas[0], replicas, replicas))
        return {
            name: TopicFacts(name, "id", tuple(partitions))
            for name, partitions in found.items()
            if names is None or name in set(names)
        }

    def cluster(self) -> ClusterFacts:
        return ClusterFacts("c", 1, tuple(Broker(b, "h", 9092, None) for b in self.brokers))

    def reassignments(self) -> dict[tuple[str, int], Reassigning]:
        self.calls.append("reassignments")
        for key, (target, left) in list(self.moving.items()):
            if left <= 1:
                self.replicas[key] = target
                del self.moving[key]
            else:
                self.moving[key] = (target, left - 1)
        return {
            key: Reassigning(
                (*target, *removing), tuple(set(target) - set(self.replicas[key])), removing
            )
            for key, (target, _) in self.moving.items()
            for removing in [tuple(r for r in self.replicas[key] if r not in target)]
        }

    def reassign(
        self, targets: Mapping[tuple[str, int], Sequence[int]]
    ) -> dict[tuple[str, int], TopicError | None]:
        self.calls.append("reassign")
        self.submitted.append(sorted(targets))
        answers: dict[tuple[str, int], TopicError | None] = {}
        for key, target in targets.items():
            if not set(target) <= self.brokers:
                answers[key] = TopicError("INVALID_REPLICA_ASSIGNMENT", "no such broker")
            else:
                self.moving[key] = (tuple(target), self.looks)
                answers[key] = None
        self.most_moving = max(self.most_moving, len(self.moving))
        return answers

    def alter_broker_configs(
        self, changes: Mapping[int, Mapping[str, str | None]]
    ) -> dict[int, TopicError | None]:
        setting = next(iter(next(iter(changes.values())).values()), None) if changes else None
        self.calls.append("throttle" if setting is not None else "unthrottle")
        if setting is None:
            assert not self.moving, "throttle removed while a move is in flight"
        return dict.fromkeys(changes)

    def alter_topic_configs(
        self, changes: Mapping[str, Mapping[str, str | None]]
    ) -> dict[str, TopicError | None]:
        return dict.fromkeys(changes)

    def elect_preferred_leaders(
        self, partitions: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], TopicError | None]:
        self.calls.append("elect")
        return dict.fromkeys(partitions)


def _run(kafka: FakeKafka, work: RebalanceWork) -> tuple[Result, list[str]]:
    lines: list[str] = []
    result = run_rebalance(
        kafka,  # type: ignore[arg-type]
        work,
        report=lines.append,
        sleep=lambda _: None,
        clock=lambda: 0.0,
    )
    return result, lines


def test_waves_keep_at_most_wave_size_partitions_moving() -> None:
    moves = tuple(Target("t", index, (2,)) for index in range(5))
    kafka = FakeKafka({move.key: (1,) for move in moves})
    _result, lines = _run(kafka, RebalanceWork(moves, wave_size=2, throttle_bytes_per_second=100))
    assert kafka.most_moving == 2
    assert kafka.submitted[0] == [("t", 0), ("t", 1)]
    assert sorted(key for wave in kafka.submitted for key in wave) == [m.key for m in moves]
    assert all(kafka.replicas[move.key] == (2,) for move in moves)
    assert kafka.calls.index("throttle") < kafka.calls.index("reassign")
    assert kafka.calls.index("unthrottle") < kafka.calls.index("elect")
    log = read_rebalance_log("\n".join(lines))
    assert (log.done, log.total, log.complete) == (5, 5, True)


def test_a_resumed_run_takes_up_what_kafka_does_and_skips_what_is_gone() -> None:
    moves = (
        Target("t", 0, (2,)),  # done already
        Target("t", 1, (3,)),  # in flight, toward its target
        Target("t", 2, (4,)),  # in flight toward another target: replaced
        Target("gone", 0, (2,)),  # its topic was deleted
    )
    kafka = FakeKafka({("t", 0): (2,), ("t", 1): (1,), ("t", 2): (1,)})
    kafka.moving = {("t", 1): ((3,), 2), ("t", 2): ((3,), 2)}
    _result, lines = _run(kafka, RebalanceWork(moves, wave_size=5, throttle_bytes_per_second=100))
    assert kafka.submitted == [[("t", 2)]]
    assert kafka.replicas == {("t", 0): (2,), ("t", 1): (3,), ("t", 2): (4,)}
    log = read_rebalance_log("\n".join(lines))
    assert log.summary is not None
    assert (log.summary.done, log.summary.skipped, log.summary.refused) == (3, 1, 0)
    assert '"reason":"the topic no longer exists"' in lines[1]


def test_nothing_left_to_do_still_removes_the_throttle() -> None:
    kafka = FakeKafka({("t", 0): (2,)})
    _run(kafka, RebalanceWork((Target("t", 0, (2,)),), throttle_bytes_per_second=100))
    assert "throttle" not in kafka.calls
    assert "reassign" not in kafka.calls
    assert "unthrottle" in kafka.calls


def test_a_refused_move_is_named_and_the_others_go_on() -> None:
    moves = (Target("t", 0, (9,)), Target("t", 1, (2,)))
    kafka = FakeKafka({("t", 0): (1,), ("t", 1): (1,)})
    result, _lines = _run(kafka, RebalanceWork(moves))
    assert kafka.replicas[("t", 1)] == (2,)
    assert kafka.replicas[("t", 0)] == (1,)
    assert not result.ok
    assert result.problems() == [
        "Kafka refused moving t-0 to brokers [9]: INVALID_REPLICA_ASSIGNMENT: no such broker"
    ]
