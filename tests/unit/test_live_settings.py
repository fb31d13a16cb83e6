"""Settings kopfka keeps live as Kafka's cluster-wide defaults, and the plan that gets them there:
the desired settings are exactly the dynamic part of what server.properties holds (size-aware
`min.insync.replicas` included, read-only settings never), and the planner sets what differs,
deletes only what kopfka set before, and compares values as Kafka reports them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from kopfka.model import kafka_config
from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.live_settings import (
    CLUSTER_DEFAULT_SOURCE,
    LivePlan,
    desired_cluster_defaults,
    plan_cluster_defaults,
    recorded_keys,
)
from kopfka.render.config import server_properties


@dataclass(frozen=True)
class Reported:
    value: str
    source: str = CLUSTER_DEFAULT_SOURCE


def cluster(config: Mapping[str, Any] | None = None, **spec: Any) -> ClusterSpec:
    kafka = {"config": dict(config)} if config else {}
    return parse_cluster(
        "events", "streaming", {"brokers": {"replicas": 3}, "kafka": kafka, **spec}
    )


def reported(**values: str) -> dict[str, Reported]:
    return {key.replace("_", "."): Reported(value) for key, value in values.items()}


# -- desired settings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(cluster(), {"min.insync.replicas": "2"}, id="size default, 3 brokers"),
        pytest.param(
            parse_cluster(
                "solo", "streaming", {"mode": "combined", "controllers": {"replicas": 1}}
            ),
            {"min.insync.replicas": "1"},
            id="size default, 1 combined node",
        ),
        pytest.param(
            cluster({"min.insync.replicas": 3, "default.replication.factor": 3}),
            {"min.insync.replicas": "3"},
            id="the user's value over the size default",
        ),
        pytest.param(
            cluster({"log.retention.ms": 3600000, "log.preallocate": True}),
            {"log.preallocate": "true", "log.retention.ms": "3600000", "min.insync.replicas": "2"},
            id="the user's dynamic settings, as server.properties writes them",
        ),
        pytest.param(
            cluster({"num.partitions": 6, "log.retention.check.interval.ms": 60000}),
            {"min.insync.replicas": "2"},
            id="read-only settings never",
        ),
    ],
)
def test_desired_settings(spec: ClusterSpec, expected: dict[str, str]) -> None:
    assert desired_cluster_defaults(spec) == expected


def test_read_only_and_size_settings_stay_out() -> None:
    desired = desired_cluster_defaults(cluster({"num.partitions": 6}))
    for key in ("num.partitions", "default.replication.factor", "offsets.topic.replication.factor"):
        assert not kafka_config.is_dynamic(kafka_config.DEFAULT_KAFKA_VERSION, key)
        assert key not in desired


def _settings(text: str) -> set[str]:
    return {line for line in text.splitlines() if line and not line.startswith("#")}


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"log.retention.ms": 3600000, "num.partitions": 6, "message.max.bytes": "2000000"},
        {"log.cleanup.policy": "compact, delete", "compression.type": "zstd"},
    ],
)
def test_desired_settings_are_the_live_part_of_server_properties(config: dict[str, Any]) -> None:
    """The same settings server.properties holds and the restart hash leaves out: kopfka keeps
    live exactly what it does not restart for."""
    spec = cluster(config)
    live_lines = _settings(server_properties(spec, spec.broker_pool)) - _settings(
        server_properties(spec, spec.broker_pool, dynamic=False)
    )
    assert live_lines == {f"{key}={value}" for key, value in desired_cluster_defaults(spec).items()}


# -- the planner ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("desired", "current", "managed", "expected"),
    [
        pytest.param(
            {"min.insync.replicas": "2", "log.retention.ms": "3600000"},
            reported(min_insync_replicas="2"),
            set(),
            LivePlan(to_set={"log.retention.ms": "3600000"}),
            id="set: a setting Kafka does not have",
        ),
        pytest.param(
            {"min.insync.replicas": "2"},
            reported(min_insync_replicas="2"),
            {"min.insync.replicas"},
            LivePlan(),
            id="unchanged: nothing to do",
        ),
        pytest.param(
            {"min.insync.replicas": "3"},
            reported(min_insync_replicas="2"),
            {"min.insync.replicas"},
            LivePlan(to_set={"min.insync.replicas": "3"}),
            id="changed: the value Kafka recorded at creation is replaced",
        ),
        pytest.param(
            {"min.insync.replicas": "2"},
            reported(min_insync_replicas="2", log_retention_ms="3600000"),
            {"min.insync.replicas", "log.retention.ms"},
            LivePlan(to_delete=("log.retention.ms",)),
            id="removed: a setting kopfka set and the spec no longer has",
        ),
        pytest.param(
            {"min.insync.replicas": "2"},
            reported(min_insync_replicas="2", log_retention_ms="3600000"),
            {"min.insync.replicas"},
            LivePlan(),
            id="a default set by hand outside kopfka stays",
        ),
        pytest.param(
            {"min.insync.replicas": "2"},
            {
                "min.insync.replicas": Reported("2"),
                "leader.replication.throttled.rate": Reported("1000"),
            },
            {"min.insync.replicas"},
            LivePlan(),
            id="a throttle Kafka's tools set stays",
        ),
        pytest.param(
            {"min.insync.replicas": "2"},
            reported(min_insync_replicas="2"),
            {"min.insync.replicas", "log.retention.ms"},
            LivePlan(),
            id="removed already: nothing to delete",
        ),
        pytest.param(
            {"min.insync.replicas": "2", "log.retention.ms": "7200000"},
            reported(min_insync_replicas="2", log_retention_ms="3600000", message_max_bytes="1"),
            {"min.insync.replicas", "log.retention.ms", "message.max.bytes"},
            LivePlan(to_set={"log.retention.ms": "7200000"}, to_delete=("message.max.bytes",)),
            id="set and delete in one plan",
        ),
        pytest.param(
            {"min.insync.replicas": "2"},
            {"min.insync.replicas": Reported("1", "STATIC_BROKER_CONFIG")},
            set(),
            LivePlan(to_set={"min.insync.replicas": "2"}),
            id="a value from another source is no cluster-wide default",
        ),
        pytest.param(
            {"min.insync.replicas": " 2\t"},
            reported(min_insync_replicas="2"),
            set(),
            LivePlan(),
            id="white space around a value: the tool trims it, as Kafka does",
        ),
        pytest.param(
            {"log.cleanup.policy": "compact, delete"},
            {"log.cleanup.policy": Reported("compact, delete")},
            set(),
            LivePlan(),
            id="a list as kopfka sent it",
        ),
        pytest.param(
            {"log.cleanup.policy": "compact,delete", "log.preallocate": "TRUE"},
            {
                "log.cleanup.policy": Reported("compact ,  delete"),
                "log.preallocate": Reported("true"),
            },
            set(),
            LivePlan(to_set={"log.cleanup.policy": "compact,delete", "log.preallocate": "TRUE"}),
            id="another spelling set by hand: written once more, as Kafka reports text",
        ),
        pytest.param(
            {"errors.deadletterqueue.topic.name.prefix": "dlq[1]", "min.insync.replicas": "2"},
            reported(min_insync_replicas="1"),
            set(),
            LivePlan(
                to_set={"min.insync.replicas": "2"},
                unsendable=("errors.deadletterqueue.topic.name.prefix",),
            ),
            id="a value the tool cannot carry is reported, not sent",
        ),
    ],
)
def test_plan(
    desired: dict[str, str],
    current: dict[str, Reported],
    managed: set[str],
    expected: LivePlan,
) -> None:
    plan = plan_cluster_defaults(desired, current, managed=managed)
    assert plan == expected
    assert plan.empty == (not expected.to_set and not expected.to_delete)


def test_a_plan_lists_keys_in_order() -> None:
    desired = {"b.key": "1", "a.key": "2", "c.key": "3"}
    current = reported(z_key="1", y_key="2")
    plan = plan_cluster_defaults(desired, current, managed={"z.key", "y.key"})
    assert list(plan.to_set) == ["a.key", "b.key", "c.key"]
    assert plan.to_delete == ("y.key", "z.key")


def test_the_spec_of_a_new_cluster_needs_no_change() -> None:
    """Kafka records the controllers' static min.insync.replicas at creation: the same value."""
    spec = cluster()
    current = reported(min_insync_replicas=spec.config["min.insync.replicas"])
    assert plan_cluster_defaults(desired_cluster_defaults(spec), current).empty


