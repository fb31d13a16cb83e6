"""Mutual TLS on the internal listeners (spec.internalListeners.tls) on the real node: three
controllers and three brokers that talk to each other only over TLS, with the certificates
kopfka issued from the user's CA into the Secret they mount, form a cluster the operator reads
(over TLS, with its own certificate) and reports Ready; a KafkaTopic is made by a topic Job that
mounts the operator's Secret; an application's acks=all producer loses nothing with
min.insync.replicas 2 (every write replicated over TLS); a pod without the operator's certificate
gets nothing from the internal listeners. A restarted operator whose reconcile of the cluster
fails (a broken CA Secret) still reads Kafka with its certificate: a topic change reaches Kafka,
and no KafkaTopic ever says Kafka cannot be reached. The user then replaces the CA: the new CA
reaches every node's trust before any node presents a certificate of it (two rolling restarts),
and the producer running all along loses nothing.

The tests run in file order on one small cluster of their own, and check Kafka with Kafka's own
tools from a client pod, not only the statuses kopfka writes.
"""

from __future__ import annotations

import base64
import datetime
import json
import threading
from collections.abc import Iterator

import pytest
from cryptography import x509

from e2e.suite.conftest import OPERATOR_NAMESPACE
from e2e.suite.kafka_client import KafkaClient
from kopfka.certs.issue import Authority, new_authority
from kopfka.certs.kept import fingerprints
from kopfka.model import names
from kopfka.topics.sync import CLUSTER_NOT_READY, KAFKA_UNREACHABLE
from tests.support.clusters import wait_condition, wait_ready
from tests.support.kube import Obj, TestKube, condition, condition_true
from tests.support.manifests import kafka_cluster, kafka_topic
from tests.support.waiting import wait_for

CLUSTER = "sealed"
TOPIC = "e2e-sealed"
VERSION = "4.4.0"  # the broker image the e2e node has (broker-image/versions.env)
READY_TIMEOUT = 300.0
# A topic Job's pod starts, runs and is read back, then the next sync reads Kafka.
TOPIC_TIMEOUT = 180.0
# Two rolling restarts of six nodes on a 2-core node.
ROTATION_TIMEOUT = 1200.0
OPERATOR_TIMEOUT = 180.0
RESTART_TOPIC = "e2e-sealed-restart"
OPERATOR_LABELS = {"app.kubernetes.io/component": "operator"}
UNREACHABLE = {KAFKA_UNREACHABLE, CLUSTER_NOT_READY}  # the topic syncs' reasons for it
CA_SECRET = "sealed-ca"
NODE = {
    "resources": {"requests": {"cpu": "100m", "memory": "768Mi"}, "limits": {"memory": "768Mi"}},
    "jvm": {"heap": "384Mi"},
    "storage": {"type": "ephemeral"},
}
JOB_LABELS = {"app.kubernetes.io/component": "topic-job", "kopfka.dev/cluster": CLUSTER}
# A client that gives up within seconds (the internal listeners will not answer it).
IMPATIENT = "request.timeout.ms=5000\ndefault.api.timeout.ms=10000\n"
TRUSTING = "security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location=/tmp/ca.crt\n"


