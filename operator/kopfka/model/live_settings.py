"""Which Kafka settings kopfka applies to running brokers, and what to change to get there.

Settings Kafka applies dynamically cluster-wide (`kafka_config.is_dynamic`) are left out of the
restart hash, so a change to one restarts nothing; written only into server.properties, it would
reach no running broker. Worse, Kafka 4.x controllers record a cluster-level
`min.insync.replicas` when the cluster is made, and a cluster-level value wins over
server.properties, so the spec's value would never count, not even after restarts.

kopfka therefore keeps Kafka's cluster-wide dynamic defaults (the `--entity-default` of
`kafka-configs`) equal to these settings. This module is the pure half: the settings a spec
wants live, and the plan from what Kafka reports; render/settings_job.py runs the plan with
Kafka's own tool, and the kafka layer reads the defaults back (KafkaAdmin.cluster_defaults).

What kopfka removes. A default that the spec no longer has is deleted only if kopfka manages it:
its key is in `managed`, which the caller keeps in the KafkaCluster's status (`recorded_keys`
gives the value to keep there). Defaults set by hand with `kafka-configs` outside kopfka, and those
Kafka's own tools set (replication throttles), are never deleted: kopfka cannot know what they are
for. A key the spec sets is kopfka's from then on: its value follows the spec, whoever set it
before.

How values are compared. Kafka reports a cluster-wide default as the text it was sent, not
parsed (`TRUE`, `+002000` and `compact ,  delete` come back as such), and `kafka-configs` sends
a value trimmed as Java trims. So the plan compares Kafka's text with the trimmed text of the
spec: a value kopfka set compares equal from then on, and one set by hand with another spelling
of the same value (`true` for `TRUE`) is written once more, which changes nothing in Kafka.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from typing import Protocol

from kopfka.model import kafka_config
from kopfka.model.cluster import ClusterSpec
from kopfka.model.kafka_values import java_trim

# Where Kafka says a cluster-wide dynamic default comes from (ConfigEntry.ConfigSource).
CLUSTER_DEFAULT_SOURCE = "DYNAMIC_DEFAULT_BROKER_CONFIG"
# `kafka-configs --add-config` groups a value that holds commas in brackets, and removes every
# bracket from the value it sends: a value with a bracket cannot be sent through it unchanged.
UNSENDABLE_CHARACTERS = frozenset("[]")


class ReportedSetting(Protocol):
    """A setting as Kafka reports it (kopfka.kafka.facts.ConfigValue is one)."""

    @property
    def value(self) -> str: ...

    @property
    def source(self) -> str: ...


@dataclass(frozen=True)
class LivePlan:
    """Changes to Kafka's cluster-wide dynamic defaults, made in one request.

    `to_set`: key -> the text to send, sorted by key; `to_delete`: keys to remove, sorted.
    `unsendable`: keys the spec wants whose value `kafka-configs` cannot carry (a bracket): they
    are neither set nor deleted, and brokers read them from server.properties at their next start.
    """

    to_set: Mapping[str, str] = field(default_factory=dict)
    to_delete: tuple[str, ...] = ()
    unsendable: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """Nothing for a Job to do (unsendable keys are reported, not done)."""
        return not self.to_set and not self.to_delete


def desired_cluster_defaults(spec: ClusterSpec) -> dict[str, str]:
    """The settings kopfka keeps as Kafka's cluster-wide dynamic defaults: those of the cluster's
    settings (`spec.config`, the size-aware defaults under spec.kafka.config, the very settings
    render/config.py writes into server.properties) that Kafka applies live cluster-wide. It
    always holds `min.insync.replicas` for a cluster with brokers, since a size-aware default
    sets it."""
    return {
        key: value
        for key, value in sorted(spec.config.items())
        if kafka_config.is_dynamic(spec.version, key)
    }


def sent_text(value: str) -> str:
    """The text Kafka records for `value` sent through `kafka-configs --add-config`."""
    return java_trim(value)


def sendable(value: str) -> bool:
    return not UNSENDABLE_CHARACTERS & set(value)


def plan_cluster_defaults(
    desired: Mapping[str, str],
    current: Mapping[str, ReportedSetting],
    *,
    managed: Set[str] = frozenset(),
) -> LivePlan:
    """What to change so that Kafka's cluster-wide defaults hold `desired`.

    `current`: what Kafka reports (KafkaAdmin.cluster_defaults); entries from another source are
    not cluster-wide defaults and are ignored. `managed`: the keys kopfka set before (see the
    module's docstring); of those, the ones `desired` no longer has are deleted.
    """
    defaults = {
        key: setting.value
        for key, setting in current.items()
        if setting.source == CLUSTER_DEFAULT_SOURCE
    }
    to_set: dict[str, str] = {}
    unsendable: list[str] = []
    for key, value in sorted(desired.items()):
        if not sendable(value):
            unsendable.append(key)
        elif defaults.get(key) != sent_text(value):
            to_set[key] = sent_text(value)
    to_delete = tuple(sorted(key for key in managed if key in defaults and key not in desired))
    return LivePlan(to_set=to_set, to_delete=to_delete, unsendable=tuple(unsendable))


def recorded_keys(
    desired: Mapping[str, str],
    current: Mapping[str, ReportedSetting],
    *,
    managed: Set[str] = frozenset(),
) -> frozenset[str]:
    """The keys to keep as `managed` (in status): those kopfka sets now, and those it set before
    that Kafka still has (their deletion may still be to come). Safe to record before the Job
    runs: an operator that stops between the Job and the status write still knows its keys."""
    sets = {key for key, value in desired.items() if sendable(value)}
    still_there = {
        key for key in managed if key in current and current[key].source == CLUSTER_DEFAULT_SOURCE
    }
    return frozenset(sets | still_there)
