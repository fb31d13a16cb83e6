"""spec.clusterCa.certManager on the real node, with cert-manager's real controller (built from
the Go module proxy, hack/cert-manager.sh) issuing from the user's CA Issuer: a controller and
three brokers with mutual TLS on the internal listeners and a TLS client listener, every
certificate cert-manager's; the cluster forms and is Ready, a KafkaTopic is made by a topic Job
with the operator's cert-manager certificate, and an application that trusts only the cluster's
published ca.crt produces with acks=all and reads every value back over TLS, checking the
brokers' names. Kafka is checked with Kafka's own tools from a client pod.
"""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from e2e.suite.kafka_client import KafkaClient
from kopfka.certs.issue import new_authority
from tests.support.certmanager import CertManager, ca_issuer
from tests.support.clusters import wait_condition, wait_ready
from tests.support.kube import TestKube, condition_true
from tests.support.manifests import kafka_cluster, kafka_topic

CLUSTER = "issued"
TOPIC = "e2e-issued"
VERSION = "4.4.0"  # the broker image the e2e node has (broker-image/versions.env)
TLS_PORT = 9094
CERT_MANAGER = "cert-manager.io/v1"
ISSUER = "company-ca"
READY_TIMEOUT = 300.0
TOPIC_TIMEOUT = 180.0
NODE = {
    "resources": {"requests": {"cpu": "100m", "memory": "768Mi"}, "limits": {"memory": "768Mi"}},
    "jvm": {"heap": "384Mi"},
    "storage": {"type": "ephemeral"},
}
PROPERTIES = "/tmp/tls.properties"
# Trusts only the cluster's ca.crt; checks the broker's name against its certificate (default).
TLS_CLIENT = (
    "security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location=/tmp/ca.crt\n"
    "request.timeout.ms=15000\n"
)


@pytest.fixture(scope="module")
def cert_manager(kube: TestKube, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    controller = CertManager(
        kubeconfig=kube.kubeconfig,
        kubectl=kube.kubectl_path,
        log_path=Path(tmp_path_factory.mktemp("cert-manager")) / "cert-manager.log",
    )
    with controller:
        yield


@pytest.fixture(scope="module")
def cluster(kube: TestKube, operator: str, namespace: str, cert_manager: None) -> Iterator[str]:
    now = datetime.datetime.now(datetime.UTC)
    authority = new_authority("e2e company CA", now=now, validity_days=30)
    kube.apply(*ca_issuer(ISSUER, namespace, authority))
    spec = {
        "kafka": {"version": VERSION},
        "controllers": {"replicas": 1, **NODE},
        "brokers": {"replicas": 3, **NODE},
        "listeners": [{"name": "tls", "port": TLS_PORT, "tls": True}],
        "internalListeners": {"tls": True},
        "clusterCa": {"certManager": {"issuerRef": {"name": ISSUER}}},
    }
    kube.apply(kafka_cluster(CLUSTER, namespace, spec))
    wait_ready(kube, CLUSTER, namespace, timeout=READY_TIMEOUT)
    yield CLUSTER
    kube.kubectl("delete", "kafkatopics", "--all", "-n", namespace, "--wait=false")
    kube.kubectl("delete", "kafkacluster", CLUSTER, "-n", namespace, "--wait=false")
    kube.kubectl("delete", "issuer", ISSUER, "-n", namespace, "--wait=false")


@pytest.fixture(scope="module")
def client(kube: TestKube, cluster: str, namespace: str) -> Iterator[KafkaClient]:
    """An application pod on the TLS listener with the cluster's ca.crt (the Secret clients
    trust), and nothing else."""
    pod = "issued-client"
    bootstrap = f"{CLUSTER}-kafka-bootstrap.{namespace}.svc:{TLS_PORT}"
    client = KafkaClient(kube, namespace, bootstrap=bootstrap, pod=pod)
    ca = {"secretKeyRef": {"name": f"{CLUSTER}-cluster-ca-cert", "key": "ca.crt"}}
    client.start(f"kopfka/kafka:{VERSION}", env=[{"name": "CA_CRT", "valueFrom": ca}])
    client.exec("sh", "-c", 'printf "%s" "$CA_CRT" > /tmp/ca.crt')
    client.exec("sh", "-c", 'printf "%s" "$1" > "$2"', "sh", TLS_CLIENT, PROPERTIES)
    yield client
    kube.kubectl("delete", "pod", pod, "-n", namespace, "--wait=false")


def test_every_node_runs_on_certificates_cert_manager_issued(
    kube: TestKube, cluster: str, namespace: str
) -> None:
    mounted = kube.must_get("v1", "Secret", f"{CLUSTER}-kafka-tls", namespace)["data"]
    for role, count in (("controllers", 1), ("brokers", 3)):
        for ordinal in range(count):
            pod = f"{CLUSTER}-{role}-{ordinal}"
            certificate = kube.must_get(CERT_MANAGER, "Certificate", f"{pod}-cert", namespace)
            assert condition_true(certificate, "Ready"), certificate.get("status")
            # The node's key store holds the very certificate cert-manager issued.
            issued = kube.must_get("v1", "Secret", f"{pod}-cert", namespace)["data"]
            assert _leaf(mounted[f"{pod}.pem"]) == _leaf(issued["tls.crt"])
    assert kube.get("v1", "Secret", f"{CLUSTER}-cluster-ca", namespace) is None


def _leaf(encoded: str) -> x509.Certificate:
    """The first certificate of a Secret's base64 PEM value."""
    return x509.load_pem_x509_certificates(base64.b64decode(encoded))[0]


def test_a_topic_job_and_an_application_reach_kafka_over_tls_with_cert_manager_certificates(
    kube: TestKube, cluster: str, namespace: str, client: KafkaClient
) -> None:
    spec = {"cluster": cluster, "partitions": 3, "replicationFactor": 3}
    kube.apply(kafka_topic(TOPIC, namespace, spec))
    wait_condition(
        kube, "KafkaTopic", TOPIC, namespace, type="Ready", status="True", timeout=TOPIC_TIMEOUT
    )
    produced = client.exec(
        "java", "-Xmx256m", "-cp", "/opt/kafka/libs/*", "org.apache.kafka.tools.VerifiableProducer",
        "--bootstrap-server", client.bootstrap, "--topic", TOPIC, "--max-messages", "200",
        "--value-prefix", "3", "--acks", "-1", "--command-config", PROPERTIES,
    )  # fmt: skip
    acked = [
        json.loads(line)["value"]
        for line in produced.splitlines()
        if line.startswith("{") and json.loads(line).get("name") == "producer_send_success"
    ]
    assert len(acked) == 200, produced[-2000:]
    consumed = client.run_tool(
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        "--bootstrap-server", client.bootstrap, "--command-config", PROPERTIES,
        "--topic", TOPIC, "--from-beginning", "--max-messages", "200", "--timeout-ms", "30000",
    )  # fmt: skip
    assert sorted(consumed.split()) == sorted(acked)

    # Without the cluster's ca.crt, the same client is refused (the handshake fails).
    untrusting = "security.protocol=SSL\nrequest.timeout.ms=5000\ndefault.api.timeout.ms=10000\n"
    client.exec("sh", "-c", 'printf "%s" "$1" > /tmp/untrusting.properties', "sh", untrusting)
    refused = client.run(
        "java", "-Xmx256m", "-cp", "/opt/kafka/libs/*", "org.apache.kafka.tools.TopicCommand",
        "--bootstrap-server", client.bootstrap, "--list",
        "--command-config", "/tmp/untrusting.properties",
    )  # fmt: skip
    assert refused.returncode != 0, refused.stdout
