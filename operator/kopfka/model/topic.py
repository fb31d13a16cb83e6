"""A KafkaTopic spec as a typed, validated object, and its checks against the cluster it names."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kopfka.model import kafka_config, kafka_rules, schema, validation
from kopfka.model.cluster import ClusterSpec
from kopfka.model.defaults import apply_defaults
from kopfka.model.errors import SpecError
from kopfka.model.kafka_values import java_trim

_TOPIC_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")
INTERNAL_PREFIX = "__"
# Replication throttles: the operator's rebalances set and clear them.
OWNED_TOPIC_KEYS = frozenset(
    {"leader.replication.throttled.replicas", "follower.replication.throttled.replicas"}
)


@dataclass(frozen=True)
class TopicSpec:
    resource_name: str
    cluster: str
    topic_name: str
    partitions: int | None
    replication_factor: int | None
    config: Mapping[str, str]
    deletion_policy: str


def parse_topic(name: str, spec: Mapping[str, Any]) -> TopicSpec:
    """Default and validate a KafkaTopic spec on its own; raises SpecError listing every problem."""
    shape = schema.topic_spec()
    raw = apply_defaults(dict(spec), shape)
    problems = validation.check(raw, shape, "spec")
    if problems:
        raise SpecError(problems)
    topic_name = str(raw.get("topicName") or name)
    if not _TOPIC_NAME.fullmatch(topic_name) or topic_name in {".", ".."}:
        problems.append(
            f"topic name {topic_name!r} is not valid in Kafka: use at most 249 letters, digits, "
            "'.', '_' or '-' (set spec.topicName)"
        )
    elif topic_name.startswith(INTERNAL_PREFIX):
        problems.append(
            f"topic name {topic_name!r} starts with {INTERNAL_PREFIX!r}, which Kafka keeps for "
            "its internal topics"
        )
    config: dict[str, str] = {}
    for key, value in sorted((raw.get("config") or {}).items()):
        if isinstance(value, dict | list) or value is None:
            problems.append(f"spec.config.{key} must be a string, number or boolean")
        else:
            config[key] = kafka_config.format_value(value)
    if problems:
        raise SpecError(problems)
    return TopicSpec(
        resource_name=name,
        cluster=str(raw["cluster"]),
        topic_name=topic_name,
        partitions=raw.get("partitions"),
        replication_factor=raw.get("replicationFactor"),
        config=config,
        deletion_policy=str(raw["deletionPolicy"]),
    )


def effective_replication_factor(topic: TopicSpec, cluster: ClusterSpec) -> int:
    if topic.replication_factor is not None:
        return topic.replication_factor
    return int(cluster.config["default.replication.factor"])


def check_against_cluster(topic: TopicSpec, cluster: ClusterSpec) -> list[str]:
    """Problems that only show once the topic's cluster (its size, its Kafka version) is known."""
    problems: list[str] = []
    settings = kafka_config.topic_settings(cluster.version)
    for key, value in topic.config.items():
        if key in OWNED_TOPIC_KEYS:
            problems.append(f"spec.config.{key} is set by the operator while it moves replicas")
            continue
        problem = kafka_config.check_setting(settings, cluster.version, key, value)
        if problem:
            problems.append(f"spec.config.{key} {problem}")
    if not problems:
        problems.extend(
            f"spec.config.{problem}"
            for problem in kafka_rules.topic_problems(cluster.version, topic.config, cluster.config)
        )
    factor = effective_replication_factor(topic, cluster)
    if factor > cluster.broker_count:
        problems.append(
            f"replicationFactor {factor} exceeds the {cluster.broker_count} "
            f"broker{'s' if cluster.broker_count != 1 else ''} of cluster {cluster.name}"
        )
    own_min_isr = topic.config.get("min.insync.replicas")
    min_isr = java_trim(own_min_isr or cluster.config["min.insync.replicas"])
    if re.fullmatch(r"[0-9]+", min_isr) and int(min_isr) > factor:
        where = "config" if own_min_isr else f"cluster {cluster.name}:"
        problems.append(
            f"{where} min.insync.replicas {min_isr} exceeds replicationFactor {factor}: "
            "acks=all writes would always fail"
        )
    return problems