def ca_secret(namespace: str, authority: Authority) -> Obj:
    """The user's CA Secret (spec.clusterCa.secretName)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": CA_SECRET, "namespace": namespace},
        "data": {
            "ca.crt": base64.b64encode(authority.certificate_pem).decode(),
            "ca.key": base64.b64encode(authority.key_pem).decode(),
        },
    }


@pytest.fixture(scope="module")
def cluster(kube: TestKube, operator: str, namespace: str) -> Iterator[str]:
    now = datetime.datetime.now(datetime.UTC)
    kube.apply(ca_secret(namespace, new_authority("e2e first CA", now=now, validity_days=30)))
    spec = {
        "kafka": {"version": VERSION},
        "controllers": {"replicas": 3, **NODE},
        "brokers": {"replicas": 3, **NODE},
        "internalListeners": {"tls": True},
        "clusterCa": {"secretName": CA_SECRET},
    }
    kube.apply(kafka_cluster(CLUSTER, namespace, spec))
    wait_ready(kube, CLUSTER, namespace, timeout=READY_TIMEOUT)
    yield CLUSTER
    kube.kubectl("delete", "kafkatopics", "--all", "-n", namespace, "--wait=false")
    kube.kubectl("delete", "kafkacluster", CLUSTER, "-n", namespace, "--wait=false")
    kube.kubectl("delete", "secret", CA_SECRET, "-n", namespace, "--wait=false")


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
        "replicationFactor": 3,
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

    # Kafka has it, each partition on every broker and (once the followers caught up) in sync:
    # they fetch over TLS.
    def in_sync() -> bool:
        described = client.describe(TOPIC)
        return len(described) == 3 and all(
            len(line.split("Isr: ")[1].split()[0].split(",")) == 3 for line in described
        )

    wait_for(in_sync, timeout=120, what=f"every replica of {TOPIC} in sync")
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


class TopicWatch(threading.Thread):
    """Every Ready condition of the namespace's KafkaTopics that said their cluster's Kafka
    could not be read, from a watch (a change being carried out is Ready=False too, rightly)."""

    def __init__(self, kube: TestKube, namespace: str) -> None:
        super().__init__(daemon=True)
        self.namespace = namespace
        self.resource = kube.dynamic.resources.get(
            api_version=names.API_VERSION, kind=names.TOPIC_KIND
        )
        self.version = self.resource.get(namespace=namespace).metadata.resourceVersion
        self.unreachable: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for event in self.resource.watch(
                namespace=self.namespace, resource_version=self.version, timeout=2
            ):
                topic = event["raw_object"]
                self.version = topic["metadata"]["resourceVersion"]
                ready = condition(topic, "Ready")
                if ready is not None and ready.get("reason") in UNREACHABLE:
                    self.unreachable.append(
                        f"{topic['metadata']['name']}: {ready.get('reason')}: "
                        f"{ready.get('message')}"
                    )

    def finish(self) -> None:
        self.stop.set()
        self.join(timeout=30)


def _scale_operator(kube: TestKube, replicas: int) -> None:
    kube.kubectl(
        "scale", "deployment", "-n", OPERATOR_NAMESPACE, "-l",
        "app.kubernetes.io/component=operator", f"--replicas={replicas}",
    )  # fmt: skip

    def scaled() -> bool:
        pods = kube.list("v1", "Pod", OPERATOR_NAMESPACE, labels=OPERATOR_LABELS)
        if replicas == 0:
            return not pods
        return len(pods) == replicas and all(condition_true(pod, "Ready") for pod in pods)

    wait_for(scaled, timeout=OPERATOR_TIMEOUT, what=f"{replicas} operator pods running")


def test_a_restarted_operator_reads_kafka_with_its_certificate_before_the_cluster_reconciles(
    kube: TestKube, cluster: str, namespace: str, client: KafkaClient
) -> None:
    """The reconcile hands the operator its certificate; a reconcile that cannot get that far
    (here: the CA Secret broken while the operator was down, so the cluster is ClusterCaInvalid
    and nothing is applied) must not leave the topic syncs of a restarted operator in plaintext:
    they load the certificate from its Secret, and a topic change still reaches Kafka."""
    spec = {"cluster": cluster, "partitions": 1, "replicationFactor": 3}
    kube.apply(kafka_topic(RESTART_TOPIC, namespace, spec))
    wait_condition(
        kube, "KafkaTopic", RESTART_TOPIC, namespace, type="Ready", status="True",
        timeout=TOPIC_TIMEOUT,
    )  # fmt: skip
    original = kube.must_get("v1", "Secret", CA_SECRET, namespace)
    broken = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": CA_SECRET, "namespace": namespace},
        "data": {"ca.crt": original["data"]["ca.crt"], "ca.key": None},
    }
    watch = TopicWatch(kube, namespace)
    watch.start()
    try:
        _scale_operator(kube, 0)
        # While the operator is down: the CA Secret loses its key, and a topic changes.
        kube.kubectl("patch", "secret", CA_SECRET, "-n", namespace, "--type=merge",
                     "-p", json.dumps(broken))  # fmt: skip
        config = {"retention.ms": "3600000"}
        kube.apply(kafka_topic(RESTART_TOPIC, namespace, {**spec, "config": config}))
        _scale_operator(kube, 1)
        wait_condition(
            kube, "KafkaCluster", CLUSTER, namespace, type="Ready", status="False",
            reason="ClusterCaInvalid", timeout=TOPIC_TIMEOUT,
        )  # fmt: skip

        def carried_out() -> bool:
            topic = kube.get(names.API_VERSION, names.TOPIC_KIND, RESTART_TOPIC, namespace) or {}
            status = topic.get("status") or {}
            generation = topic["metadata"]["generation"]
            return status.get("observedGeneration") == generation and condition_true(topic, "Ready")

        wait_for(carried_out, timeout=TOPIC_TIMEOUT, what=f"{RESTART_TOPIC}'s change carried out")
        assert client.topic_configs(RESTART_TOPIC).get("retention.ms") == "3600000"
    finally:
        watch.finish()
        _scale_operator(kube, 1)
        kube.kubectl("patch", "secret", CA_SECRET, "-n", namespace, "--type=merge",
                     "-p", json.dumps({"data": original["data"]}))  # fmt: skip
    wait_ready(kube, CLUSTER, namespace, timeout=READY_TIMEOUT)
    assert not watch.unreachable, watch.unreachable


def _node_issuers(kube: TestKube, namespace: str) -> set[str]:
    """The issuers of the nodes' certificates in their Secret (RFC 4514)."""
    files = kube.must_get("v1", "Secret", f"{CLUSTER}-kafka-tls", namespace)["data"]
    return {
        x509.load_pem_x509_certificates(base64.b64decode(value))[0].issuer.rfc4514_string()
        for key, value in files.items()
        if key.endswith(".pem")
    }


