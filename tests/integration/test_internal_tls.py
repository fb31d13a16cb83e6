"""A KafkaCluster with spec.internalListeners.tls against the real API server: every node's
certificate and the nodes' trust in the Secret both StatefulSets mount, the operator's own
certificate in a Secret of its own, the pods' kopfka.dev/trusted-cas naming the CA, nothing
written again while nothing changes; an operator process that has not reconciled the cluster
yet (just started) takes its identity from that Secret, and says what is wrong when it cannot.
(That the field cannot change on a live cluster is a bad input case: tests/cases/bad_inputs.yaml,
internal-tls-change.)"""

from __future__ import annotations

import base64
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from kopfka.certs.kept import fingerprints
from kopfka.identity import ensure_identity
from kopfka.k8s.client import Kube
from kopfka.k8s.rest import RestClient
from kopfka.kafka.admin import KafkaUnavailable
from kopfka.kafka.tls import identities
from kopfka.model.cluster import parse_cluster
from tests.support.apiproxy import ApiProxy
from tests.support.clusters import mounted_config, wait_ready
from tests.support.kube import Obj, TestKube
from tests.support.manifests import DEDICATED, kafka_cluster
from tests.support.operator import OperatorProcess
from tests.support.steady import assert_steady

SPEC = {**DEDICATED, "internalListeners": {"tls": True}}


def data(secret: Obj) -> dict[str, bytes]:
    return {key: base64.b64decode(value) for key, value in secret["data"].items()}


def test_internal_tls_certifies_every_node_and_the_operator_and_is_not_written_again(
    kube: TestKube, operator: OperatorProcess, api_proxy: ApiProxy, namespace: str
) -> None:
    kube.apply(kafka_cluster("sealed", namespace, SPEC))
    cluster = wait_ready(kube, "sealed", namespace)
    ca = data(kube.must_get("v1", "Secret", "sealed-cluster-ca", namespace))
    authority = x509.load_pem_x509_certificate(ca["ca.crt"])
    nodes = data(kube.must_get("v1", "Secret", "sealed-kafka-tls", namespace))
    pods = {f"sealed-controllers-{i}.pem" for i in range(3)} | {
        f"sealed-brokers-{i}.pem" for i in range(3)
    }
    assert set(nodes) == pods | {"cluster-ca.crt"}
    for key in pods:
        x509.load_pem_x509_certificates(nodes[key])[0].verify_directly_issued_by(authority)
    assert fingerprints(nodes["cluster-ca.crt"]) == fingerprints(ca["ca.crt"])
    operator_secret = kube.must_get("v1", "Secret", "sealed-operator-tls", namespace)
    assert operator_secret["metadata"]["ownerReferences"][0]["uid"] == cluster["metadata"]["uid"]
    files = data(operator_secret)
    assert set(files) == {"operator.pem", "ca.crt", "client.properties"}
    x509.load_pem_x509_certificates(files["operator.pem"])[0].verify_directly_issued_by(authority)

    for pool in ("sealed-controllers", "sealed-brokers"):
        template = kube.must_get("apps/v1", "StatefulSet", pool, namespace)["spec"]["template"]
        volumes = {volume["name"]: volume for volume in template["spec"]["volumes"]}
        assert volumes["tls"]["secret"]["secretName"] == "sealed-kafka-tls"
        properties = mounted_config(kube, pool, namespace)["data"]["server.properties"]
        assert "CONTROLLER:SSL" in properties
        assert "listener.name.controller.ssl.client.auth=required" in properties
    # Every pod says which CA its Kafka trusts: the cluster's.
    for pod in kube.list("v1", "Pod", namespace, {"kopfka.dev/cluster": "sealed"}):
        annotations = pod["metadata"]["annotations"]
        assert annotations["kopfka.dev/trusted-cas"] == ",".join(fingerprints(ca["ca.crt"]))

    window = assert_steady(kube, api_proxy, "sealed", namespace)
    assert {key for key in window.before if key.startswith("Secret/")} == {
        "Secret/sealed-cluster-ca",
        "Secret/sealed-cluster-ca-cert",
        "Secret/sealed-kafka-tls",
        "Secret/sealed-operator-tls",
    }


def test_an_operator_that_has_not_reconciled_the_cluster_takes_its_identity_from_the_secret(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    """This test process is such an operator: its registry (kafka/tls.py) starts empty."""
    kube.apply(kafka_cluster("sealed", namespace, SPEC))
    wait_ready(kube, "sealed", namespace)
    spec = parse_cluster("sealed", namespace, SPEC)
    where = {
        "namespace": namespace,
        "cluster": "sealed",
        "bootstrap": spec.operator_bootstrap,
        "internal_tls": True,
    }
    client = RestClient.from_kubeconfig(kube.kubeconfig)
    try:
        assert identities.context(spec.operator_bootstrap) is None
        ensure_identity(Kube(client), **where)
        context = identities.context(spec.operator_bootstrap)
        assert isinstance(context, ssl.SSLContext)
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname
        [authority] = context.get_ca_certs(binary_form=True)
        ca = data(kube.must_get("v1", "Secret", "sealed-cluster-ca", namespace))
        assert authority == x509.load_pem_x509_certificate(ca["ca.crt"]).public_bytes(
            serialization.Encoding.DER
        )

        # A plaintext cluster: nothing to load, no request (the Secret is not even read).
        plain = {**where, "cluster": "no-such-cluster", "bootstrap": "plain:9092"}
        ensure_identity(Kube(client), **{**plain, "internal_tls": False})
        assert identities.context("plain:9092") is None
        # A TLS cluster whose Secret is not there (yet): a reason, not a plaintext attempt.
        missing = "Secret no-such-cluster-operator-tls does not exist"
        with pytest.raises(KafkaUnavailable, match=missing):
            ensure_identity(Kube(client), **plain)
    finally:
        identities.keep(spec.operator_bootstrap, None)
        client.close()
