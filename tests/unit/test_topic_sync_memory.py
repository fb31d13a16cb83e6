"""What a topic sync takes from what it saw before instead of asking again: the configs a settled
KafkaTopic's status recorded (so that a sync of thousands of topics asks Kafka only about the
ones that changed), and specs parsed for a generation (parsed again when it or the cluster
changes)."""

from __future__ import annotations

from typing import Any

from kopfka.model.cluster import parse_cluster
from kopfka.topics.sync import Specs, settled_configs

CLUSTER = parse_cluster("events", "streaming", {"brokers": {"replicas": 3}})


def topic(
    name: str,
    *,
    generation: int = 1,
    observed: int | None = 1,
    ready: str = "True",
    config: Any = None,
    deleting: bool = False,
    spec: dict[str, Any] | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": "streaming",
        "uid": f"uid-{name}",
        "generation": generation,
    }
    if deleting:
        metadata["deletionTimestamp"] = "2026-11-26T12:00:00Z"
    status: dict[str, Any] = {
        "conditions": [{"type": "Ready", "status": ready, "reason": "InSync"}],
        "topicName": name,
        "config": {} if config is None else config,
    }
    if observed is not None:
        status["observedGeneration"] = observed
    return {
        "metadata": metadata,
        "spec": spec or {"cluster": "events", "partitions": 3},
        "status": status,
    }


def test_only_kafkatopics_ready_for_their_generation_vouch_for_their_topics_configs() -> None:
    bodies = [
        topic("settled", config={"retention.ms": "60000"}),
        topic("no-overrides"),
        topic("spec-changed", generation=2, observed=1, config={"retention.ms": "1"}),
        topic("not-ready", ready="False", config={"retention.ms": "2"}),
        topic("being-deleted", deleting=True, config={"retention.ms": "3"}),
        topic("never-written", observed=None),
    ]
    bodies.append({"metadata": {"name": "new", "uid": "uid-new", "generation": 1}, "spec": {}})
    assert settled_configs(bodies) == {"settled": {"retention.ms": "60000"}, "no-overrides": {}}


def test_a_status_without_configs_vouches_for_nothing() -> None:
    body = topic("old")
    del body["status"]["config"]
    assert settled_configs([body]) == {}


def test_a_spec_is_parsed_once_per_generation() -> None:
    specs = Specs(cluster_generation=1)
    body = topic("orders", spec={"cluster": "events", "partitions": 3})
    first = specs.parsed(body, CLUSTER)
    assert specs.parsed(body, CLUSTER) is first

    changed = topic("orders", generation=2, spec={"cluster": "events", "partitions": 6})
    again = specs.parsed(changed, CLUSTER)
    assert again is not first
    assert again[0].partitions == 6  # type: ignore[union-attr]


def test_an_invalid_spec_is_remembered_with_its_reason() -> None:
    body = topic("bad", spec={"cluster": "events", "partitions": 0})
    reason, message = specs_of(body)
    assert reason == "InvalidSpec"
    assert "partitions" in str(message)


def test_a_spec_that_breaks_a_rule_of_its_cluster_keeps_the_problem() -> None:
    body = topic("wide", spec={"cluster": "events", "replicationFactor": 5})
    spec, problems = specs_of(body)
    assert spec.replication_factor == 5
    assert "replicationFactor 5 exceeds the 3 brokers of cluster events" in problems


def test_kafkatopics_that_are_gone_are_forgotten() -> None:
    specs = Specs(cluster_generation=1)
    specs.parsed(topic("a"), CLUSTER)
    specs.parsed(topic("b"), CLUSTER)
    specs.keep_only({"uid-b"})
    assert set(specs.by_uid) == {"uid-b"}


def specs_of(body: dict[str, Any]) -> Any:
    return Specs(cluster_generation=1).parsed(body, CLUSTER)
