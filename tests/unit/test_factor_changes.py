"""Which replication factor changes a cluster's rebalance takes from its KafkaTopics
(live/rebalance.py factor_changes): those the topic sync left to it, for the spec it judged."""

from __future__ import annotations

from typing import Any

from kopfka.live.rebalance import factor_changes
from kopfka.topics.plan import REPLICATION_FACTOR_CHANGING, UPDATING


def topic(
    name: str,
    *,
    factor: int | None = 3,
    reason: str = REPLICATION_FACTOR_CHANGING,
    generation: int = 2,
    observed: int = 2,
    topic_name: str | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"cluster": "events"}
    if factor is not None:
        spec["replicationFactor"] = factor
    status: dict[str, Any] = {
        "observedGeneration": observed,
        "conditions": [{"type": "Ready", "status": "False", "reason": reason}],
    }
    if topic_name is not None:
        status["topicName"] = topic_name
    return {
        "metadata": {"name": name, "namespace": "streaming", "generation": generation},
        "spec": spec,
        "status": status,
    }


def test_the_changes_the_topic_sync_left_to_the_rebalance_by_kafka_topic_name() -> None:
    topics = [
        topic("orders", factor=3, topic_name="orders.v1"),
        topic("audit", factor=1, topic_name="audit"),
    ]
    assert factor_changes(topics) == {"audit": 1, "orders.v1": 3}


def test_other_reasons_a_newer_spec_and_topics_without_a_name_are_left_out() -> None:
    topics = [
        topic("updating", reason=UPDATING, topic_name="updating"),
        # The spec changed since the sync judged it: the next sync says what the new one needs.
        topic("edited", generation=3, observed=2, topic_name="edited"),
        topic("unnamed"),
        {"metadata": {"name": "new", "generation": 1}, "spec": {"replicationFactor": 3}},
    ]
    assert factor_changes(topics) == {}
