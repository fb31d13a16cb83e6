"""KafkaTopics get a clear condition about the cluster they name (topic Jobs come later)."""

from __future__ import annotations

from tests.support.clusters import wait_condition
from tests.support.kube import TestKube, condition
from tests.support.manifests import DEDICATED, kafka_cluster, kafka_topic
from tests.support.operator import TIER_TOPIC_RECHECK_INTERVAL, OperatorProcess

# The topic timer notices a cluster that appears later; a few intervals are plenty.
RECHECK_TIMEOUT = 60 + 5 * TIER_TOPIC_RECHECK_INTERVAL


def _ready_message(kube: TestKube, name: str, namespace: str) -> str:
    found = condition(kube.topic(name, namespace), "Ready")
    assert found is not None
    return str(found["message"])


def test_topic_conditions_follow_the_cluster(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    kube.apply(
        kafka_topic(
            "orders", namespace, {"cluster": "events", "partitions": 6, "replicationFactor": 3}
        ),
        kafka_topic(
            "wide", namespace, {"cluster": "events", "partitions": 1, "replicationFactor": 5}
        ),
    )
    for name in ("orders", "wide"):
        wait_condition(
            kube,
            "KafkaTopic",
            name,
            namespace,
            type="Ready",
            status="False",
            reason="ClusterNotFound",
        )
        assert _ready_message(kube, name, namespace) == (
            f"KafkaCluster events does not exist in namespace {namespace}"
        )

    # The cluster appears: each topic moves on to what is true of it now.
    kube.apply(kafka_cluster("events", namespace, DEDICATED))
    wait_condition(
        kube,
        "KafkaTopic",
        "orders",
        namespace,
        type="Ready",
        status="False",
        reason="Pending",
        timeout=RECHECK_TIMEOUT,
    )
    wait_condition(
        kube,
        "KafkaTopic",
        "wide",
        namespace,
        type="Ready",
        status="False",
        reason="InvalidSpec",
        timeout=RECHECK_TIMEOUT,
    )
    assert "replicationFactor 5 exceeds the 3 brokers of cluster events" in _ready_message(
        kube, "wide", namespace
    )
    orders = kube.topic("orders", namespace)
    assert orders is not None
    assert orders["status"]["topicName"] == "orders"
