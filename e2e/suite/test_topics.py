"""KafkaTopics on a real node, the whole loop: KafkaTopic -> the operator plans from Kafka -> a
topic Job (a real pod of the operator image) changes Kafka -> the status says what Kafka has.

The tests run in file order on one small cluster (one combined node), and check Kafka itself with
Kafka's own tools in a client pod, never only the statuses kopfka writes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from e2e.suite.conftest import NAMESPACE
from e2e.suite.kafka_client import KafkaClient
from tests.support.clusters import wait_condition, wait_ready
from tests.support.kube import Obj, TestKube, condition
from tests.support.manifests import COMBINED_EPHEMERAL, kafka_cluster, kafka_topic
from tests.support.waiting import wait_for

CLUSTER = "topics"
VERSION = "4.4.0"  # the broker image the e2e node has (broker-image/versions.env)
READY_TIMEOUT = 300.0
# A topic Job's pod starts, runs and is read back, then the next sync reads Kafka.
TOPIC_TIMEOUT = 180.0
# The suite's operator compares every cluster's topics with Kafka every 10 s (conftest).
DRIFT_TIMEOUT = 120.0
FINALIZER = "kopfka.dev/delete-topic"
JOB_LABELS = {"app.kubernetes.io/component": "topic-job", "kopfka.dev/cluster": CLUSTER}


def _spec(**fields: Any) -> dict[str, Any]:
    return {"cluster": CLUSTER, **fields}


@pytest.fixture(scope="module")
def client(kube: TestKube, operator: str, namespace: str) -> Iterator[KafkaClient]:
    spec = {
        **COMBINED_EPHEMERAL,
        "kafka": {"version": VERSION},
        "controllers": {
            **COMBINED_EPHEMERAL["controllers"],
            "resources": {
                "requests": {"cpu": "100m", "memory": "768Mi"},
                "limits": {"memory": "768Mi"},
            },
        },
    }
    kube.apply(kafka_cluster(CLUSTER, namespace, spec))
    wait_ready(kube, CLUSTER, namespace, timeout=READY_TIMEOUT)
    found = KafkaClient(
        kube, namespace, bootstrap=f"{CLUSTER}-kafka-bootstrap.{namespace}.svc:9092"
    )
    found.start(f"kopfka/kafka:{VERSION}")
    yield found
    kube.kubectl("delete", "kafkatopics", "--all", "-n", namespace, "--wait=false")
    kube.kubectl("delete", "kafkacluster", CLUSTER, "-n", namespace, "--wait=false")


def _topic(kube: TestKube, name: str) -> Obj:
    return kube.must_get("kopfka.dev/v1alpha1", "KafkaTopic", name, NAMESPACE)


def _ready(kube: TestKube, name: str) -> Obj:
    return wait_condition(
        kube, "KafkaTopic", name, NAMESPACE, type="Ready", status="True", timeout=TOPIC_TIMEOUT
    )


class _Reasons(threading.Thread):
    """Every version of one KafkaTopic the API server sends a watch, from before it exists: the
    Ready reason each carried ('' for none)."""

    def __init__(self, kube: TestKube, name: str) -> None:
        super().__init__(daemon=True)
        self.name = name
        self.seen: list[str] = []
        self.stop = threading.Event()
        self.resource = kube.dynamic.resources.get(
            api_version="kopfka.dev/v1alpha1", kind="KafkaTopic"
        )
        self.version = self.resource.get(namespace=NAMESPACE).metadata.resourceVersion

    def run(self) -> None:
        while not self.stop.is_set():
            for event in self.resource.watch(
                namespace=NAMESPACE,
                field_selector=f"metadata.name={self.name}",
                resource_version=self.version,
                timeout=2,
            ):
                obj = event["raw_object"]
                self.version = obj["metadata"]["resourceVersion"]
                ready = condition(obj, "Ready")
                self.seen.append(ready["reason"] if ready else "")

    def reasons(self) -> list[str]:
        self.stop.set()
        self.join(timeout=30)
        return self.seen


def test_kafka_topics_are_made_by_a_job_and_report_what_kafka_has(
    kube: TestKube, client: KafkaClient
) -> None:
    # a.b exists in Kafka: Kafka refuses a_b (the two collide in its metric names), which kopfka
    # cannot know; the other topics of the same Job are made all the same.
    client.create_topic("a.b", partitions=1, replicas=1, min_isr=1)
    watch = _Reasons(kube, "orders")
    watch.start()
    kube.apply(
        kafka_topic("orders", NAMESPACE, _spec(partitions=3, config={"retention.ms": 3600000})),
        kafka_topic("payments", NAMESPACE, _spec(partitions=2)),
        kafka_topic("clash", NAMESPACE, _spec(topicName="a_b")),
    )
    orders = _ready(kube, "orders")
    status = orders["status"]
    assert status["observedGeneration"] == orders["metadata"]["generation"]
    assert condition(orders, "Ready")["reason"] == "InSync"  # type: ignore[index]
    assert (status["topicName"], status["partitions"], status["replicationFactor"]) == (
        "orders",
        3,
        1,
    )
    assert status["config"] == {"retention.ms": "3600000"}
    assert status["topicId"] == client.topic_id("orders")
    assert len(client.describe("orders")) == 3
    assert client.topic_configs("orders") == {"retention.ms": "3600000"}
    assert _ready(kube, "payments")["status"]["partitions"] == 2
    # A new KafkaTopic's first status is Kafka's answer: one status write, not Creating first.
    seen = watch.reasons()
    assert [reason for reason in seen if reason] == ["InSync"], seen

    clash = wait_condition(
        kube,
        "KafkaTopic",
        "clash",
        NAMESPACE,
        type="Ready",
        status="False",
        reason="KafkaError",
        timeout=TOPIC_TIMEOUT,
    )
    message = condition(clash, "Ready")["message"]  # type: ignore[index]
    assert "Kafka refused to create topic 'a_b': INVALID_TOPIC: " in message, message
    assert "collides" in message, message
    assert "a_b" not in client.topics()

    # The work ran as Jobs the user can see, from the operator's image, with no API token.
    jobs = kube.list("batch/v1", "Job", NAMESPACE, labels=JOB_LABELS)
    assert jobs, "no topic Job was kept for the user to inspect"
    for job in jobs:
        pod_spec = job["spec"]["template"]["spec"]
        assert pod_spec["automountServiceAccountToken"] is False
        assert pod_spec["containers"][0]["args"][0] == "topics-apply"
    events = [
        event["reason"]
        for event in kube.list("v1", "Event", NAMESPACE)
        if event["involvedObject"]["name"] == CLUSTER
    ]
    assert "TopicJobStarted" in events


def test_a_changed_spec_grows_partitions_and_resets_configs_and_drift_in_kafka_is_undone(
    kube: TestKube, client: KafkaClient
) -> None:
    kube.merge_patch(
        "kopfka.dev/v1alpha1",
        "KafkaTopic",
        "orders",
        NAMESPACE,
        {"spec": {"partitions": 6, "config": {"retention.ms": None, "cleanup.policy": "compact"}}},
    )
    orders = wait_for(
        lambda: _in_sync_with(kube, "orders", partitions=6),
        timeout=TOPIC_TIMEOUT,
        what="orders to report 6 partitions for its new generation",
        describe=lambda: str(_topic(kube, "orders").get("status")),
    )
    assert orders["status"]["config"] == {"cleanup.policy": "compact"}
    assert len(client.describe("orders")) == 6
    assert client.topic_configs("orders") == {"cleanup.policy": "compact"}

    # Someone changes the topic in Kafka directly: the spec owns its configs, and wins.
    client.alter_topic_configs("orders", add="segment.ms=600000,cleanup.policy=delete")
    wait_for(
        lambda: client.topic_configs("orders") == {"cleanup.policy": "compact"},
        timeout=DRIFT_TIMEOUT,
        interval=5.0,
        what="kopfka to set the configs of orders back to the spec",
        describe=lambda: str(client.topic_configs("orders")),
    )


def _in_sync_with(kube: TestKube, name: str, *, partitions: int) -> Obj | None:
    topic = _topic(kube, name)
    ready = condition(topic, "Ready")
    status = topic.get("status") or {}
    fresh = status.get("observedGeneration") == topic["metadata"]["generation"]
    if ready and ready["status"] == "True" and fresh and status.get("partitions") == partitions:
        return topic
    return None


def test_a_topic_made_in_kafka_first_is_adopted_keeping_its_id_and_brought_to_the_spec(
    kube: TestKube, client: KafkaClient
) -> None:
    client.create_topic("legacy", partitions=2, replicas=1, min_isr=1)
    before = client.topic_id("legacy")
    kube.apply(
        kafka_topic("legacy", NAMESPACE, _spec(partitions=4, config={"retention.ms": 86400000}))
    )
    legacy = wait_for(
        lambda: _in_sync_with(kube, "legacy", partitions=4),
        timeout=TOPIC_TIMEOUT,
        what="legacy to be adopted with 4 partitions",
        describe=lambda: str(_topic(kube, "legacy").get("status")),
    )
    assert legacy["status"]["topicId"] == before == client.topic_id("legacy")
    # Adoption makes the spec the whole truth: min.insync.replicas, which the spec does not name,
    # is back to the broker default.
    assert client.topic_configs("legacy") == {"retention.ms": "86400000"}


def test_deleting_kafkatopics_deletes_in_kafka_only_what_deletion_policy_says(
    kube: TestKube, client: KafkaClient
) -> None:
    kube.apply(kafka_topic("scratch", NAMESPACE, _spec(partitions=1, deletionPolicy="delete")))
    scratch = _ready(kube, "scratch")
    assert FINALIZER in scratch["metadata"]["finalizers"]
    assert "scratch" in client.topics()
    # retain (the default) holds no finalizer: its KafkaTopic goes at once, its topic stays.
    assert not _topic(kube, "payments")["metadata"].get("finalizers")

    kube.delete("kopfka.dev/v1alpha1", "KafkaTopic", "payments", NAMESPACE)
    kube.delete("kopfka.dev/v1alpha1", "KafkaTopic", "scratch", NAMESPACE)
    wait_for(
        lambda: kube.topic("scratch", NAMESPACE) is None,
        timeout=TOPIC_TIMEOUT,
        what="the KafkaTopic scratch to go once its topic is deleted",
        describe=lambda: str(kube.topic("scratch", NAMESPACE)),
    )
    assert kube.topic("payments", NAMESPACE) is None
    topics = client.topics()
    assert "scratch" not in topics
    assert "payments" in topics
