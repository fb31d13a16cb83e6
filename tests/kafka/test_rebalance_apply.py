"""The rebalance Job's command against real Kafka: `kopfka rebalance-apply` run as a process on a
work file, as the Job runs it. Each case checks what a user would notice: where the replicas and
leaders are afterwards, that no message was lost, that the throttle was there while data moved and
is gone afterwards, that the progress the operator reports (partitions done, bytes left) follows
the move, that a killed run is taken up again, and that a refused move is named."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kopfka.cli import REBALANCE_REFUSED_EXIT
from kopfka.kafka.admin import KafkaPythonAdmin
from kopfka.kafka.facts import TopicFacts
from kopfka.rebalance.execute import THROTTLE_RATE_KEYS, THROTTLE_REPLICA_KEYS
from kopfka.rebalance.progress import Progress, progress
from kopfka.rebalance.wire import (
    RebalanceLog,
    RebalanceWork,
    Target,
    read_rebalance_log,
    work_file,
)
from tests.kafka.clients import admin_client, consume_all, create_topic, produce
from tests.kafka.localkafka import LocalKafka, wait_for

KOPFKA = Path(sys.executable).with_name("kopfka")
# Enough data in a partition, and a throttle low enough, that its move takes some ten seconds.
BIG_MESSAGES = 5000
BIG_MESSAGE_BYTES = 1000
LOW_THROTTLE = 300_000


def command(bootstrap: str, work: Path) -> list[str]:
    return [
        str(KOPFKA),
        "rebalance-apply",
        "--bootstrap-servers",
        bootstrap,
        "--work",
        str(work),
        "--poll",
        "0.25",
    ]


def rebalance_apply(bootstrap: str, work: Path) -> subprocess.CompletedProcess[str]:
    """The rebalance Job's command, as the console script installed with kopfka."""
    return subprocess.run(
        command(bootstrap, work), capture_output=True, text=True, timeout=600, check=False
    )


@dataclass
class Rebalance:
    """One test's topics on the shared cluster, named apart from the other tests'."""

    kafka: LocalKafka
    admin: KafkaPythonAdmin
    work_dir: Path
    prefix: str
    created: list[str]

    @property
    def bootstrap(self) -> str:
        return self.kafka.bootstrap()

    @property
    def brokers(self) -> list[int]:
        return sorted(self.admin.cluster().broker_ids)

    def topic(self, short: str, *, partitions: int, replicas: int) -> str:
        name = f"{self.prefix}-{short}"
        create_topic(self.bootstrap, name, partitions=partitions, replicas=replicas)
        self.created.append(name)
        return name

    def described(self, topic: str) -> TopicFacts:
        return wait_for(f"{topic} in the metadata", lambda: self.admin.topics([topic]).get(topic))

    def fill(self, topic: str, count: int, *, size: int = 20) -> list[bytes]:
        sent = [f"{index:08d}".encode().ljust(size, b".") for index in range(count)]
        assert produce(self.bootstrap, topic, sent) == count
        return sent

    def work(self, moves: list[Target], *, wave_size: int = 10, throttle: int | None) -> Path:
        path = self.work_dir / f"work-{uuid.uuid4().hex[:6]}.json.gz"
        path.write_bytes(work_file(RebalanceWork(tuple(moves), wave_size, throttle)))
        return path

    def at_targets(self, moves: list[Target]) -> bool:
        """Every partition has its target replicas, and its first replica leads it."""
        topics = self.admin.topics(sorted({move.topic for move in moves}))
        partitions = {
            (name, p.partition): p for name, facts in topics.items() for p in facts.partitions
        }
        return all(
            move.key in partitions
            and partitions[move.key].replicas == move.replicas
            and partitions[move.key].leader == move.replicas[0]
            for move in moves
        )

    def throttled_brokers(self) -> set[int]:
        return {
            broker
            for broker in self.brokers
            if set(THROTTLE_RATE_KEYS) & set(self.admin.broker_config(broker))
        }

    def throttled_topics(self, topics: list[str]) -> dict[str, dict[str, str]]:
        return {
            topic: {key: value for key, value in configs.items() if key in THROTTLE_REPLICA_KEYS}
            for topic, configs in self.admin.topic_configs(topics).items()
            if set(configs) & set(THROTTLE_REPLICA_KEYS)
        }

    def assert_unthrottled(self, topics: list[str]) -> None:
        assert self.throttled_brokers() == set()
        assert self.throttled_topics(topics) == {}

    def progress(self, moves: list[Target]) -> Progress:
        """How far `moves` are, read from Kafka the way the operator reads it for its status."""
        topics = self.admin.topics(sorted({move.topic for move in moves}))
        replicas = {
            (name, p.partition): p.replicas
            for name, facts in topics.items()
            for p in facts.partitions
        }
        return progress(moves, replicas, self.admin.replica_sizes(move.key for move in moves))

    def in_flight(self, moves: list[Target]) -> set[tuple[str, int]]:
        return {move.key for move in moves} & set(self.admin.reassignments())


