"""The rebalance Job's work: carry out partition reassignments in Kafka, a wave at a time, under a
replication throttle, and put leadership where the plan says.

The operator plans (kopfka.rebalance.plan) and hands the targets to a Job (kopfka.rebalance.wire);
the Job runs `kopfka rebalance-apply`, which calls `run_rebalance`. The Job's pod can be killed
and retried, and the operator can start the same work again after its own restart, so every step
starts from what Kafka says, not from what an earlier run did:

- a partition that has its target replicas (same order) is done; one Kafka is already moving to
  its target is in flight, and is not submitted again; one whose topic or partition is gone is
  skipped; every other one is submitted, at most `wave_size` of the work reassigning at once, the
  next ones as earlier ones finish;
- the throttle is set on every broker that sends or receives a replica of a remaining move, and on
  their topics (`*`: Kafka throttles only replicas that are catching up, so followers in sync are
  never slowed down), and removed from every broker and every topic of the work at the end, also
  when nothing was left to do (a resumed run cleans up after a killed one), but never before the
  last reassignment of the work has finished;
- then each moved partition's first replica is elected leader.

A partition Kafka refuses (a broker that does not exist, a topic deleted meanwhile) is reported
with Kafka's message and the rest goes on; the run's result says the work failed. Only Kafka going
away stops the run (KafkaUnavailable); the reassignments already submitted go on in Kafka, and the
next run finds them in flight.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from kopfka.kafka.admin import KafkaAdmin, PartitionKey
from kopfka.kafka.facts import Reassigning, TopicError
from kopfka.model.topic import OWNED_TOPIC_KEYS
from kopfka.rebalance import wire
from kopfka.rebalance.wire import RebalanceWork, Target

POLL_SECONDS = 2.0
# After Kafka's controller finished a reassignment, the brokers' metadata (which describes the
# replicas) follows within moments; this bounds the wait before a move is called not reached, and
# the retries of a preferred leader that is not in sync yet.
SETTLE_SECONDS = 60.0

THROTTLE_RATE_KEYS = ("leader.replication.throttled.rate", "follower.replication.throttled.rate")
THROTTLE_REPLICA_KEYS = tuple(sorted(OWNED_TOPIC_KEYS))
# Kafka's throttled replica list meaning every replica of the topic.
ALL_REPLICAS = "*"
UNKNOWN_TOPIC = "UNKNOWN_TOPIC_OR_PARTITION"


class ThrottleRefused(Exception):
    """Kafka refused the replication throttle: moving data unthrottled is not what was asked."""


@dataclass(frozen=True)
class Result:
    moves: int
    done: tuple[Target, ...]
    refused: Mapping[Target, TopicError]
    skipped: tuple[Target, ...]
    # Throttles that could not be removed, and partitions whose preferred leader was not elected.
    leftover_throttles: Mapping[str, TopicError]
    leaders_not_elected: Mapping[PartitionKey, TopicError]
    seconds: float

    @property
    def ok(self) -> bool:
        """Every move that could be made was made, and no throttle is left behind."""
        return not self.refused and not self.leftover_throttles

    def problems(self) -> list[str]:
        """What makes the result not ok, one sentence each, for the Job's failure line."""
        found = [
            f"Kafka refused moving {move.name} to brokers {list(move.replicas)}: "
            f"{error.code}: {error.message}"
            for move, error in sorted(self.refused.items())
        ]
        found += [
            f"the throttle on {where} could not be removed: {error.code}: {error.message}"
            for where, error in sorted(self.leftover_throttles.items())
        ]
        return found


