"""Mutual TLS on the internal listeners (spec.internalListeners.tls) on the real node: a controller
and two brokers that talk to each other only over TLS, with the certificates kopfka issued into
the Secret they mount, form a cluster the operator reads (over TLS, with its own certificate)
and reports Ready; a KafkaTopic is made by a topic Job that mounts the operator's Secret; an
application's acks=all producer loses nothing with min.insync.replicas 2 (every write replicated
over TLS); a pod without the operator's certificate gets nothing from the internal listeners.

The tests run in file order on one small cluster of their own, and check Kafka with Kafka's own
tools from a client pod, not only the statuses kopfka writes.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from e2e.suite.kafka_client import KafkaClient
from tests.support.clusters import wait_condition, wait_ready
from tests.support.kube import TestKube
from tests.support.manifests import kafka_cluster, kafka_topic, one_controller

CLUSTER = "sealed"
TOPIC = "e2e-sealed"
VERSION = "4.4.0"  # the broker image the e2e node has (broker-image/versions.env)
READY_TIMEOUT = 300.0
# A topic Job's pod starts, runs and is read back, then the next sync reads Kafka.
TOPIC_TIMEOUT = 180.0
NODE = {
    "resources": {"requests": {"cpu": "100m", "memory": "768Mi"}, "limits": {"memory": "768Mi"}},
    "jvm": {"heap": "384Mi"},
    "storage": {"type": "ephemeral"},
}
JOB_LABELS = {"app.kubernetes.io/component": "topic-job", "kopfka.dev/cluster": CLUSTER}
# A client that gives up within seconds (the internal listeners will not answer it).
IMPATIENT = "request.timeout.ms=5000\ndefault.api.timeout.ms=10000\n"
TRUSTING = "security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location=/tmp/ca.crt\n"


@pytest.fixture(scope="module")
def cluster(kube: TestKube, operator: str, namespace: str) -> Iterator[str]:
    spec = {**one_controller(VERSION, 2, NODE), "internalListeners": {"tls": True}}
    kube.apply(kafka_cluster(CLUSTER, namespace, spec))
    wait_ready(kube, CLUSTER, namespace, timeout=READY_TIMEOUT)
    yield CLUSTER
    kube.kubectl("delete", "kafkatopics", "--all", "-n", namespace, "--wait=false")
    kube.kubectl("delete", "kafkacluster", CLUSTER, "-n", namespace, "--wait=false")


@pytest.fixture(scope="module")
def client(kube: TestKube, cluster: str, namespace: str) -> Iterator[KafkaClient]:
    """An application pod on the plaintext client listener, with the cluster CA's certificate
    (the Secret clients trust) in its environment."""
    pod = "sealed-client"
    client = KafkaClient(
        kube, namespace, bootstrap=f"{CLUSTER}-kafka-bootstrap.{namespace}.svc:9092", pod=pod
    )
    ca = {"secretKeyRef": {"name": f"{CLUSTER}-cluster-ca-cert", "key": "ca.crt"}}
    client.start(f"kopfka/kafka:{VERSION}", env=[{"name": "CA_CRT", "valueFrom": ca}])
    client.exec("sh", "-c", 'printf "%s" "$CA_CRT" > /tmp/ca.crt')
    write = 'printf "%s" "$1" > "$2"'
    client.exec("sh", "-c", write, "sh", IMPATIENT, "/tmp/plain.properties")
    client.exec("sh", "-c", write, "sh", TRUSTING + IMPATIENT, "/tmp/trusting.properties")
    yield client
    kube.kubectl("delete", "pod", pod, "-n", namespace, "--wait=false")


def test_a_topic_job_with_the_operators_certificate_makes_the_topic_and_nothing_is_lost(
    kube: TestKube, cluster: str, namespace: str, client: KafkaClient
) -> None:
    spec = {
        "cluster": cluster,
        "partitions": 3,
        "replicationFactor": 2,
        "config": {"min.insync.replicas": "2"},
    }
    kube.apply(kafka_topic(TOPIC, namespace, spec))
    wait_condition(
        kube, "KafkaTopic", TOPIC, namespace, type="Ready", status="True", timeout=TOPIC_TIMEOUT
    )
    [job] = kube.list("batch/v1", "Job", namespace, labels=JOB_LABELS)
    pod = job["spec"]["template"]["spec"]
    assert "--tls-dir" in pod["containers"][0]["args"]
    secrets = [volume["secret"]["secretName"] for volume in pod["volumes"] if "secret" in volume]
    assert secrets == [f"{CLUSTER}-operator-tls"]
    assert job["status"].get("succeeded") == 1
    # Kafka has it, each partition on both brokers and in sync: followers fetch over TLS.
    described = client.describe(TOPIC)
    assert len(described) == 3
    assert all(
        "Isr: " in line and len(line.split("Isr: ")[1].split()[0].split(",")) == 2
        for line in described
    ), described
    produced = client.produce(TOPIC, count=300, value_prefix=1)
    assert len(produced.acked) == 300, produced
    assert sorted(client.consume_all(TOPIC, expected=300)) == sorted(produced.acked)


def test_the_internal_listeners_refuse_a_pod_without_the_operators_certificate(
    kube: TestKube, cluster: str, namespace: str, client: KafkaClient
) -> None:
    internal = f"{CLUSTER}-brokers-0.{CLUSTER}-brokers.{namespace}.svc:9091"
    topics = "org.apache.kafka.tools.TopicCommand"
    for config in ("/tmp/plain.properties", "/tmp/trusting.properties"):
        refused = client.run(
            "java", "-Xmx256m", "-cp", "/opt/kafka/libs/*", topics,
            "--bootstrap-server", internal, "--list", "--command-config", config,
        )  # fmt: skip
        assert refused.returncode != 0, f"{config}: {refused.stdout}"
    # The client listener answers the same pod.
    assert TOPIC in client.topics()
    # Only the nodes and the operator hold a certificate of the cluster CA: the operator's is in
    # a Secret of its own, which no application needs.
    secret = kube.must_get("v1", "Secret", f"{CLUSTER}-operator-tls", namespace)
    assert b"security.protocol=SSL" in base64.b64decode(secret["data"]["client.properties"])
