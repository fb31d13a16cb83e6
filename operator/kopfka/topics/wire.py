"""What passes between the operator and its topic Job: the work in, the outcomes out.

The operator plans (kopfka.topics.plan), writes the plan's work, not its verdicts, into a
ConfigMap that the Job mounts, and reads the Job pod's log back for Kafka's answer per topic. Both
are plain JSON with a format version, so an operator can read a Job that an older or newer
kopfka started across an upgrade, and a person can read both with kubectl.

The work (version 1), one JSON object; each list and mapping sorted by topic name:

    {"version": 1,
     "deletions": ["old-orders"],
     "creates": [{"name": "orders", "partitions": 12, "replicationFactor": 3,
                  "config": {"retention.ms": "604800000"}}],
     "partitionIncreases": {"payments": 24},
     "configChanges": {"payments": {"set": {"cleanup.policy": "compact"},
                                    "delete": ["segment.ms"]}}}

`partitions` is null when the KafkaTopic leaves it to the cluster's num.partitions;
`partitionIncreases` holds the new total per topic; `configChanges` are incremental (`set` these
keys, `delete` those back to the broker default, the rest untouched). The ConfigMap carries it
gzip-compressed under `binaryData` (`work_file`): 10,000 creates with two configs each take
1.3 MB of JSON, more than a ConfigMap may hold (1 MiB), and 35 KB compressed. `read_work_file`
takes it compressed or not, so the command also runs by hand on a plain JSON file.

The outcomes, on the Job's stdout, one JSON object per line: one per topic and change, as soon as
Kafka has answered the request that carried it, then one summary line at the end:

    {"topic": "orders", "action": "create", "ok": true}
    {"topic": "bad", "action": "create", "ok": false, "error": "INVALID_CONFIG",
     "message": "Invalid value soon for configuration retention.ms: Not a number of type LONG"}
    {"summary": {"version": 1, "outcomes": 2, "failed": 1, "seconds": 0.84}}

`action` is one of `delete`, `create`, `partitions`, `config`; `error` is Kafka's error name and
`message` Kafka's own message. The summary is written only when the whole work was carried out: a
log without it (Kafka went away, the pod was killed) tells the operator to plan again from what
Kafka has. Other lines in the log (the Kafka client's warnings on stderr) are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kopfka.kafka.facts import TopicError
from kopfka.model.work_files import compressed, json_object, work_document, work_text
from kopfka.topics.plan import ConfigChange, TopicCreate, TopicPlan

WORK_VERSION = 1
OUTCOMES_VERSION = 1

# Actions, in the order the batch carries them out (kopfka.topics.batch says why).
DELETE = "delete"
CREATE = "create"
PARTITIONS = "partitions"
CONFIG = "config"
ACTIONS = (DELETE, CREATE, PARTITIONS, CONFIG)


@dataclass(frozen=True)
class TopicWork:
    """The changes of a TopicPlan, without its verdicts: what the topic Job carries out."""

    creates: tuple[TopicCreate, ...]
    partition_increases: Mapping[str, int]
    config_changes: Mapping[str, ConfigChange]
    deletions: tuple[str, ...]

    @classmethod
    def of(cls, plan: TopicPlan) -> TopicWork:
        return cls(plan.creates, plan.partition_increases, plan.config_changes, plan.deletions)

    @property
    def has_work(self) -> bool:
        return bool(
            self.creates or self.partition_increases or self.config_changes or self.deletions
        )


def work_to_json(work: TopicPlan | TopicWork) -> str:
    document = {
        "version": WORK_VERSION,
        "deletions": sorted(work.deletions),
        "creates": [
            {
                "name": create.name,
                "partitions": create.partitions,
                "replicationFactor": create.replication_factor,
                "config": dict(sorted(create.config.items())),
            }
            for create in sorted(work.creates, key=lambda create: create.name)
        ],
        "partitionIncreases": dict(sorted(work.partition_increases.items())),
        "configChanges": {
            name: {"set": dict(sorted(change.to_set.items())), "delete": list(change.to_delete)}
            for name, change in sorted(work.config_changes.items())
        },
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def work_from_json(text: str) -> TopicWork:
    """The work in `text`; raises ValueError when it is not work this kopfka can carry out."""
    document = work_document(text, kind="topic", version=WORK_VERSION)
    try:
        return TopicWork(
            creates=tuple(
                TopicCreate(
                    name=_string(create["name"]),
                    partitions=_count_or_none(create["partitions"]),
                    replication_factor=_count(create["replicationFactor"]),
                    config=_strings(create["config"]),
                )
                for create in document["creates"]
            ),
            partition_increases={
                _string(name): _count(count)
                for name, count in document["partitionIncreases"].items()
            },
            config_changes={
                _string(name): ConfigChange(
                    to_set=_strings(change["set"]),
                    to_delete=tuple(_string(key) for key in change["delete"]),
                )
                for name, change in document["configChanges"].items()
            },
            deletions=tuple(_string(name) for name in document["deletions"]),
        )
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"the topic work is malformed: {error!r}") from error


def work_file(work: TopicPlan | TopicWork) -> bytes:
    """The work as the ConfigMap carries it: gzip-compressed JSON, the same bytes for the same
    work (no timestamp), so that an unchanged plan writes nothing."""
    return compressed(work_to_json(work))


def read_work_file(data: bytes) -> TopicWork:
    """The work from the mounted file, gzip-compressed or plain JSON."""
    return work_from_json(work_text(data))


@dataclass(frozen=True)
class Outcome:
    """How one change to one topic went: Kafka's error, or None when it was done."""

    topic: str
    action: str
    error: TopicError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Summary:
    outcomes: int
    failed: int
    seconds: float


