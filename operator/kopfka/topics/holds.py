"""Which topic changes wait before they are tried again, and what the KafkaTopics say meanwhile.

A change Kafka refused (an invalid value, a policy, too few brokers) would be refused again by the
very next Job, and a Job per sync would follow, for ever. So a KafkaTopic whose change Kafka
refused is held: its status carries Kafka's own error, no Job carries its change, and it is tried
again after a backoff that doubles with each refusal (60 s, 2 min, ... up to an hour), or at once
when its spec changes (a new generation). The status names the time of the next try, so it stays
the same, and is not written again, while the hold lasts. The other KafkaTopics of the cluster go
on.

Pure: the operator keeps the holds in memory (`Held`, per KafkaTopic) and passes them in. After an
operator restart the memory is empty, but a status that reports a refusal for the current
generation is a hold of its own (`held_from_status`): the restart does not cause a burst of Jobs.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace

from kopfka.kafka.facts import TopicError
from kopfka.model.conditions import ready_condition
from kopfka.topics.plan import State, TopicPlan, Verdict
from kopfka.topics.wire import BatchLog, TopicWork

# The Ready reason of a KafkaTopic whose change Kafka refused.
KAFKA_ERROR = "KafkaError"
# Kafka's answer to a create of a topic that exists: a Job retried after doing the create, or
# another client was first. The next plan, made from what Kafka has, decides what is left.
_ALREADY_DONE = frozenset({"TOPIC_ALREADY_EXISTS"})


@dataclass(frozen=True)
class Backoff:
    first: float = 60.0
    most: float = 3600.0

    def after(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th refusal in a row."""
        return float(min(self.most, self.first * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Held:
    """A KafkaTopic whose change Kafka refused: not tried again before `retry_at` (a monotonic
    clock reading) unless its generation changes. `retrying`: the hold ended and its change is in
    a Job now; kept so that another refusal counts on from `attempts`."""

    generation: int
    message: str
    attempts: int
    retry_at: float
    # When, on the wall clock: the status says it, and stays the same while the hold lasts.
    retry_time: str
    retrying: bool = False


def refusals(logs: Iterable[BatchLog]) -> dict[str, str]:
    """Kafka topic -> what Kafka said, for every change a Job's pods reported refused and none of
    them reported done (a retried pod redoes the whole work). Logs in the order the pods ran."""
    done: set[tuple[str, str]] = set()
    refused: dict[tuple[str, str], TopicError] = {}
    for log in logs:
        for outcome in log.outcomes:
            key = (outcome.topic, outcome.action)
            if outcome.error is None:
                done.add(key)
            elif outcome.error.code not in _ALREADY_DONE:
                refused[key] = outcome.error
    found: dict[str, str] = {}
    for (topic, action), error in sorted(refused.items()):
        if (topic, action) in done:
            continue
        text = f"Kafka refused to {_ACTION_WORDS.get(action, action)} {topic!r}: {error.code}: "
        found[topic] = "; ".join(filter(None, (found.get(topic), text + error.message)))
    return found


_ACTION_WORDS = {
    "create": "create topic",
    "delete": "delete topic",
    "partitions": "add partitions to topic",
    "config": "change the configs of topic",
}


def held_from_status(
    status: Mapping[str, object],
    generation: int,
    *,
    clock: float,
    wall: datetime.datetime,
    backoff: Backoff,
) -> Held | None:
    """The hold a KafkaTopic's status records (after an operator restart), or None."""
    ready = ready_condition(status)
    if ready is None or ready.get("reason") != KAFKA_ERROR:
        return None
    if status.get("observedGeneration") != generation:
        return None
    wait = backoff.after(1)
    message = str(ready.get("message", "")).split(_TRIES_AGAIN)[0]
    return Held(generation, message, 1, clock + wait, _at(wall, wait))


@dataclass(frozen=True)
class Decided:
    """The plan with holds applied: the verdict of every KafkaTopic, the work a Job may carry,
    and the holds to keep."""

    verdicts: Mapping[str, Verdict]
    work: TopicWork
    held: Mapping[str, Held]

    def next_retry(self, clock: float) -> float | None:
        """Seconds until the first hold ends, or None when nothing waits."""
        waiting = [held.retry_at for held in self.held.values() if not held.retrying]
        return None if not waiting else max(0.0, min(waiting) - clock)


def apply_holds(
    plan: TopicPlan,
    *,
    held: Mapping[str, Held],
    refused: Mapping[str, str],
    clock: float,
    wall: datetime.datetime,
    backoff: Backoff,
) -> Decided:
    """Hold the pending KafkaTopics whose topic Kafka just refused (`refused`, from the Job that
    ended) or that are still held (`held`, by `namespace/name`), and leave their topics out of
    the work. A held KafkaTopic whose generation changed, or whose hold ended, is planned again;
    one that is not pending any more (in sync, refused by kopfka, released) is held no more."""
    verdicts: dict[str, Verdict] = dict(plan.verdicts)
    keep: dict[str, Held] = {}
    for key, verdict in plan.verdicts.items():
        old = held.get(key)
        if old is not None and old.generation != verdict.generation:
            old = None
        if verdict.state is not State.PENDING:
            continue
        topic = verdict.topic_name or ""
        if topic in refused:
            attempts = old.attempts + 1 if old is not None else 1
            wait = backoff.after(attempts)
            hold = Held(verdict.generation, refused[topic], attempts, clock + wait, _at(wall, wait))
        elif old is not None and not old.retrying and clock < old.retry_at:
            hold = old
        else:
            if old is not None:
                keep[key] = replace(old, retrying=True)
            continue
        keep[key] = hold
        verdicts[key] = replace(
            verdict,
            state=State.REFUSED,
            reason=KAFKA_ERROR,
            message=f"{hold.message}{_TRIES_AGAIN}{hold.retry_time}, or when the spec changes",
        )
    waiting = {plan.verdicts[key].topic_name for key, hold in keep.items() if not hold.retrying}
    return Decided(verdicts=verdicts, work=without(TopicWork.of(plan), waiting), held=keep)


def without(work: TopicWork, topics: Collection[str | None]) -> TopicWork:
    """`work` without any change to `topics`."""
    return TopicWork(
        creates=tuple(create for create in work.creates if create.name not in topics),
        partition_increases={
            name: count for name, count in work.partition_increases.items() if name not in topics
        },
        config_changes={
            name: change for name, change in work.config_changes.items() if name not in topics
        },
        deletions=tuple(name for name in work.deletions if name not in topics),
    )


_TRIES_AGAIN = ". kopfka tries again at "


def _at(wall: datetime.datetime, seconds: float) -> str:
    return (wall + datetime.timedelta(seconds=round(seconds))).strftime("%Y-%m-%dT%H:%M:%SZ")
