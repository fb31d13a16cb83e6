"""KafkaUsers against a real API server: the password Secret (owned by the KafkaUser, made once,
never changed by later syncs), the user Job as the API server stores it (no password anywhere in
it), a condition for each bad input, and deletion that never leaves a namespace hanging.

kwok's pods run no Kafka, so the operator never gets as far as reading users from Kafka here:
valid KafkaUsers report KafkaUnreachable. The Kafka tier (tests/kafka/test_scram.py) proves the
credentials and quotas in Kafka."""

from __future__ import annotations

import base64
import json
from typing import Any

from kubernetes.client import BatchV1Api

from kopfka.model.cluster import parse_cluster
from kopfka.render.operator_job import JobImage
from kopfka.render.user_job import render_user_job
from kopfka.users.plan import UserWork
from kopfka.users.wire import work_file
from tests.integration.test_operator_metrics import scrape
from tests.support.clusters import wait_condition
from tests.support.kube import TestKube, condition
from tests.support.manifests import DEDICATED, kafka_cluster, kafka_user
from tests.support.operator import NO_KAFKA_REASON, TIER_TOPIC_RECHECK_INTERVAL, OperatorProcess
from tests.support.waiting import wait_for

SCRAM_CLUSTER = {
    **DEDICATED,
    "listeners": [
        {"name": "plain", "port": 9092},
        {"name": "scram", "port": 9095, "authentication": {"type": "scram-sha-512"}},
    ],
}
USER = {
    "cluster": "events",
    "authentication": {"type": "scram-sha-512"},
    "quotas": {"producerByteRate": 1048576, "requestPercentage": 25.5},
}
ORDERS_ACL = {"resource": {"type": "topic", "name": "orders"}, "operations": ["Write"]}
TIMEOUT = 60 + 5 * TIER_TOPIC_RECHECK_INTERVAL


def acls(*items: dict[str, Any]) -> dict[str, Any]:
    return {**USER, "authorization": {"acls": list(items)}}


def wait_user_reason(kube: TestKube, name: str, namespace: str, reason: str) -> dict[str, Any]:
    return wait_condition(
        kube,
        "KafkaUser",
        name,
        namespace,
        type="Ready",
        status="False",
        reason=reason,
        timeout=TIMEOUT,
    )


def user_syncs(metrics_url: str) -> float:
    return sum(
        value
        for (name, labels), value in scrape(metrics_url).items()
        if name == "kopfka_reconciles_total" and ("kind", "KafkaUser") in labels
    )


def test_a_kafka_user_gets_an_owned_secret_whose_password_stays(
    kube: TestKube, operator: OperatorProcess, namespace: str, metrics_url: str
) -> None:
    kube.apply(
        kafka_cluster("events", namespace, SCRAM_CLUSTER), kafka_user("alice", namespace, USER)
    )
    user = wait_user_reason(kube, "alice", namespace, NO_KAFKA_REASON)
    assert user["status"]["username"] == "alice"
    assert user["status"]["secret"] == "alice"
    assert user["metadata"]["finalizers"] == ["kopfka.dev/delete-user"]

    secret = kube.must_get("v1", "Secret", "alice", namespace)
    [owner] = secret["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == (
        "KafkaUser",
        "alice",
        user["metadata"]["uid"],
    )
    assert owner["controller"] is True
    password = base64.b64decode(secret["data"]["password"]).decode()
    assert len(password) >= 40
    jaas = base64.b64decode(secret["data"]["sasl.jaas.config"]).decode()
    assert jaas == (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="alice" password="{password}";'
    )
    # The password is nowhere else: not in the KafkaUser.
    assert password not in json.dumps(
        kube.must_get("kopfka.dev/v1alpha1", "KafkaUser", "alice", namespace)
    )

    # More syncs (the periodic resync, and a change of the KafkaUser) leave the Secret alone.
    before = user_syncs(metrics_url)
    kube.merge_patch(
        "kopfka.dev/v1alpha1",
        "KafkaUser",
        "alice",
        namespace,
        {"spec": {"quotas": {"consumerByteRate": 2048}}},
    )
    wait_for(
        lambda: user_syncs(metrics_url) >= before + 3,
        timeout=TIMEOUT,
        what="three more syncs of KafkaUsers",
    )
    wait_user_reason(kube, "alice", namespace, NO_KAFKA_REASON)
    again = kube.must_get("v1", "Secret", "alice", namespace)
    assert again["metadata"]["resourceVersion"] == secret["metadata"]["resourceVersion"]
    assert again["data"] == secret["data"]