@dataclass(frozen=True)
class BatchLog:
    """What a topic Job's log says: the outcomes, and the summary if the Job got to the end."""

    outcomes: tuple[Outcome, ...]
    summary: Summary | None

    @property
    def complete(self) -> bool:
        """The whole work was carried out, and every outcome is in the log."""
        return self.summary is not None and self.summary.outcomes == len(self.outcomes)


def outcome_line(outcome: Outcome) -> str:
    line: dict[str, Any] = {"topic": outcome.topic, "action": outcome.action, "ok": outcome.ok}
    if outcome.error is not None:
        line["error"] = outcome.error.code
        line["message"] = outcome.error.message
    return json.dumps(line, separators=(",", ":"), ensure_ascii=False)


def summary_line(outcomes: Iterable[Outcome], *, seconds: float) -> str:
    done = list(outcomes)
    summary = {
        "version": OUTCOMES_VERSION,
        "outcomes": len(done),
        "failed": sum(1 for outcome in done if not outcome.ok),
        "seconds": round(seconds, 3),
    }
    return json.dumps({"summary": summary}, separators=(",", ":"))


def read_batch_log(text: str) -> BatchLog:
    """The outcome and summary lines of a Job's log; every other line is skipped."""
    outcomes: list[Outcome] = []
    summary: Summary | None = None
    for line in text.splitlines():
        entry = json_object(line)
        if entry is None:
            continue
        if isinstance(entry.get("summary"), dict):
            summary = _summary(entry["summary"]) or summary
        elif isinstance(entry.get("topic"), str) and entry.get("action") in ACTIONS:
            error = None
            if not entry.get("ok"):
                error = TopicError(str(entry.get("error")), str(entry.get("message")))
            outcomes.append(Outcome(entry["topic"], entry["action"], error))
    return BatchLog(tuple(outcomes), summary)


def _summary(found: dict[str, Any]) -> Summary | None:
    try:
        return Summary(int(found["outcomes"]), int(found["failed"]), float(found["seconds"]))
    except (KeyError, TypeError, ValueError):
        return None


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, found {value!r}")
    return value


def _count(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise TypeError(f"expected a positive whole number, found {value!r}")
    return value


def _count_or_none(value: object) -> int | None:
    return None if value is None else _count(value)


def _strings(values: object) -> dict[str, str]:
    if not isinstance(values, dict):
        raise TypeError(f"expected an object of strings, found {values!r}")
    return {_string(key): _string(value) for key, value in values.items()}
