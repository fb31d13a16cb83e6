"""What passes between the operator and its rebalance Job: the work in, the progress out.

The operator plans (kopfka.rebalance.plan), writes the target replica list of each partition that
changes into a ConfigMap that the Job mounts, and the Job (`kopfka rebalance-apply`,
kopfka.rebalance.execute) carries it out and prints what it does. The work holds targets, not
moves from one list to another: what is current is read from Kafka when the Job runs, so the same
work file can be run again after a pod was killed, and it takes up from where Kafka is.

The work (version 1), one JSON object, keys sorted, moves sorted by topic and partition:

    {"moves": [{"partition": 0, "replicas": [4, 1, 2], "topic": "orders"}],
     "throttleBytesPerSecond": 10485760, "version": 1, "waveSize": 10}

`replicas` is the target list, preferred leader first; `waveSize` is the most partitions
reassigning at once; `throttleBytesPerSecond` is the replication throttle (null: none). The
ConfigMap carries it gzip-compressed (`work_file`); `read_work_file` takes it compressed or not.

The log, on the Job's stdout, one JSON object per line, an `event` each:

    {"event": "start", "moves": 12, "skipped": 0, "total": 12, "done": 2, "inFlight": 1}
    {"event": "skipped", "topic": "gone", "partition": 0, "reason": "the topic no longer exists"}
    {"event": "throttled", "bytesPerSecond": 10485760, "brokers": [1, 2, 4], "topics": ["orders"]}
    {"event": "submitted", "partitions": ["orders-3", "orders-4"], "inFlight": 3}
    {"event": "refused", "topic": "orders", "partition": 5, "replicas": [1, 99],
     "error": "INVALID_REPLICATION_ASSIGNMENT", "message": "The manual partition assignment
     includes broker 99, but no such broker is registered."}
    {"event": "progress", "done": 5, "total": 12, "inFlight": 3}
    {"event": "unthrottled", "brokers": [1, 2, 3, 4], "topics": ["orders"]}
    {"event": "leaders", "elected": 11, "failed": []}
    {"summary": {"version": 1, "moves": 12, "done": 11, "refused": 1, "skipped": 0,
                 "seconds": 84.2}}

`total` counts the moves that are not skipped (their topic or partition no longer exists);
`done` those whose partition has its target replicas. The summary is written only when the Job
got to the end; when a move was refused it is followed by one line on stderr for the operator's
reading of a failed Job (the last line with "Exception: ", kopfka.live.jobs), `refusal_line`,
and the command exits non-zero. Other lines (the Kafka client's warnings) are skipped.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kopfka.kafka.facts import TopicError
from kopfka.model.work_files import compressed, json_object, work_document, work_text
from kopfka.rebalance.plan import Reassignment

WORK_VERSION = 1
LOG_VERSION = 1
DEFAULT_WAVE_SIZE = 10

# kopfka.live.jobs reads a failed Job's reason from the last log line holding "Exception: ".
REFUSAL_PREFIX = "kopfka.rebalance.MovesRefusedException: "
# A line of the log that is not what its event says is skipped, like any other line.
_MALFORMED = contextlib.suppress(KeyError, TypeError, ValueError)


@dataclass(frozen=True, order=True)
class Target:
    """The replica list one partition is to have, preferred leader first."""

    topic: str
    partition: int
    replicas: tuple[int, ...]

    @property
    def key(self) -> tuple[str, int]:
        return (self.topic, self.partition)

    @property
    def name(self) -> str:
        """As Kafka's tools name a partition: `orders-3`."""
        return f"{self.topic}-{self.partition}"


@dataclass(frozen=True)
class RebalanceWork:
    """The reassignments of a plan, as the rebalance Job carries them out."""

    moves: tuple[Target, ...]
    wave_size: int = DEFAULT_WAVE_SIZE
    throttle_bytes_per_second: int | None = None

    @classmethod
    def of(
        cls,
        reassignments: Iterable[Reassignment],
        *,
        wave_size: int = DEFAULT_WAVE_SIZE,
        throttle: int | None = None,
    ) -> RebalanceWork:
        moves = sorted(Target(r.topic, r.partition, r.target) for r in reassignments)
        return cls(tuple(moves), wave_size, throttle)