def test_the_user_job_carries_no_password(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    """The Job the sync would start, as the API server stores it (a dry run): the password
    Secret is mounted by name, and its value appears nowhere in the Job."""
    kube.apply(
        kafka_cluster("events", namespace, SCRAM_CLUSTER), kafka_user("bob", namespace, USER)
    )
    wait_user_reason(kube, "bob", namespace, NO_KAFKA_REASON)
    secret = kube.must_get("v1", "Secret", "bob", namespace)
    password = base64.b64decode(secret["data"]["password"]).decode()

    cluster = parse_cluster("events", namespace, SCRAM_CLUSTER)
    work = UserWork(
        credentials={"bob": secret["metadata"]["uid"]},
        quotas={"bob": {"producer_byte_rate": 1048576.0}},
    )
    config_map, job = render_user_job(
        cluster,
        work=work_file(work),
        credentials=work.credentials,
        bootstrap=cluster.operator_bootstrap,
        image=JobImage("kopfka/operator:test", "IfNotPresent"),
    )
    batch = BatchV1Api(kube.api_client)
    stored = kube.api_client.sanitize_for_serialization(
        batch.create_namespaced_job(namespace, job, dry_run="All")
    )
    text = json.dumps(stored) + json.dumps(config_map)
    assert password not in text
    assert secret["data"]["password"] not in text
    pod = stored["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert "env" not in container
    assert "envFrom" not in container
    assert pod["automountServiceAccountToken"] is False
    [passwords] = [volume for volume in pod["volumes"] if volume["name"] == "passwords"]
    assert passwords["projected"]["sources"] == [
        {"secret": {"name": "bob", "items": [{"key": "password", "path": "bob"}]}}
    ]
    assert {"name": "passwords", "mountPath": "/passwords", "readOnly": True} in container[
        "volumeMounts"
    ]


def test_bad_inputs_get_a_condition_or_are_refused(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    # A cluster that does not exist.
    kube.apply(kafka_user("orphan", namespace, USER))
    orphan = wait_user_reason(kube, "orphan", namespace, "ClusterNotFound")
    assert condition(orphan, "Ready")["message"] == (  # type: ignore[index]
        f"KafkaCluster events does not exist in namespace {namespace}"
    )
    # A cluster without a SCRAM listener: no password is made, nothing changes in Kafka.
    kube.apply(kafka_cluster("events", namespace, DEDICATED))
    orphan = wait_user_reason(kube, "orphan", namespace, "NoScramListener")
    assert (
        "KafkaCluster events has no listener with authentication scram-sha-512"
        in (condition(orphan, "Ready") or {})["message"]
    )
    assert kube.get("v1", "Secret", "orphan", namespace) is None
    # A Secret of the user's name that kopfka did not make is never taken over.
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "carol", "namespace": namespace},
            "stringData": {"password": "mine"},
        },
        kafka_cluster("events", namespace, SCRAM_CLUSTER),
        kafka_user("carol", namespace, USER),
    )
    carol = wait_user_reason(kube, "carol", namespace, "SecretNotOwned")
    assert (
        "Secret carol exists and kopfka did not make it"
        in (condition(carol, "Ready") or {})["message"]
    )
    assert (
        base64.b64decode(kube.must_get("v1", "Secret", "carol", namespace)["data"]["password"])
        == b"mine"
    )
    # ACLs for a cluster that does not authorize: refused with a reason, not silently ignored.
    kube.apply(kafka_user("frank", namespace, acls(ORDERS_ACL)))
    frank = wait_user_reason(kube, "frank", namespace, "NoAuthorizer")
    assert (
        "KafkaCluster events has no spec.authorization"
        in ((condition(frank, "Ready") or {})["message"])
    )
    assert kube.get("v1", "Secret", "frank", namespace) is None

    refused = {
        "unknown-authentication": (
            {**USER, "authentication": {"type": "kerberos"}},
            'Unsupported value: "kerberos"',
        ),
        "no-cluster": (
            {"authentication": {"type": "scram-sha-512"}},
            "spec.cluster: Required value",
        ),
        "no-authentication": ({"cluster": "events"}, "spec.authentication: Required value"),
        "zero-quota": (
            {**USER, "quotas": {"requestPercentage": 0}},
            "spec.quotas.requestPercentage",
        ),
        "negative-rate": (
            {**USER, "quotas": {"producerByteRate": -1}},
            "spec.quotas.producerByteRate",
        ),
        "write-on-a-group": (
            acls({"resource": {"type": "group", "name": "g"}, "operations": ["Write"]}),
            "operations on a group must be among All, Read, Describe, Delete",
        ),
        "topic-name-characters": (
            acls({"resource": {"type": "topic", "name": "orders/eu"}, "operations": ["Read"]}),
            "a topic name (or prefix) has only a-z, A-Z, 0-9",
        ),
        "topic-without-name": (
            acls({"resource": {"type": "topic"}, "operations": ["Read"]}),
            "resource.name is required, except for type cluster",
        ),
        "cluster-with-name": (
            acls({"resource": {"type": "cluster", "name": "c"}, "operations": ["Alter"]}),
            "resource.name is required, except for type cluster",
        ),
        "wildcard-prefix": (
            acls(
                {
                    "resource": {"type": "group", "name": "*", "patternType": "prefix"},
                    "operations": ["Read"],
                }
            ),
            "'*' means every resource only with patternType literal",
        ),
        "host-not-an-address": (
            acls(
                {
                    "resource": {"type": "topic", "name": "t"},
                    "operations": ["Read"],
                    "host": "example.com",
                }
            ),
            "spec.authorization.acls[0].host in body should match",
        ),
    }
    for name, (spec, message) in refused.items():
        assert message in kube.apply_refused(kafka_user(name, namespace, spec)), name
    # A user name Kubernetes does not allow as a name (so never one Kafka would get).
    assert "RFC 1123" in kube.apply_refused(kafka_user("Alice", namespace, USER))
    # The cluster cannot change.
    kube.apply(kafka_user("dave", namespace, USER))
    assert "cluster cannot change" in kube.apply_refused(
        kafka_user("dave", namespace, {**USER, "cluster": "other"})
    )