@pytest.mark.parametrize(
    ("desired", "current", "managed", "expected"),
    [
        pytest.param({"a": "1"}, {}, set(), {"a"}, id="what kopfka sets now"),
        pytest.param({}, reported(b="1"), {"b"}, {"b"}, id="set before, still to delete"),
        pytest.param({}, {}, {"b"}, set(), id="set before, gone"),
        pytest.param({}, reported(c="1"), set(), set(), id="set by hand"),
        pytest.param(
            {}, {"b": Reported("1", "DYNAMIC_BROKER_CONFIG")}, {"b"}, set(), id="not a default"
        ),
        pytest.param({"a": "[x]"}, {}, set(), set(), id="unsendable: never set"),
    ],
)
def test_recorded_keys(
    desired: dict[str, str],
    current: dict[str, Reported],
    managed: set[str],
    expected: set[str],
) -> None:
    assert recorded_keys(desired, current, managed=managed) == expected


def test_recorded_keys_make_the_next_plan_delete_a_removed_setting() -> None:
    """The round trip the operator makes: record, then plan with the record as `managed`."""
    before = {"log.retention.ms": "3600000", "min.insync.replicas": "2"}
    current = reported(log_retention_ms="3600000", min_insync_replicas="2")
    managed = recorded_keys(before, current)
    after = {"min.insync.replicas": "2"}
    plan = plan_cluster_defaults(after, current, managed=managed)
    assert plan == LivePlan(to_delete=("log.retention.ms",))