def work_to_json(work: RebalanceWork) -> str:
    document = {
        "version": WORK_VERSION,
        "waveSize": work.wave_size,
        "throttleBytesPerSecond": work.throttle_bytes_per_second,
        "moves": [
            {"topic": move.topic, "partition": move.partition, "replicas": list(move.replicas)}
            for move in sorted(work.moves)
        ],
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def work_from_json(text: str) -> RebalanceWork:
    """The work in `text`; raises ValueError when it is not work this kopfka can carry out."""
    document = work_document(text, kind="rebalance", version=WORK_VERSION)
    try:
        throttle = document["throttleBytesPerSecond"]
        work = RebalanceWork(
            moves=tuple(
                Target(
                    topic=_string(move["topic"]),
                    partition=_index(move["partition"]),
                    replicas=tuple(_index(replica) for replica in move["replicas"]),
                )
                for move in document["moves"]
            ),
            wave_size=_count(document["waveSize"]),
            throttle_bytes_per_second=None if throttle is None else _count(throttle),
        )
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"the rebalance work is malformed: {error!r}") from error
    _check_moves(work.moves)
    return work


def _check_moves(moves: Sequence[Target]) -> None:
    seen: set[tuple[str, int]] = set()
    for move in moves:
        if not move.replicas or len(set(move.replicas)) != len(move.replicas):
            raise ValueError(
                f"the rebalance work is malformed: {move.name} has the replicas "
                f"{list(move.replicas)}, not a list of distinct brokers"
            )
        if move.key in seen:
            raise ValueError(f"the rebalance work is malformed: {move.name} appears twice")
        seen.add(move.key)


def work_file(work: RebalanceWork) -> bytes:
    """The work as the ConfigMap carries it: gzip-compressed JSON, the same bytes for the same
    work (no timestamp), so that an unchanged plan writes nothing."""
    return compressed(work_to_json(work))


def read_work_file(data: bytes) -> RebalanceWork:
    """The work from the mounted file, gzip-compressed or plain JSON."""
    return work_from_json(work_text(data))


# -- the log -----------------------------------------------------------------------------------


def event_line(event: str, **fields: Any) -> str:
    """One line of the Job's log: the event's name, then its fields in the order given."""
    return json.dumps({"event": event, **fields}, separators=(",", ":"), ensure_ascii=False)


def refused_line(move: Target, error: TopicError) -> str:
    return event_line(
        "refused",
        topic=move.topic,
        partition=move.partition,
        replicas=list(move.replicas),
        error=error.code,
        message=error.message,
    )


def summary_line(*, moves: int, done: int, refused: int, skipped: int, seconds: float) -> str:
    summary = {
        "version": LOG_VERSION,
        "moves": moves,
        "done": done,
        "refused": refused,
        "skipped": skipped,
        "seconds": round(seconds, 3),
    }
    return json.dumps({"summary": summary}, separators=(",", ":"))


def refusal_line(problems: Sequence[str], *, moves: int) -> str:
    """The line a failed Job's reason is read from: what went wrong, of how many moves."""
    return f"{REFUSAL_PREFIX}{len(problems)} problem(s) in a rebalance of {moves} moves: " + (
        "; ".join(problems)
    )


@dataclass(frozen=True)
class Summary:
    moves: int
    done: int
    refused: int
    skipped: int
    seconds: float


@dataclass(frozen=True)
class RebalanceLog:
    """What a rebalance Job's log says: its latest progress, the refusals, and the summary if
    the Job got to the end."""

    done: int | None
    total: int | None
    refused: tuple[tuple[Target, TopicError], ...]
    summary: Summary | None

    @property
    def complete(self) -> bool:
        return self.summary is not None


def read_rebalance_log(text: str) -> RebalanceLog:
    """The progress, refusals and summary in a Job's log; every other line is skipped."""
    done: int | None = None
    total: int | None = None
    refused: list[tuple[Target, TopicError]] = []
    summary: Summary | None = None
    for line in text.splitlines():
        entry = json_object(line)
        if entry is None:
            continue
        if isinstance(entry.get("summary"), dict):
            summary = _summary(entry["summary"]) or summary
            continue
        event = entry.get("event")
        if event in ("start", "progress"):
            with _MALFORMED:
                done, total = int(entry["done"]), int(entry["total"])
        elif event == "refused":
            with _MALFORMED:
                move = Target(
                    str(entry["topic"]),
                    int(entry["partition"]),
                    tuple(int(r) for r in entry["replicas"]),
                )
                refused.append((move, TopicError(str(entry["error"]), str(entry["message"]))))
    if summary is not None:
        done, total = summary.done, summary.moves - summary.skipped
    return RebalanceLog(done, total, tuple(refused), summary)


def _summary(found: dict[str, Any]) -> Summary | None:
    try:
        return Summary(
            int(found["moves"]),
            int(found["done"]),
            int(found["refused"]),
            int(found["skipped"]),
            float(found["seconds"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _string(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"expected a name, found {value!r}")
    return value


def _index(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError(f"expected a whole number, found {value!r}")
    return value


def _count(value: object) -> int:
    count = _index(value)
    if count < 1:
        raise TypeError(f"expected a positive whole number, found {value!r}")
    return count
