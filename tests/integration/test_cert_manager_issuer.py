"""spec.clusterCa.certManager against the real API server with cert-manager's real controller
(tests/support/certmanager.py): kopfka asks for a Certificate per node and one for the operator,
cert-manager issues them from the user's CA Issuer, and kopfka puts what was issued into the
Secrets the nodes and its Jobs mount; a steady cluster writes nothing; a certificate cert-manager
issues again reaches its node with a new certificates revision (the nodes' restart); the
Certificate of a node that is gone is deleted; an issuer that does not exist holds the cluster
with `CertificatesPending` and cert-manager's own words, and nothing is applied."""

from __future__ import annotations

import base64
import datetime

from cryptography import x509

from kopfka.certs.issue import Authority, new_authority
from kopfka.certs.kept import fingerprints
from kopfka.render.tls import CERTIFICATES_REVISION_ANNOTATION
from tests.integration.conftest import CertManagerPlane
from tests.support.apiproxy import ApiProxy
from tests.support.certmanager import ca_issuer
from tests.support.clusters import wait_condition, wait_ready
from tests.support.kube import Obj, TestKube, condition_true
from tests.support.manifests import DEDICATED, kafka_cluster
from tests.support.operator import OperatorProcess
from tests.support.steady import assert_steady
from tests.support.waiting import wait_for

CERT_MANAGER = "cert-manager.io/v1"
ISSUER = "company-ca"
SPEC = {
    **DEDICATED,
    "listeners": [{"name": "tls", "port": 9094, "tls": True}],
    "internalListeners": {"tls": True},
    "clusterCa": {"certManager": {"issuerRef": {"name": ISSUER}}},
}
NODES = [f"sealed-controllers-{i}" for i in range(3)] + [f"sealed-brokers-{i}" for i in range(3)]
ISSUE_TIMEOUT = 120.0


def data(secret: Obj) -> dict[str, bytes]:
    return {key: base64.b64decode(value) for key, value in secret["data"].items()}


