"""A KafkaCluster with a TLS listener against the real API server: its CA, the CA's public
certificate and the brokers' certificates in Secrets it owns, mounted by the brokers; nothing
written again while nothing changes; a user's CA that cannot be used is a specific Ready=False."""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kopfka.certs.issue import new_authority
from tests.support.apiproxy import ApiProxy
from tests.support.clusters import (
    mounted_config,
    wait_condition,
    wait_ready,
)
from tests.support.kube import Obj, TestKube, condition
from tests.support.manifests import DEDICATED, kafka_cluster
from tests.support.operator import OperatorProcess
from tests.support.steady import assert_steady
from tests.support.waiting import wait_for

PLAIN = {"name": "plain", "port": 9092}
SECURE = {"name": "secure", "port": 9094, "tls": True}
TLS_SPEC = {**DEDICATED, "listeners": [PLAIN, SECURE]}
NOW = datetime.datetime.now(datetime.UTC)


def data(secret: Obj) -> dict[str, bytes]:
    return {key: base64.b64decode(value) for key, value in secret["data"].items()}


def owned_and_labelled(secret: Obj, cluster: Obj) -> None:
    references = secret["metadata"]["ownerReferences"]
    assert [(ref["kind"], ref["name"], ref["uid"], ref["controller"]) for ref in references] == [
        ("KafkaCluster", cluster["metadata"]["name"], cluster["metadata"]["uid"], True)
    ]
    labels = secret["metadata"]["labels"]
    assert labels["app.kubernetes.io/managed-by"] == "kopfka"
    assert labels["kopfka.dev/cluster"] == cluster["metadata"]["name"]


def test_tls_cluster_gets_its_ca_and_certificates_mounted_and_is_not_written_again(
    kube: TestKube, operator: OperatorProcess, api_proxy: ApiProxy, namespace: str
) -> None:
    kube.apply(kafka_cluster("events", namespace, TLS_SPEC))
    cluster = wait_ready(kube, "events", namespace)

    ca = kube.must_get("v1", "Secret", "events-cluster-ca", namespace)
    public = kube.must_get("v1", "Secret", "events-cluster-ca-cert", namespace)
    brokers = kube.must_get("v1", "Secret", "events-kafka-tls", namespace)
    for secret in (ca, public, brokers):
        owned_and_labelled(secret, cluster)
    assert set(data(ca)) == {"ca.crt", "ca.key"}
    assert data(public) == {"ca.crt": data(ca)["ca.crt"]}
    authority = x509.load_pem_x509_certificate(data(ca)["ca.crt"])
    files = data(brokers)
    assert set(files) == {f"events-brokers-{ordinal}.pem" for ordinal in range(3)}
    for ordinal in range(3):
        certificate = x509.load_pem_x509_certificates(files[f"events-brokers-{ordinal}.pem"])[0]
        certificate.verify_directly_issued_by(authority)
        sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        dns = sans.value.get_values_for_type(x509.DNSName)
        pod = f"events-brokers-{ordinal}.events-brokers"
        assert {
            f"{pod}.{namespace}.svc",
            f"{pod}.{namespace}.svc.cluster.local",
            f"events-kafka-bootstrap.{namespace}.svc",
        } <= set(dns)

    # The brokers mount their Secret and read their own file from it; controllers mount none.
    statefulset = kube.must_get("apps/v1", "StatefulSet", "events-brokers", namespace)
    pod = statefulset["spec"]["template"]["spec"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert volumes["tls"]["secret"]["secretName"] == "events-kafka-tls"
    mounts = {mount["name"]: mount for mount in pod["containers"][0]["volumeMounts"]}
    assert mounts["tls"]["mountPath"] == "/etc/kopfka/tls"
    assert mounts["tls"]["readOnly"] is True
    controllers = kube.must_get("apps/v1", "StatefulSet", "events-controllers", namespace)
    assert "tls" not in {v["name"] for v in controllers["spec"]["template"]["spec"]["volumes"]}
    properties = mounted_config(kube, "events-brokers", namespace)["data"]["server.properties"]
    assert "SECURE:SSL" in properties
    assert "listener.name.secure.ssl.keystore.location=${KOPFKA_TLS_DIR}/${POD_NAME}.pem" in (
        properties
    )
    # Clients are told the first listener's address; the operator keeps using the plain one.
    assert cluster["status"]["bootstrapServers"] == f"events-kafka-bootstrap.{namespace}.svc:9092"

    # A reconcile of the unchanged cluster writes nothing: no certificate is issued again.
    window = assert_steady(kube, api_proxy, "events", namespace)
    assert {key for key in window.before if key.startswith("Secret/")} == {
        "Secret/events-cluster-ca",
        "Secret/events-cluster-ca-cert",
        "Secret/events-kafka-tls",
    }
    # A user's CA is the user's: only the public certificate and the brokers' file are kopfka's.
    assert kube.must_get("v1", "Secret", "events-kafka-tls", namespace)["data"] == brokers["data"]


def _secret(name: str, namespace: str, files: dict[str, bytes]) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "data": {key: base64.b64encode(value).decode() for key, value in files.items()},
    }


def _expired_ca() -> dict[str, bytes]:
    old = new_authority("old", now=NOW - datetime.timedelta(days=20), validity_days=10)
    return {"ca.crt": old.certificate_pem, "ca.key": old.key_pem}


def _not_a_ca() -> dict[str, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "server")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return {
        "ca.crt": certificate.public_bytes(serialization.Encoding.PEM),
        "ca.key": key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    }


GOOD = new_authority("mine", now=NOW, validity_days=400)
OTHER = new_authority("other", now=NOW, validity_days=400)


