"""Kafka's rules across settings, which its per-setting validators do not express.

Kafka checks these when a node starts (`KafkaConfig`, the group coordinator's and share group's
configs) and when a topic is created (`LogConfig`): a heartbeat interval below its session timeout,
a fetch wait below the replica lag time, a compaction lag minimum below its maximum. Each rule here
is one of those checks, found in the Kafka jars of the supported versions; the Kafka tier runs
Kafka's own validation over generated configs that the model accepts, so a rule missing here shows
up as a failing test (tests/kafka/test_accepted_configs.py).

A setting the user leaves out takes Kafka's default (from the config table), and a topic setting
takes its cluster's value of the broker setting it defaults to, as Kafka does.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from kopfka.model import kafka_config
from kopfka.model.kafka_values import java_list, java_trim

# A setting's value as text (given or Kafka's default), None when the version has no such setting
# or it has no value.
Lookup = Callable[[str], str | None]

_OPERATORS: dict[str, tuple[Callable[[Decimal, Decimal], bool], str]] = {
    "<": (operator.lt, "must be below"),
    "<=": (operator.le, "must be at most"),
    ">=": (operator.ge, "must be at least"),
}


@dataclass(frozen=True)
class Compare:
    """`left op right`, both settings; skipped when a setting does not exist in the version."""

    left: str
    op: str
    right: str
    # Only when this holds (e.g. a limit that is off when negative).
    when: Callable[[Lookup], bool] | None = None

    def problem(self, value: Lookup) -> str | None:
        left, right = number(value(self.left)), number(value(self.right))
        if left is None or right is None or (self.when is not None and not self.when(value)):
            return None
        holds, words = _OPERATORS[self.op]
        if holds(left, right):
            return None
        return f"{self.left} ({left}) {words} {self.right} ({right})"


@dataclass(frozen=True)
class Check:
    """A rule that is not a comparison of two settings, with its own message."""

    keys: tuple[str, ...]
    holds: Callable[[Lookup], bool]
    message: str

    def problem(self, value: Lookup) -> str | None:
        if any(value(key) is None for key in self.keys):
            return None
        return None if self.holds(value) else self.message


Rule = Compare | Check


def _within(prefix: str, name: str) -> list[Rule]:
    """`<prefix>.min.<name> <= <prefix>.<name> <= <prefix>.max.<name>`, as Kafka checks them."""
    low, value, high = f"{prefix}.min.{name}", f"{prefix}.{name}", f"{prefix}.max.{name}"
    return [Compare(high, ">=", low), Compare(value, ">=", low), Compare(value, "<=", high)]


def _group_rules() -> list[Rule]:
    rules: list[Rule] = []
    for group in ("group.consumer", "group.share", "group.streams"):
        for name in ("heartbeat.interval.ms", "session.timeout.ms", "assignment.interval.ms"):
            rules += _within(group, name)
        rules.append(Compare(f"{group}.heartbeat.interval.ms", "<", f"{group}.session.timeout.ms"))
    rules += [
        Compare("group.streams.num.standby.replicas", "<=", "group.streams.max.standby.replicas"),
        Compare(
            "group.streams.task.offset.interval.ms",
            ">=",
            "group.streams.min.task.offset.interval.ms",
        ),
        Compare("group.streams.num.warmup.replicas", "<=", "group.streams.max.warmup.replicas"),
        Compare("group.min.session.timeout.ms", "<=", "group.max.session.timeout.ms"),
    ]
    for name in ("delivery.count.limit", "partition.max.record.locks", "record.lock.duration.ms"):
        rules += _within("group.share", name)
    rules.append(Compare("group.share.max.share.sessions", ">=", "group.share.max.size"))
    return rules


def _compression_id(key: str) -> Check:
    """Kafka's compression type ids: none, gzip, snappy, lz4, zstd."""
    return Check(
        (key,),
        lambda value: number(value(key)) in {0, 1, 2, 3, 4},
        f"{key} must be a compression id: 0 (none), 1 (gzip), 2 (snappy), 3 (lz4) or 4 (zstd)",
    )


def _retention_ms(value: Lookup) -> Decimal | None:
    """log.retention.ms, else minutes, else hours, in ms; negative means unlimited (-1)."""
    for key, factor in (
        ("log.retention.ms", 1),
        ("log.retention.minutes", 60_000),
        ("log.retention.hours", 3_600_000),
    ):
        amount = number(value(key))
        if amount is not None:
            return Decimal(-1) if amount < 0 else amount * factor
    return None