def leaf(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificates(pem)[0]


def ready_ca_issuer(kube: TestKube, namespace: str, authority: Authority) -> None:
    """The user's CA Issuer, from a Secret with the CA's key pair, Ready."""
    kube.apply(*ca_issuer(ISSUER, namespace, authority))
    wait_for(
        lambda: condition_true(kube.get(CERT_MANAGER, "Issuer", ISSUER, namespace), "Ready"),
        timeout=ISSUE_TIMEOUT,
        what=f"Issuer {ISSUER} to be Ready",
    )


def test_cert_manager_issues_every_nodes_certificate_and_kopfka_mounts_what_it_issued(
    kube: TestKube,
    operator: OperatorProcess,
    api_proxy: ApiProxy,
    cert_manager: CertManagerPlane,
    namespace: str,
) -> None:
    authority = new_authority(
        "company CA", now=datetime.datetime.now(datetime.UTC), validity_days=30
    )
    ready_ca_issuer(kube, namespace, authority)
    kube.apply(kafka_cluster("sealed", namespace, SPEC))
    cluster = wait_ready(kube, "sealed", namespace, timeout=ISSUE_TIMEOUT)

    certificates = {
        c["metadata"]["name"]: c
        for c in kube.list(CERT_MANAGER, "Certificate", namespace, {"kopfka.dev/cluster": "sealed"})
    }
    assert set(certificates) == {f"{node}-cert" for node in NODES} | {"sealed-operator-cert"}
    for certificate in certificates.values():
        assert certificate["metadata"]["ownerReferences"][0]["uid"] == cluster["metadata"]["uid"]
        assert certificate["spec"]["issuerRef"]["name"] == ISSUER
        assert condition_true(certificate, "Ready")

    nodes = data(kube.must_get("v1", "Secret", "sealed-kafka-tls", namespace))
    for node in NODES:
        issued = data(kube.must_get("v1", "Secret", f"{node}-cert", namespace))
        # The node presents what cert-manager issued, with a PKCS#8 key and its CA after it.
        assert leaf(nodes[f"{node}.pem"]) == leaf(issued["tls.crt"])
        assert nodes[f"{node}.pem"].startswith(b"-----BEGIN PRIVATE KEY-----")
        leaf(nodes[f"{node}.pem"]).verify_directly_issued_by(authority.certificate)
    assert fingerprints(nodes["cluster-ca.crt"]) == fingerprints(authority.certificate_pem)
    clients = data(kube.must_get("v1", "Secret", "sealed-cluster-ca-cert", namespace))
    assert fingerprints(clients["ca.crt"]) == fingerprints(authority.certificate_pem)
    operator_files = data(kube.must_get("v1", "Secret", "sealed-operator-tls", namespace))
    issued_operator = data(kube.must_get("v1", "Secret", "sealed-operator-cert", namespace))
    assert leaf(operator_files["operator.pem"]) == leaf(issued_operator["tls.crt"])
    # No CA of kopfka's: the issuer's key never reaches the namespace through kopfka.
    assert kube.get("v1", "Secret", "sealed-cluster-ca", namespace) is None

    assert_steady(kube, api_proxy, "sealed", namespace)

    # cert-manager issues brokers-0's certificate again (its Secret deleted): the node gets it.
    revision = kube.must_get("v1", "Secret", "sealed-kafka-tls", namespace)["metadata"][
        "annotations"
    ][CERTIFICATES_REVISION_ANNOTATION]
    before = leaf(nodes["sealed-brokers-0.pem"])
    kube.delete("v1", "Secret", "sealed-brokers-0-cert", namespace)

    def renewed() -> Obj | None:
        secret = kube.must_get("v1", "Secret", "sealed-kafka-tls", namespace)
        mounted = leaf(data(secret)["sealed-brokers-0.pem"])
        return secret if mounted != before else None

    secret = wait_for(renewed, timeout=ISSUE_TIMEOUT, what="brokers-0's new certificate mounted")
    assert secret["metadata"]["annotations"][CERTIFICATES_REVISION_ANNOTATION] != revision
    reissued = data(kube.must_get("v1", "Secret", "sealed-brokers-0-cert", namespace))
    assert leaf(data(secret)["sealed-brokers-0.pem"]) == leaf(reissued["tls.crt"])

    # A Certificate of a node that is gone (as a scale-down leaves) is deleted.
    stray = dict(certificates["sealed-brokers-2-cert"])
    stray["metadata"] = {
        "name": "sealed-brokers-3-cert",
        "namespace": namespace,
        "labels": certificates["sealed-brokers-2-cert"]["metadata"]["labels"],
    }
    stray["spec"] = {**stray["spec"], "secretName": "sealed-brokers-3-cert"}
    stray.pop("status", None)
    kube.apply(stray)
    # The next drift reconcile (seconds apart in this tier) deletes it.
    wait_for(
        lambda: kube.get(CERT_MANAGER, "Certificate", "sealed-brokers-3-cert", namespace) is None,
        timeout=ISSUE_TIMEOUT,
        what="the Certificate of a node that is not there to be deleted",
    )


def test_an_issuer_that_does_not_exist_holds_the_cluster_with_cert_managers_words(
    kube: TestKube, operator: OperatorProcess, cert_manager: CertManagerPlane, namespace: str
) -> None:
    spec = {**SPEC, "clusterCa": {"certManager": {"issuerRef": {"name": "no-such-issuer"}}}}
    kube.apply(kafka_cluster("waiting", namespace, spec))
    found = wait_condition(
        kube,
        "KafkaCluster",
        "waiting",
        namespace,
        type="Ready",
        status="False",
        reason="CertificatesPending",
        timeout=ISSUE_TIMEOUT,
    )
    message = next(c for c in found["status"]["conditions"] if c["type"] == "Ready")["message"]
    assert "waiting-brokers-0-cert: not issued yet" in message
    assert "cert-manager says" in message
    # Nothing is applied meanwhile: no node starts without its certificate.
    assert kube.list("apps/v1", "StatefulSet", namespace, {"kopfka.dev/cluster": "waiting"}) == []