@pytest.fixture
def rebalance(kafka: LocalKafka, admin: KafkaPythonAdmin, tmp_path: Path) -> Iterator[Rebalance]:
    """Deletes the test's topics afterwards, and any throttle a failed test left on a broker."""
    helper = Rebalance(kafka, admin, tmp_path, f"rb-{uuid.uuid4().hex[:6]}", [])
    yield helper
    admin.alter_broker_configs(
        {broker: dict.fromkeys(THROTTLE_RATE_KEYS) for broker in helper.brokers}
    )
    if helper.created:
        with admin_client(helper.bootstrap) as client:
            client.delete_topics(helper.created)


def moved_onto_other_broker(facts: TopicFacts, brokers: list[int]) -> list[Target]:
    """For each partition: a broker that holds none of its replicas takes the first one's place
    and becomes the preferred leader."""
    moves = []
    for partition in facts.partitions:
        free = [broker for broker in brokers if broker not in partition.replicas]
        replicas = (free[0], *partition.replicas[1:])
        moves.append(Target(facts.name, partition.partition, replicas))
    return moves


def test_moves_replicas_and_leaders_and_keeps_every_message(rebalance: Rebalance) -> None:
    topic = rebalance.topic("data", partitions=3, replicas=2)
    sent = rebalance.fill(topic, 600)
    moves = moved_onto_other_broker(rebalance.described(topic), rebalance.brokers)
    work = rebalance.work(moves, wave_size=2, throttle=10_000_000)

    done = rebalance_apply(rebalance.bootstrap, work)

    assert done.returncode == 0, done.stderr
    log = read_rebalance_log(done.stdout)
    assert log.summary is not None, done.stdout
    assert (log.summary.done, log.summary.refused, log.done, log.total) == (3, 0, 3, 3)
    wait_for("replicas and leaders at the targets", lambda: rebalance.at_targets(moves))
    assert sorted(consume_all(rebalance.bootstrap, topic, len(sent))) == sorted(sent)
    rebalance.assert_unthrottled([topic])

    again = rebalance_apply(rebalance.bootstrap, work)
    assert again.returncode == 0, again.stderr
    assert '"event":"submitted"' not in again.stdout, "a finished move was submitted again"
    assert read_rebalance_log(again.stdout).done == 3


def test_throttle_is_in_place_while_data_moves_and_removed_after(rebalance: Rebalance) -> None:
    topic = rebalance.topic("throttled", partitions=1, replicas=1)
    rebalance.fill(topic, BIG_MESSAGES, size=BIG_MESSAGE_BYTES)
    (partition,) = rebalance.described(topic).partitions
    (source,) = partition.replicas
    target = next(broker for broker in rebalance.brokers if broker != source)
    moves = [Target(topic, 0, (target,))]
    work = rebalance.work(moves, throttle=LOW_THROTTLE)

    with subprocess.Popen(
        command(rebalance.bootstrap, work), stdout=subprocess.PIPE, text=True
    ) as job:
        try:
            wait_for("the move in flight", lambda: rebalance.in_flight(moves), timeout=60)
            throttled = rebalance.throttled_brokers()
            topics = rebalance.throttled_topics([topic])
            midway = rebalance.progress(moves)
            full = rebalance.admin.replica_sizes([(topic, 0)])[(topic, 0)][source]
            still_moving = rebalance.in_flight(moves)
        finally:
            stdout, _ = job.communicate(timeout=600)

    assert still_moving, "the move finished before its throttle could be seen: more data"
    assert throttled == {source, target}
    assert topics == {topic: dict.fromkeys(THROTTLE_REPLICA_KEYS, "*")}
    # What the operator reports meanwhile: not done, and at most the whole partition left.
    assert full >= BIG_MESSAGES * BIG_MESSAGE_BYTES
    assert midway.done == 0
    assert 0 < midway.bytes_left <= full
    assert job.returncode == 0, stdout
    wait_for("the replica on its new broker", lambda: rebalance.at_targets(moves))
    rebalance.assert_unthrottled([topic])
    assert rebalance.progress(moves) == Progress(done=1, bytes_left=0)
    log = read_rebalance_log(stdout)
    assert log.summary is not None, stdout
    assert log.summary.done == 1


