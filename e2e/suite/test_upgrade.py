"""A Kafka upgrade on a real node, as a user does it: change `spec.kafka.version` and watch.

A cluster of three combined nodes made with the previous Kafka release (4.3.1), under an acks=all
idempotent producer, is moved to the current one (4.4.0): kopfka rolls every node onto it, raises
the metadata version once all run it, and nothing acknowledged is lost. Then going back to 4.3.1,
which cannot run on the new metadata version, is refused before any node is touched.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import pytest

from e2e.suite.kafka_client import KafkaClient
from tests.support.clusters import CLUSTER_LABEL, wait_ready
from tests.support.kube import Obj, TestKube, condition, condition_true
from tests.support.manifests import kafka_cluster
from tests.support.waiting import wait_for

CLUSTER = "upgrade"
OLD, NEW = "4.3.1", "4.4.0"  # broker-image/versions.env: the previous and the current release
OLD_METADATA, NEW_METADATA = "4.3-IV0", "4.4-IV2"
TOPIC = "upgrade-orders"
READY_TIMEOUT = 300.0
UPGRADE_TIMEOUT = 900.0
REFUSAL_TIMEOUT = 120.0


@pytest.fixture(scope="module")
def client(kube: TestKube, operator: str, namespace: str) -> Iterator[KafkaClient]:
    node = {
        "replicas": 3,
        "storage": {"type": "persistent-claim", "size": "1Gi"},
        "resources": {
            "requests": {"cpu": "100m", "memory": "768Mi"},
            "limits": {"memory": "768Mi"},
        },
    }
    spec = {"mode": "combined", "kafka": {"version": OLD}, "controllers": node}
    kube.apply(kafka_cluster(CLUSTER, namespace, spec))
    wait_ready(kube, CLUSTER, namespace, timeout=READY_TIMEOUT)
    found = KafkaClient(
        kube, namespace, bootstrap=f"{CLUSTER}-kafka-bootstrap.{namespace}.svc:9092"
    )
    found.start(f"kopfka/kafka:{NEW}")
    yield found
    kube.kubectl("delete", "kafkacluster", CLUSTER, "-n", namespace, "--wait=false")


def _cluster(kube: TestKube, namespace: str) -> Obj:
    return kube.must_get("kopfka.dev/v1alpha1", "KafkaCluster", CLUSTER, namespace)


def _uids(kube: TestKube, namespace: str) -> dict[str, str]:
    pods = kube.list("v1", "Pod", namespace, labels={CLUSTER_LABEL: CLUSTER})
    return {pod["metadata"]["name"]: pod["metadata"]["uid"] for pod in pods}


def _set_version(kube: TestKube, namespace: str, version: str) -> None:
    patch = {"spec": {"kafka": {"version": version}}}
    kube.kubectl(
        "patch", "kafkacluster", CLUSTER, "-n", namespace, "--type=merge", "-p", json.dumps(patch)
    )


def test_an_upgrade_rolls_every_node_raises_the_metadata_version_and_loses_nothing(
    kube: TestKube, namespace: str, client: KafkaClient
) -> None:
    made = _cluster(kube, namespace)
    assert made["status"]["metadataVersion"] == OLD_METADATA
    assert client.finalized("metadata.version") == OLD_METADATA
    before = _uids(kube, namespace)
    client.create_topic(TOPIC, partitions=3, replicas=3, min_isr=2)
    producer = client.start_producing(TOPIC, count=10**6, value_prefix=1, throughput=100)
    _set_version(kube, namespace, NEW)

    def upgraded() -> Obj | None:
        found = _cluster(kube, namespace)
        status = found.get("status") or {}
        done = (
            status.get("kafkaVersion") == NEW
            and status.get("metadataVersion") == NEW_METADATA
            and condition_true(found, "Ready")
        )
        return found if done else None

    try:
        found = wait_for(
            upgraded,
            timeout=UPGRADE_TIMEOUT,
            what=f"every node on Kafka {NEW} and the metadata version raised to {NEW_METADATA}",
            describe=lambda: str(_cluster(kube, namespace).get("status")),
        )
    finally:
        produced = producer.stop()
    assert client.finalized("metadata.version") == NEW_METADATA
    after = _uids(kube, namespace)
    assert all(after[name] != uid for name, uid in before.items()), (before, after)
    pods = kube.list("v1", "Pod", namespace, labels={CLUSTER_LABEL: CLUSTER})
    assert {pod["spec"]["containers"][0]["image"] for pod in pods} == {f"kopfka/kafka:{NEW}"}
    reconciling = condition(found, "Reconciling")
    assert reconciling is not None
    assert reconciling["status"] == "False"
    jobs = kube.list(
        "batch/v1", "Job", namespace, labels={"app.kubernetes.io/component": "features-job"}
    )
    assert [job["metadata"]["name"].startswith(f"{CLUSTER}-features-") for job in jobs] == [True]

    assert not produced.failed, f"sends failed during the upgrade: {produced.failed[:5]}"
    assert len(produced.acked) > 1000, f"only {len(produced.acked)} writes during the upgrade"
    values = client.consume_all(TOPIC, expected=len(produced.acked))
    missing = set(produced.acked) - set(values)
    assert not missing, f"{len(missing)} writes acknowledged during the upgrade are lost"
    twice = [value for value, count in Counter(values).items() if count > 1]
    assert not twice, f"{len(twice)} values were written twice, e.g. {twice[:5]}"


def test_going_back_below_the_finalized_metadata_version_is_refused_and_touches_nothing(
    kube: TestKube, namespace: str, client: KafkaClient
) -> None:
    before = _uids(kube, namespace)
    _set_version(kube, namespace, OLD)
    refused = wait_for(
        lambda: (
            (found := _cluster(kube, namespace))
            and (item := condition(found, "Degraded")) is not None
            and item["reason"] == "VersionDowngradeRefused"
            and item["observedGeneration"] == found["metadata"]["generation"]
            and found
        ),
        timeout=REFUSAL_TIMEOUT,
        what=f"the move back to {OLD} to be refused",
        describe=lambda: str(_cluster(kube, namespace).get("status", {}).get("conditions")),
    )
    degraded = condition(refused, "Degraded")
    assert degraded is not None
    assert NEW_METADATA in degraded["message"], degraded["message"]
    assert f"keep spec.kafka.version at {NEW}" in degraded["message"], degraded["message"]
    statefulset = kube.must_get("apps/v1", "StatefulSet", f"{CLUSTER}-nodes", namespace)
    images = {c["image"] for c in statefulset["spec"]["template"]["spec"]["containers"]}
    assert images == {f"kopfka/kafka:{NEW}"}
    assert _uids(kube, namespace) == before
    assert client.finalized("metadata.version") == NEW_METADATA
    # Set back, the cluster is healthy again.
    _set_version(kube, namespace, NEW)
    wait_for(
        lambda: (
            (found := _cluster(kube, namespace))
            and (item := condition(found, "Degraded")) is not None
            and item["status"] == "False"
            and condition_true(found, "Ready")
        ),
        timeout=REFUSAL_TIMEOUT,
        what=f"the cluster to be healthy again on {NEW}",
    )
