"""Kafka's rules in Python: values per type and validator, rules across settings, plugins.

Tables of cases against the committed config tables of the default Kafka version; the Kafka tier
holds the same code to Kafka's own validation over generated configs.
"""

from __future__ import annotations

import pytest

from kopfka.model import kafka_config, kafka_rules

VERSION = kafka_config.DEFAULT_KAFKA_VERSION


def problem(key: str, value: str) -> str | None:
    return kafka_config.check_setting(kafka_config.server_settings(VERSION), VERSION, key, value)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("num.partitions", "6"),
        ("num.partitions", " 6 "),
        ("log.retention.ms", "-1"),
        ("auto.create.topics.enable", "FALSE"),
        ("compression.type", "zstd"),
        ("compression.gzip.level", "-1"),
        ("log.cleaner.min.cleanable.ratio", "0.75"),
        ("log.cleanup.policy", "compact,delete"),
        ("group.consumer.assignors", "range"),
        ("replica.selector.class", "org.apache.kafka.common.replica.RackAwareReplicaSelector"),
        ("kafka.metrics.reporters", ""),
        ("metric.reporters", ""),
        ("message.max.bytes", "1048588"),
        ("log.cleanup.policy", "compact ,\tdelete"),
    ],
)
def test_values_kafka_accepts_pass(key: str, value: str) -> None:
    assert problem(key, value) is None


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("num.partitions", "0", "must be at least 1"),
        ("num.partitions", "1.5", "must be a whole number"),
        ("num.partitions", "٣", "must be a whole number"),
        ("num.partitions", "1_000", "must be a whole number"),
        ("num.partitions", "99999999999", "out of range for a Java int"),
        ("auto.create.topics.enable", "yes", "must be true or false"),
        ("compression.type", "brotli", "must be one of"),
        ("compression.gzip.level", "0", "must be one of -1, 1, 2"),
        ("log.cleaner.min.cleanable.ratio", "NaN", "must be a number"),
        ("log.cleanup.policy", "compact,purge", "items must be among"),
        ("log.retention.hour", "5", "is not a setting of Kafka"),
        ("Log.Dirs", "/x", "is not a Kafka setting name"),
        ("log.dirs ", "/x", "is not a Kafka setting name"),
        ("principal.builder.class", "com.example.B", "names a Java class"),
        ("metric.reporters", "com.example.Reporter", "names plugins"),
        ("group.consumer.assignors", "com.example.Assignor", "names plugins"),
        ("log.retention.ms", "\ud800", "lone UTF-16 surrogate"),
        # Java's trim stops at U+0020; lists split on ASCII white space only.
        ("compression.type", "\xa0zstd", "must be one of"),
        ("log.cleanup.policy", "compact,\x01delete", "items must be among"),
        ("metric.reporters", "\xa0", "names plugins"),
    ],
)
def test_values_kafka_refuses_are_refused_with_a_reason(
    key: str, value: str, expected: str
) -> None:
    refusal = problem(key, value)
    assert refusal is not None
    assert expected in refusal


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, []),
        (
            {"group.consumer.heartbeat.interval.ms": "60000"},
            [
                "group.consumer.heartbeat.interval.ms (60000) must be at most "
                "group.consumer.max.heartbeat.interval.ms (15000)",
                "group.consumer.heartbeat.interval.ms (60000) must be below "
                "group.consumer.session.timeout.ms (45000)",
            ],
        ),
        (
            {"replica.fetch.wait.max.ms": "40000"},
            [
                "replica.fetch.wait.max.ms (40000) must be at most replica.lag.time.max.ms (30000)",
                "replica.socket.timeout.ms (30000) must be at least replica.fetch.wait.max.ms",
            ],
        ),
        ({"log.cleaner.threads": "8", "log.cleaner.dedupe.buffer.size": "4194304"}, ["1 MiB"]),
        ({"log.retention.ms": "0"}, ["log.retention.ms"]),
        ({"log.retention.hours": "-1"}, []),
        ({"group.coordinator.rebalance.protocols": "consumer"}, ["must include classic"]),
        (
            {"queued.max.request.bytes": "1024"},
            ["queued.max.request.bytes (1024) must be at least"],
        ),
        ({"max.connections.per.ip": "0"}, ["max.connections.per.ip can be 0 only"]),
        (
            {"max.connections.per.ip": "0", "max.connections.per.ip.overrides": "10.0.0.1:5"},
            [],
        ),
        ({"remote.log.storage.system.enable": "true"}, ["tiered storage needs"]),
        ({"max.connections.per.ip.overrides": "\xa0"}, ["<host or IP>:<count>"]),
        ({"max.connections.per.ip.overrides": "10.0.0.1:5,,10.0.0.2:5"}, ["<host or IP>:<count>"]),
    ],
)
def test_rules_across_settings(config: dict[str, str], expected: list[str]) -> None:
    problems = kafka_rules.server_problems(VERSION, config)
    assert len(problems) == len(expected), problems
    for found, part in zip(problems, expected, strict=True):
        assert part in found


def test_topic_rules_take_the_clusters_value_as_the_default() -> None:
    topic = {"min.compaction.lag.ms": "5000"}
    assert kafka_rules.topic_problems(VERSION, topic, {}) == []
    cluster = {"log.cleaner.max.compaction.lag.ms": "1000"}
    assert kafka_rules.topic_problems(VERSION, topic, cluster) == [
        "min.compaction.lag.ms (5000) must be at most max.compaction.lag.ms (1000)"
    ]


@pytest.mark.parametrize("version", kafka_config.SUPPORTED_KAFKA_VERSIONS)
def test_replication_defaults_exist_in_each_version(version: str) -> None:
    known = kafka_config.server_settings(version)
    assert set(kafka_config.replication_defaults(version, 1)) <= set(known)
    assert kafka_config.replication_defaults(version, 1)["min.insync.replicas"] == "1"
