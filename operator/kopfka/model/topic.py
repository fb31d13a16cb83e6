"""A KafkaTopic spec as a typed, validated object, and its checks against the cluster it names."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kopfka.model import kafka_config, schema
from kopfka.model.cluster import ClusterSpec
from kopfka.model.defaults import apply_defaults
from kopfka.model.errors import SpecError

_TOPIC_NAME = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")


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
    raw = apply_defaults(dict(spec), schema.topic_spec())
    problems: list[str] = []
    topic_name = str(raw.get("topicName") or name)
    if not _TOPIC_NAME.match(topic_name) or topic_name in {".", ".."}:
        problems.append(
            f"topic name {topic_name!r} is not valid in Kafka: use at most 249 letters, digits, "
            "'.', '_' or '-' (set spec.topicName)"
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
    """Problems that only show once the topic's cluster is known."""
    problems: list[str] = []
    factor = effective_replication_factor(topic, cluster)
    if factor > cluster.broker_count:
        problems.append(
            f"replicationFactor {factor} exceeds the {cluster.broker_count} "
            f"broker{'s' if cluster.broker_count != 1 else ''} of cluster {cluster.name}"
        )
    min_isr = topic.config.get("min.insync.replicas")
    if min_isr is not None and min_isr.isdigit() and int(min_isr) > factor:
        problems.append(
            f"config min.insync.replicas {min_isr} exceeds replicationFactor {factor}: "
            "acks=all writes would always fail"
        )
    return problems
