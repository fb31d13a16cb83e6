"""TLS KafkaUsers and listeners with client certificates against a real API server: the clients
CA the cluster's reconcile makes, its certificate (never its key) in the brokers' Secret, the
listener's settings in the brokers' config; the user's certificate Secret (owned by the
KafkaUser; a certificate whose CN is the user's name, signed by the clients CA, with the cluster
CA's certificate to verify brokers), kept across syncs and issued again when the clients CA
changes; and the conditions and refusals of bad inputs.

kwok's pods run no Kafka: valid KafkaUsers report KafkaUnreachable after their Secret is made.
The Kafka tier (tests/kafka/test_mtls.py) proves the certificates in a real handshake."""

from __future__ import annotations

import base64
from typing import Any

from cryptography import x509

from tests.integration.test_users import TIMEOUT, wait_user_reason
from tests.support.kube import TestKube, condition
from tests.support.manifests import DEDICATED, kafka_cluster, kafka_user
from tests.support.operator import NO_KAFKA_REASON, OperatorProcess
from tests.support.waiting import wait_for

MTLS_CLUSTER = {
    **DEDICATED,
    "listeners": [
        {"name": "plain", "port": 9092},
        {"name": "mtls", "port": 9096, "tls": True, "authentication": {"type": "tls"}},
    ],
}
TLS_USER = {"cluster": "events", "authentication": {"type": "tls"}}


def data(kube: TestKube, name: str, namespace: str) -> dict[str, bytes]:
    secret = kube.must_get("v1", "Secret", name, namespace)
    return {key: base64.b64decode(value) for key, value in secret["data"].items()}


def issued_by(certificate_pem: bytes, ca_pem: bytes) -> bool:
    try:
        x509.load_pem_x509_certificate(certificate_pem).verify_directly_issued_by(
            x509.load_pem_x509_certificate(ca_pem)
        )
    except Exception:
        return False
    return True


def test_a_tls_user_gets_a_certificate_of_the_clients_ca_in_its_own_secret(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    kube.apply(
        kafka_cluster("events", namespace, MTLS_CLUSTER), kafka_user("alice", namespace, TLS_USER)
    )
    user = wait_user_reason(kube, "alice", namespace, NO_KAFKA_REASON)

    # The cluster: its clients CA, whose certificate alone the brokers get, and the listener.
    clients_ca = data(kube, "events-clients-ca", namespace)
    assert set(clients_ca) == {"ca.crt", "ca.key"}
    brokers = data(kube, "events-kafka-tls", namespace)
    assert brokers["clients-ca.crt"] == clients_ca["ca.crt"]
    assert not any(
        b"PRIVATE KEY" in value for key, value in brokers.items() if key.endswith(".crt")
    )
    [config] = [
        item
        for item in kube.list("v1", "ConfigMap", namespace)
        if item["metadata"]["name"].startswith("events-brokers-config-")
    ]
    properties = config["data"]["server.properties"]
    assert "listener.name.mtls.ssl.client.auth=required" in properties
    assert "listener.name.mtls.ssl.truststore.location=${KOPFKA_TLS_DIR}/clients-ca.crt" in (
        properties
    )

    # The user's Secret: owned by the KafkaUser, CN=alice, of the clients CA.
    secret = kube.must_get("v1", "Secret", "alice", namespace)
    [owner] = secret["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == (
        "KafkaUser",
        "alice",
        user["metadata"]["uid"],
    )
    files = data(kube, "alice", namespace)
    assert set(files) == {"user.crt", "user.key", "user.pem", "ca.crt"}
    certificate = x509.load_pem_x509_certificate(files["user.crt"])
    assert certificate.subject.rfc4514_string() == "CN=alice"
    assert issued_by(files["user.crt"], clients_ca["ca.crt"])
    assert files["ca.crt"] == data(kube, "events-cluster-ca-cert", namespace)["ca.crt"]
    assert files["user.pem"] == files["user.key"] + files["user.crt"]
    assert "password" not in files
    assert user["status"]["certificate"] == {
        "subject": "CN=alice",
        "notAfter": f"{certificate.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}",
    }
    assert "credentials" not in user["status"] or not user["status"]["credentials"]

    # Later syncs keep it as it is.
    version = secret["metadata"]["resourceVersion"]
    kube.merge_patch(
        "kopfka.dev/v1alpha1",
        "KafkaUser",
        "alice",
        namespace,
        {"spec": {"quotas": {"consumerByteRate": 2048}}},
    )
    wait_for(
        lambda: (
            kube.must_get("kopfka.dev/v1alpha1", "KafkaUser", "alice", namespace)["status"].get(
                "observedGeneration"
            )
            == 2
        ),
        timeout=TIMEOUT,
        what="the KafkaUser's change synced",
    )
    assert kube.must_get("v1", "Secret", "alice", namespace)["metadata"]["resourceVersion"] == (
        version
    )

    # A new clients CA (kopfka's deleted: the reconcile makes another): the certificate is
    # issued again from it, in the same Secret.
    kube.delete("v1", "Secret", "events-clients-ca", namespace)

    def reissued() -> bool:
        made = kube.get("v1", "Secret", "events-clients-ca", namespace)
        if made is None:
            return False
        new_ca = base64.b64decode(made["data"]["ca.crt"])
        return new_ca != clients_ca["ca.crt"] and issued_by(
            data(kube, "alice", namespace)["user.crt"], new_ca
        )

    wait_for(reissued, timeout=TIMEOUT, what="alice's certificate issued by the new clients CA")
    assert (
        kube.must_get("v1", "Secret", "alice", namespace)["metadata"]["uid"]
        == (secret["metadata"]["uid"])
    )


def test_bad_inputs_of_tls_users_get_a_condition_or_are_refused(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    # A cluster without a listener that takes certificates: no Secret, a reason.
    kube.apply(
        kafka_cluster("events", namespace, DEDICATED), kafka_user("erin", namespace, TLS_USER)
    )
    erin = wait_user_reason(kube, "erin", namespace, "NoTlsListener")
    assert "has no listener with authentication tls" in (condition(erin, "Ready") or {})["message"]
    assert kube.get("v1", "Secret", "erin", namespace) is None
    # A name longer than a certificate's common name may be.
    long_name = "u" * 65
    kube.apply(kafka_user(long_name, namespace, TLS_USER))
    long_user = wait_user_reason(kube, long_name, namespace, "InvalidSpec")
    assert "at most 64 characters" in (condition(long_user, "Ready") or {})["message"]
    # The authentication type cannot change, either way.
    scram: dict[str, Any] = {"cluster": "events", "authentication": {"type": "scram-sha-512"}}
    kube.apply(kafka_user("frank", namespace, scram))
    assert "authentication.type cannot change" in kube.apply_refused(
        kafka_user("frank", namespace, TLS_USER)
    )
    assert "authentication.type cannot change" in kube.apply_refused(
        kafka_user("erin", namespace, scram)
    )
    # Client certificates need TLS on the listener.
    plain_mtls = {
        **DEDICATED,
        "listeners": [{"name": "m", "port": 9096, "authentication": {"type": "tls"}}],
    }
    assert "needs tls: true on the listener" in kube.apply_refused(
        kafka_cluster("other", namespace, plain_mtls)
    )