def run_rebalance(
    admin: KafkaAdmin,
    work: RebalanceWork,
    *,
    report: Callable[[str], None] = lambda _: None,
    poll_seconds: float = POLL_SECONDS,
    settle_seconds: float = SETTLE_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Result:
    """Carry `work` out and say how it went; `report` sees each line of the Job's log
    (kopfka.rebalance.wire) as it happens. Raises KafkaUnavailable when Kafka goes away, and
    ThrottleRefused when Kafka refuses the throttle (before any move is submitted)."""
    started = clock()
    topics = admin.topics(sorted({move.topic for move in work.moves}))
    replicas = {
        (name, partition.partition): partition.replicas
        for name, facts in topics.items()
        for partition in facts.partitions
    }
    skipped, done, in_flight, pending = _sort_out(work.moves, replicas, admin.reassignments())
    total = len(work.moves) - len(skipped)
    report(
        wire.event_line(
            "start",
            moves=len(work.moves),
            skipped=len(skipped),
            total=total,
            done=len(done),
            inFlight=len(in_flight),
        )
    )
    for move in skipped:
        what = "topic" if move.topic not in topics else "partition"
        report(
            wire.event_line(
                "skipped",
                topic=move.topic,
                partition=move.partition,
                reason=f"the {what} no longer exists",
            )
        )
    remaining = in_flight + pending
    if work.throttle_bytes_per_second is not None and remaining:
        _throttle(admin, remaining, replicas, work.throttle_bytes_per_second, report)

    refused: dict[Target, TopicError] = {}
    finished: list[Target] = []
    while pending or in_flight:
        room = work.wave_size - len(in_flight)
        if room > 0 and pending:
            wave, pending = pending[:room], pending[room:]
            answers = admin.reassign({move.key: move.replicas for move in wave})
            for move in wave:
                error = answers.get(move.key)
                if error is None:
                    in_flight.append(move)
                else:
                    refused[move] = error
                    report(wire.refused_line(move, error))
            submitted = [move.name for move in wave if move not in refused]
            if submitted:
                report(wire.event_line("submitted", partitions=submitted, inFlight=len(in_flight)))
        if not in_flight:
            continue
        sleep(poll_seconds)
        ongoing = admin.reassignments()
        ended = {move for move in in_flight if not _heading_to_target(move, ongoing)}
        if ended:
            in_flight = [move for move in in_flight if move not in ended]
            finished += sorted(ended)
            report(
                wire.event_line(
                    "progress",
                    done=len(done) + len(finished),
                    total=total,
                    inFlight=len(in_flight),
                )
            )

    # Kafka ends a reassignment that someone else replaced or cancelled, too: check where it went.
    moved = done + finished
    pace = _Pace(poll_seconds, settle_seconds, sleep, clock)
    missed, gone = _not_at_target(admin, moved, pace)
    for move, actual in missed.items():
        refused[move] = TopicError(
            "TARGET_NOT_REACHED",
            f"the reassignment ended with the replicas {list(actual)} (replaced or cancelled?)",
        )
        report(wire.refused_line(move, refused[move]))
    skipped += sorted(gone)
    moved = [move for move in moved if move not in missed and move not in gone]

    leftover = _unthrottle(admin, work.moves, topics, report)
    not_elected = _elect_leaders(admin, moved, pace)
    report(
        wire.event_line(
            "leaders",
            elected=len(moved) - len(not_elected),
            failed=[
                {"partition": f"{topic}-{index}", "error": error.code, "message": error.message}
                for (topic, index), error in sorted(not_elected.items())
            ],
        )
    )
    seconds = clock() - started
    report(
        wire.summary_line(
            moves=len(work.moves),
            done=len(moved),
            refused=len(refused),
            skipped=len(skipped),
            seconds=seconds,
        )
    )
    return Result(
        moves=len(work.moves),
        done=tuple(moved),
        refused=refused,
        skipped=tuple(skipped),
        leftover_throttles=leftover,
        leaders_not_elected=not_elected,
        seconds=seconds,
    )


def _sort_out(
    moves: Iterable[Target],
    replicas: Mapping[PartitionKey, tuple[int, ...]],
    ongoing: Mapping[PartitionKey, Reassigning],
) -> tuple[list[Target], list[Target], list[Target], list[Target]]:
    """The moves whose partition is gone, those done, those in flight, and those to submit."""
    skipped: list[Target] = []
    done: list[Target] = []
    in_flight: list[Target] = []
    pending: list[Target] = []
    for move in moves:
        if move.key not in replicas:
            skipped.append(move)
        elif _heading_to_target(move, ongoing):
            in_flight.append(move)
        elif move.key not in ongoing and replicas[move.key] == move.replicas:
            done.append(move)
        else:  # elsewhere, or on its way to another target: this work's target replaces it
            pending.append(move)
    return skipped, done, in_flight, pending


def _heading_to_target(move: Target, ongoing: Mapping[PartitionKey, Reassigning]) -> bool:
    reassigning = ongoing.get(move.key)
    return reassigning is not None and reassigning.target == move.replicas


def _throttle(
    admin: KafkaAdmin,
    moves: Sequence[Target],
    replicas: Mapping[PartitionKey, tuple[int, ...]],
    rate: int,
    report: Callable[[str], None],
) -> None:
    """Throttle replication on the brokers that send or receive a replica of `moves` (those Kafka
    knows: a broker that does not exist gets its move refused), and on the moves' topics."""
    involved = {broker for move in moves for broker in (*replicas[move.key], *move.replicas)}
    brokers = sorted(involved & admin.cluster().broker_ids)
    topics = sorted({move.topic for move in moves})
    value = str(rate)
    answers: dict[str, TopicError | None] = {
        f"broker {broker}": error
        for broker, error in admin.alter_broker_configs(
            {broker: dict.fromkeys(THROTTLE_RATE_KEYS, value) for broker in brokers}
        ).items()
    }
    answers.update(
        (f"topic {topic}", error)
        for topic, error in admin.alter_topic_configs(
            {topic: dict.fromkeys(THROTTLE_REPLICA_KEYS, ALL_REPLICAS) for topic in topics}
        ).items()
        # A topic deleted meanwhile has nothing to throttle; its moves are refused.
        if error is None or error.code != UNKNOWN_TOPIC
    )
    failed = {where: error for where, error in answers.items() if error is not None}
    if failed:
        raise ThrottleRefused(
            "; ".join(
                f"the throttle on {where} was refused: {error.code}: {error.message}"
                for where, error in sorted(failed.items())
            )
        )
    report(wire.event_line("throttled", bytesPerSecond=rate, brokers=brokers, topics=topics))


def _unthrottle(
    admin: KafkaAdmin,
    moves: Iterable[Target],
    topics: Iterable[str],
    report: Callable[[str], None],
) -> dict[str, TopicError]:
    """Remove the throttle from every broker of the cluster (a killed run may have throttled
    brokers that this run's moves no longer involve) and from every existing topic of the work."""
    brokers = sorted(admin.cluster().broker_ids)
    names = sorted({move.topic for move in moves} & set(topics))
    answers: dict[str, TopicError | None] = {
        f"broker {broker}": error
        for broker, error in admin.alter_broker_configs(
            {broker: dict.fromkeys(THROTTLE_RATE_KEYS) for broker in brokers}
        ).items()
    }
    answers.update(
        (f"topic {topic}", error)
        for topic, error in admin.alter_topic_configs(
            {topic: dict.fromkeys(THROTTLE_REPLICA_KEYS) for topic in names}
        ).items()
        if error is None or error.code != UNKNOWN_TOPIC
    )
    failed = {where: error for where, error in answers.items() if error is not None}
    report(
        wire.event_line(
            "unthrottled",
            brokers=brokers,
            topics=names,
            failed=[
                {"where": where, "error": error.code, "message": error.message}
                for where, error in sorted(failed.items())
            ],
        )
    )
    return failed


@dataclass(frozen=True)
class _Pace:
    """How often to ask Kafka again, and for how long while it settles."""

    poll_seconds: float
    settle_seconds: float
    sleep: Callable[[float], None]
    clock: Callable[[], float]


def _not_at_target(
    admin: KafkaAdmin, moves: Sequence[Target], pace: _Pace
) -> tuple[dict[Target, tuple[int, ...]], set[Target]]:
    """The moves whose partition does not have its target replicas (waiting for the brokers'
    metadata to catch up with the controller), with the replicas it has; and those whose
    partition no longer exists."""
    deadline = pace.clock() + pace.settle_seconds
    while True:
        topics = admin.topics(sorted({move.topic for move in moves})) if moves else {}
        replicas = {
            (name, partition.partition): partition.replicas
            for name, facts in topics.items()
            for partition in facts.partitions
        }
        gone = {move for move in moves if move.key not in replicas}
        missed = {
            move: replicas[move.key]
            for move in moves
            if move.key in replicas and replicas[move.key] != move.replicas
        }
        if not missed or pace.clock() >= deadline:
            return missed, gone
        pace.sleep(pace.poll_seconds)


def _elect_leaders(
    admin: KafkaAdmin, moves: Sequence[Target], pace: _Pace
) -> dict[PartitionKey, TopicError]:
    """Elect each moved partition's first replica its leader; Kafka refuses while that replica is
    not in sync yet (just added), so those are asked again until `settle_seconds` have passed."""
    deadline = pace.clock() + pace.settle_seconds
    partitions = [move.key for move in moves]
    while True:
        answers = admin.elect_preferred_leaders(partitions)
        failed = {key: error for key, error in answers.items() if error is not None}
        if not failed or pace.clock() >= deadline:
            return failed
        partitions = sorted(failed)
        pace.sleep(pace.poll_seconds)