def _pods(kube: TestKube, namespace: str) -> list[Obj]:
    return kube.list("v1", "Pod", namespace, {"kopfka.dev/cluster": CLUSTER})


def _restarted(kube: TestKube, namespace: str) -> bool:
    """Every pod runs its StatefulSet's current restart hash and is Ready."""
    for pool in (f"{CLUSTER}-controllers", f"{CLUSTER}-brokers"):
        template = kube.must_get("apps/v1", "StatefulSet", pool, namespace)["spec"]["template"]
        wanted = template["metadata"]["annotations"]["kopfka.dev/restart-hash"]
        pods = [p for p in _pods(kube, namespace) if p["metadata"]["name"].startswith(pool + "-")]
        if len(pods) != 3 or not all(
            p["metadata"]["annotations"]["kopfka.dev/restart-hash"] == wanted
            and condition_true(p, "Ready")
            for p in pods
        ):
            return False
    return True


def test_a_new_ca_reaches_every_node_in_two_rolls_and_the_producer_loses_nothing(
    kube: TestKube, cluster: str, namespace: str, client: KafkaClient
) -> None:
    producer = client.start_producing(TOPIC, count=100_000, value_prefix=2, throughput=20)
    now = datetime.datetime.now(datetime.UTC)
    second = new_authority("e2e second CA", now=now, validity_days=30)
    (fingerprint,) = fingerprints(second.certificate_pem)
    new_issuer = second.certificate.subject.rfc4514_string()
    kube.apply(ca_secret(namespace, second))
    trusted_first: list[str] = []  # pods seen trusting the new CA with old certificates
    violations: list[str] = []

    def rotated() -> bool:
        issuers = _node_issuers(kube, namespace)
        untrusting = [
            pod["metadata"]["name"]
            for pod in _pods(kube, namespace)
            if fingerprint not in pod["metadata"]["annotations"]["kopfka.dev/trusted-cas"]
        ]
        if new_issuer in issuers and untrusting:
            violations.append(f"certificates of the new CA while {untrusting} do not trust it")
        if new_issuer not in issuers and len(untrusting) < 6:
            trusted_first.append(f"{6 - len(untrusting)} pods trust it")
        return issuers == {new_issuer} and not untrusting and _restarted(kube, namespace)

    wait_for(rotated, timeout=ROTATION_TIMEOUT, what="every node on the new CA")
    assert not violations, violations
    assert trusted_first, "the nodes never trusted the new CA before getting its certificates"
    wait_ready(kube, CLUSTER, namespace, timeout=READY_TIMEOUT)
    produced = producer.stop()
    assert len(produced.acked) > 0
    consumed = set(client.consume_all(TOPIC, expected=300 + len(produced.acked)))
    lost = set(produced.acked) - consumed
    assert not lost, f"{len(lost)} acknowledged values lost, e.g. {sorted(lost)[:5]}"