SERVER_RULES: tuple[Rule, ...] = (
    *_group_rules(),
    Compare("replica.fetch.wait.max.ms", "<=", "replica.lag.time.max.ms"),
    Compare("replica.socket.timeout.ms", ">=", "replica.fetch.wait.max.ms"),
    Compare("connection.failed.authentication.delay.ms", "<", "connections.max.idle.ms"),
    Compare(
        "queued.max.request.bytes",
        ">=",
        "socket.request.max.bytes",
        when=lambda value: (number(value("queued.max.request.bytes")) or 0) > 0,
    ),
    Check(
        ("log.cleaner.dedupe.buffer.size", "log.cleaner.threads"),
        lambda value: (
            _ratio(value, "log.cleaner.dedupe.buffer.size", "log.cleaner.threads") >= 2**20
        ),
        "log.cleaner.dedupe.buffer.size must be at least 1 MiB per log.cleaner.threads",
    ),
    Check(
        ("log.retention.hours",),
        lambda value: _retention_ms(value) != 0,
        "log.retention.ms (or .minutes, .hours) must be -1 (unlimited) or at least 1 ms",
    ),
    Check(
        ("group.coordinator.rebalance.protocols",),
        lambda value: "classic" in _items(value("group.coordinator.rebalance.protocols")),
        "group.coordinator.rebalance.protocols must include classic",
    ),
    Check(
        ("remote.log.storage.system.enable",),
        lambda value: not _true(value("remote.log.storage.system.enable")),
        "remote.log.storage.system.enable: tiered storage needs a remote storage plugin, which "
        "kopfka does not support yet",
    ),
    _compression_id("offsets.topic.compression.codec"),
    _compression_id("share.coordinator.state.topic.compression.codec"),
    Check(
        ("max.connections.per.ip.overrides",),
        lambda value: all(
            re.fullmatch(r"[^:\s]+:[0-9]+", item)
            for item in _items(value("max.connections.per.ip.overrides"))
        ),
        "max.connections.per.ip.overrides must be a list of <host or IP>:<count>",
    ),
    Check(
        ("group.streams.rack.aware.assignment.tags",),
        lambda value: _unique(_items(value("group.streams.rack.aware.assignment.tags"))),
        "group.streams.rack.aware.assignment.tags must not name a tag twice",
    ),
    Check(
        ("group.share.assignors",),
        lambda value: len(_items(value("group.share.assignors"))) == 1,
        "group.share.assignors must name exactly one assignor",
    ),
    Check(
        ("log.roll.jitter.ms",),
        lambda value: _at_least(number(value("log.roll.jitter.ms")), 0),
        "log.roll.jitter.ms must not be negative",
    ),
    Check(
        ("log.roll.ms",),
        lambda value: _at_least(number(value("log.roll.ms")), 1),
        "log.roll.ms must be at least 1",
    ),
    Check(
        ("max.connections.per.ip",),
        lambda value: (
            number(value("max.connections.per.ip")) != 0
            or bool(_items(value("max.connections.per.ip.overrides")))
        ),
        "max.connections.per.ip can be 0 only with max.connections.per.ip.overrides",
    ),
)

TOPIC_RULES: tuple[Rule, ...] = (
    Compare("min.compaction.lag.ms", "<=", "max.compaction.lag.ms"),
    Check(
        ("remote.storage.enable",),
        lambda value: not _true(value("remote.storage.enable")),
        "remote.storage.enable: tiered storage is off in the cluster",
    ),
)


def _ratio(value: Lookup, numerator: str, denominator: str) -> Decimal:
    top, bottom = number(value(numerator)), number(value(denominator))
    if top is None or bottom is None or bottom <= 0:
        return Decimal(0)
    return top / bottom


def number(text: str | None) -> Decimal | None:
    """A setting's text as a number, or None (no value, or not a number)."""
    if text is None:
        return None
    try:
        return Decimal(java_trim(text))
    except InvalidOperation:
        return None


def _at_least(amount: Decimal | None, low: int) -> bool:
    """Holds for no value (Kafka then uses another setting) and for `low` or more."""
    return amount is None or amount >= low


def _unique(items: list[str]) -> bool:
    return len(set(items)) == len(items)


def _items(text: str | None) -> list[str]:
    """A list setting's items as Kafka reads them, empty ones included."""
    return java_list(text or "")


def _true(text: str | None) -> bool:
    return java_trim(text or "").lower() == "true"


def server_problems(version: str, config: Mapping[str, str]) -> list[str]:
    """Kafka's cross-setting rules broken by `config` (the cluster's settings, all as text)."""
    settings = kafka_config.server_settings(version)

    def value(key: str) -> str | None:
        if key not in settings:
            return None
        return config.get(key, settings[key].default)

    return [problem for rule in SERVER_RULES if (problem := rule.problem(value))]


def topic_problems(
    version: str, topic_config: Mapping[str, str], cluster_config: Mapping[str, str]
) -> list[str]:
    """Kafka's cross-setting rules broken by a topic's config in a cluster with `cluster_config`."""
    topics = kafka_config.topic_settings(version)
    servers = kafka_config.server_settings(version)

    def value(key: str) -> str | None:
        setting = topics.get(key)
        if setting is None:
            return None
        if key in topic_config:
            return topic_config[key]
        broker_key = setting.server_default
        if broker_key is not None and broker_key in servers:
            return cluster_config.get(broker_key, servers[broker_key].default)
        return setting.default

    return [problem for rule in TOPIC_RULES if (problem := rule.problem(value))]
