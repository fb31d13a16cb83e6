"""KafkaTopics get a clear condition about the cluster they name, and about reaching its Kafka."""

from __future__ import annotations

from tests.support.clusters import wait_topic_reason
from tests.support.kube import TestKube, condition
from tests.support.manifests import DEDICATED, kafka_cluster, kafka_topic
from tests.support.operator import NO_KAFKA_REASON, TIER_TOPIC_RECHECK_INTERVAL, OperatorProcess
from tests.support.waiting import wait_for

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
        wait_topic_reason(kube, name, namespace, "ClusterNotFound")
        assert _ready_message(kube, name, namespace) == (
            f"KafkaCluster events does not exist in namespace {namespace}"
        )

    # The cluster appears: each topic moves on to what is true of it now.
    kube.apply(kafka_cluster("events", namespace, DEDICATED))
    wait_topic_reason(kube, "orders", namespace, NO_KAFKA_REASON, timeout=RECHECK_TIMEOUT)
    wait_topic_reason(kube, "wide", namespace, "InvalidSpec", timeout=RECHECK_TIMEOUT)
    assert "replicationFactor 5 exceeds the 3 brokers of cluster events" in _ready_message(
        kube, "wide", namespace
    )
    assert "cannot be reached" in _ready_message(kube, "orders", namespace)
    orders = kube.topic("orders", namespace)
    assert orders is not None
    # The name is recorded once a plan made from what Kafka has claims it (creating, adopting).
    assert "topicName" not in orders["status"]


def test_only_topics_kopfka_would_delete_hold_a_finalizer_released_when_the_cluster_goes(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    """`retain` (the default) needs no finalizer, so deleting such a KafkaTopic never waits for
    the operator; `delete` gets one, and it is released, with an Event, once the cluster whose
    Kafka would have deleted the topic is gone."""
    kube.apply(
        kafka_cluster("events", namespace, DEDICATED),
        kafka_topic("kept", namespace, {"cluster": "events"}),
        kafka_topic("doomed", namespace, {"cluster": "events", "deletionPolicy": "delete"}),
    )
    for name in ("kept", "doomed"):
        wait_topic_reason(kube, name, namespace, NO_KAFKA_REASON, timeout=RECHECK_TIMEOUT)

    def finalizers(name: str) -> list[str]:
        return list(
            (kube.topic(name, namespace) or {"metadata": {}})["metadata"].get("finalizers") or []
        )

    assert finalizers("kept") == []
    assert finalizers("doomed") == ["kopfka.dev/delete-topic"]

    # Kafka cannot be reached, so the topic cannot be deleted yet: the KafkaTopic waits.
    kube.delete("kopfka.dev/v1alpha1", "KafkaTopic", "doomed", namespace)
    doomed = kube.topic("doomed", namespace)
    assert doomed is not None
    assert doomed["metadata"].get("deletionTimestamp")
    assert finalizers("doomed") == ["kopfka.dev/delete-topic"]

    kube.delete("kopfka.dev/v1alpha1", "KafkaCluster", "events", namespace)
    wait_for(
        lambda: kube.topic("doomed", namespace) is None,
        timeout=RECHECK_TIMEOUT,
        what="the KafkaTopic to go once its cluster is gone",
        describe=lambda: str(kube.topic("doomed", namespace)),
    )
    released = [
        event
        for event in kube.list("v1", "Event", namespace)
        if event["involvedObject"]["name"] == "doomed" and event["reason"] == "FinalizerReleased"
    ]
    assert len(released) == 1, released
    assert released[0]["type"] == "Warning"
    assert "its Kafka topic was not deleted" in released[0]["message"]
    wait_topic_reason(kube, "kept", namespace, "ClusterNotFound", timeout=RECHECK_TIMEOUT)