def test_deletion_waits_for_kafka_and_is_released_when_the_cluster_goes(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    kube.apply(
        kafka_cluster("events", namespace, SCRAM_CLUSTER), kafka_user("erin", namespace, USER)
    )
    wait_user_reason(kube, "erin", namespace, NO_KAFKA_REASON)
    assert kube.get("v1", "Secret", "erin", namespace) is not None

    # Kafka cannot be reached, so the credential cannot be removed yet: the KafkaUser waits.
    kube.delete("kopfka.dev/v1alpha1", "KafkaUser", "erin", namespace)
    erin = kube.must_get("kopfka.dev/v1alpha1", "KafkaUser", "erin", namespace)
    assert erin["metadata"].get("deletionTimestamp")

    kube.delete("kopfka.dev/v1alpha1", "KafkaCluster", "events", namespace)
    wait_for(
        lambda: kube.get("kopfka.dev/v1alpha1", "KafkaUser", "erin", namespace) is None,
        timeout=TIMEOUT,
        what="the KafkaUser to go once its cluster is gone",
    )
    released = [
        event
        for event in kube.list("v1", "Event", namespace)
        if event["involvedObject"]["name"] == "erin" and event["reason"] == "FinalizerReleased"
    ]
    assert len(released) == 1, released
    assert released[0]["type"] == "Warning"
    # The garbage collector deletes the password Secret with its KafkaUser.
    wait_for(
        lambda: kube.get("v1", "Secret", "erin", namespace) is None,
        timeout=TIMEOUT,
        what="the password Secret to be garbage-collected",
    )