def test_a_killed_run_is_taken_up_by_the_next(rebalance: Rebalance) -> None:
    topic = rebalance.topic("resumed", partitions=2, replicas=1)
    sent = rebalance.fill(topic, BIG_MESSAGES, size=BIG_MESSAGE_BYTES)
    facts = rebalance.described(topic)
    moves = [
        Target(topic, p.partition, (next(b for b in rebalance.brokers if b not in p.replicas),))
        for p in facts.partitions
    ]
    work = rebalance.work(moves, wave_size=1, throttle=LOW_THROTTLE)

    first = subprocess.Popen(
        command(rebalance.bootstrap, work),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        moving = wait_for("a move in flight", lambda: rebalance.in_flight(moves), timeout=60)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first_log, _ = first.communicate(timeout=60)
    assert rebalance.in_flight(moves) == moving, "the killed run's move should still be going"
    assert rebalance.throttled_brokers(), "the killed run left its throttle: the next removes it"

    second = rebalance_apply(rebalance.bootstrap, work)

    assert second.returncode == 0, second.stderr
    log = read_rebalance_log(second.stdout)
    submitted = _submitted(second.stdout)
    assert not submitted & {f"{t}-{p}" for t, p in moving}, "a move in flight was submitted again"
    # The killed run's move counts as in flight, or as done if it finished meanwhile.
    start = json.loads(second.stdout.splitlines()[0])
    assert start["inFlight"] + start["done"] >= 1, second.stdout
    assert log.summary is not None, second.stdout
    assert log.summary.done == 2
    assert read_rebalance_log(first_log).summary is None
    wait_for("both partitions moved", lambda: rebalance.at_targets(moves))
    rebalance.assert_unthrottled([topic])
    assert sorted(consume_all(rebalance.bootstrap, topic, len(sent))) == sorted(sent)


def test_a_move_to_a_missing_broker_is_named_and_the_others_happen(rebalance: Rebalance) -> None:
    topic = rebalance.topic("refused", partitions=2, replicas=1)
    facts = rebalance.described(topic)
    missing = 99
    good, bad = facts.partitions
    free = next(b for b in rebalance.brokers if b not in good.replicas)
    moves = [Target(topic, good.partition, (free,)), Target(topic, bad.partition, (missing,))]
    work = rebalance.work(moves, throttle=10_000_000)

    done = rebalance_apply(rebalance.bootstrap, work)

    assert done.returncode == REBALANCE_REFUSED_EXIT, done.stdout + done.stderr
    log: RebalanceLog = read_rebalance_log(done.stdout)
    ((refused, error),) = log.refused
    assert refused == moves[1]
    # Kafka's INVALID_REPLICA_ASSIGNMENT (39), as kafka-python spells it.
    assert error.code == "INVALID_REPLICATION_ASSIGNMENT"
    assert str(missing) in error.message
    reason = [line for line in done.stderr.splitlines() if "Exception: " in line][-1]
    assert f"{topic}-{bad.partition}" in reason
    assert error.message in reason
    wait_for("the good move done", lambda: rebalance.at_targets(moves[:1]))
    assert rebalance.described(topic).partitions[bad.partition].replicas == bad.replicas
    rebalance.assert_unthrottled([topic])


def _submitted(stdout: str) -> set[str]:
    """The partitions a run submitted to Kafka, from its log."""
    return {
        name
        for line in stdout.splitlines()
        if line.startswith('{"event":"submitted"')
        for name in json.loads(line)["partitions"]
    }