@dataclass(frozen=True)
class BadCa:
    case: str
    files: dict[str, bytes] | None
    reason: str
    message: str


BAD_CAS = [
    BadCa(*case)
    for case in [
        ("missing", None, "ClusterCaNotFound", "Secret users-ca is not found"),
        ("no-key", {"ca.crt": GOOD.certificate_pem}, "ClusterCaInvalid", "has no ca.key"),
        (
            "malformed",
            {"ca.crt": b"-----BEGIN CERTIFICATE-----\nnope\n", "ca.key": GOOD.key_pem},
            "ClusterCaInvalid",
            "ca.crt is not a PEM certificate",
        ),
        ("expired", _expired_ca(), "ClusterCaInvalid", "the CA expired at"),
        ("not-a-ca", _not_a_ca(), "ClusterCaInvalid", "is not a CA certificate"),
        (
            "wrong-key",
            {"ca.crt": GOOD.certificate_pem, "ca.key": OTHER.key_pem},
            "ClusterCaInvalid",
            "ca.key is not the key of ca.crt",
        ),
    ]
]


@pytest.mark.parametrize("bad", BAD_CAS, ids=[bad.case for bad in BAD_CAS])
def test_a_users_ca_that_cannot_be_used_is_a_specific_condition_and_nothing_is_made(
    kube: TestKube, operator: OperatorProcess, namespace: str, bad: BadCa
) -> None:
    if bad.files is not None:
        kube.apply(_secret("users-ca", namespace, bad.files))
    spec: dict[str, Any] = {**TLS_SPEC, "clusterCa": {"secretName": "users-ca"}}
    kube.apply(kafka_cluster("events", namespace, spec))
    cluster = wait_condition(
        kube, "KafkaCluster", "events", namespace, type="Ready", status="False", reason=bad.reason
    )
    ready = condition(cluster, "Ready")
    assert ready is not None
    assert bad.message in ready["message"], ready["message"]
    degraded = condition(cluster, "Degraded")
    assert degraded is not None
    assert degraded["status"] == "True"
    # Nothing was made: no StatefulSet could start a TLS listener without its certificate.
    assert kube.get("apps/v1", "StatefulSet", "events-brokers", namespace) is None
    assert kube.get("v1", "Secret", "events-kafka-tls", namespace) is None
    if bad.case == "missing":
        # The user adds the Secret: the cluster is made with certificates of the user's CA,
        # and the user's Secret stays the user's.
        kube.apply(
            _secret("users-ca", namespace, {"ca.crt": GOOD.certificate_pem, "ca.key": GOOD.key_pem})
        )
        wait_ready(kube, "events", namespace)
        public = kube.must_get("v1", "Secret", "events-cluster-ca-cert", namespace)
        assert data(public) == {"ca.crt": GOOD.certificate_pem}
        assert kube.get("v1", "Secret", "events-cluster-ca", namespace) is None
        users = kube.must_get("v1", "Secret", "users-ca", namespace)
        assert not users["metadata"].get("ownerReferences")


def _restart_hash(kube: TestKube, statefulset: str, namespace: str) -> str:
    live = kube.must_get("apps/v1", "StatefulSet", statefulset, namespace)
    return str(live["spec"]["template"]["metadata"]["annotations"]["kopfka.dev/restart-hash"])


def _revision(kube: TestKube, namespace: str) -> str | None:
    secret = kube.get("v1", "Secret", "events-kafka-tls", namespace)
    annotations = (secret or {}).get("metadata", {}).get("annotations") or {}
    return annotations.get("kopfka.dev/certificates-revision")


def test_new_broker_certificates_roll_the_brokers_and_a_new_broker_rolls_nobody(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    kube.apply(kafka_cluster("events", namespace, TLS_SPEC))
    wait_ready(kube, "events", namespace)
    brokers_hash = _restart_hash(kube, "events-brokers", namespace)
    controllers_hash = _restart_hash(kube, "events-controllers", namespace)
    revision = _revision(kube, namespace)
    assert revision

    # A scale-up adds the new broker's certificate and restarts no one.
    kube.kubectl(
        "patch", "kafkacluster", "events", "-n", namespace, "--type=merge",
        "-p", '{"spec": {"brokers": {"replicas": 4}}}',
    )  # fmt: skip
    wait_for(
        lambda: (
            "events-brokers-3.pem"
            in (kube.must_get("v1", "Secret", "events-kafka-tls", namespace).get("data") or {})
        ),
        timeout=60,
        what="a certificate for the fourth broker",
    )
    assert _revision(kube, namespace) == revision
    assert _restart_hash(kube, "events-brokers", namespace) == brokers_hash

    # Certificates lost (or replaced: renewal, new names, another CA) are issued again, and the
    # brokers, only they, restart to read them: the roll is pending on every broker pod.
    kube.kubectl("delete", "secret", "events-kafka-tls", "-n", namespace)
    wait_for(
        lambda: (found := _revision(kube, namespace)) is not None and found != revision,
        timeout=60,
        what="the brokers' certificates issued again with a new revision",
    )
    wait_for(
        lambda: _restart_hash(kube, "events-brokers", namespace) != brokers_hash,
        timeout=60,
        what="a new restart hash of the brokers",
    )
    assert _restart_hash(kube, "events-controllers", namespace) == controllers_hash
    cluster = wait_condition(
        kube, "KafkaCluster", "events", namespace, type="Ready", status="False",
        reason="RestartPending", generation=False,
    )  # fmt: skip
    pending = set(cluster["status"]["rollout"]["pending"])
    assert {f"events-brokers-{ordinal}" for ordinal in range(3)} <= pending
    assert not any(pod.startswith("events-controllers") for pod in pending)
