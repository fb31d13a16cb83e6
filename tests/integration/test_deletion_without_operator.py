"""With the operator down (crashed, scaled to zero, uninstalled), deleting a KafkaCluster, a
KafkaTopic or their whole namespace completes: kopfka puts no finalizer on them, so nothing waits
for an operator that is not there. A finalizer an older kopfka left is removed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tests.support.clusters import wait_condition, wait_topic_reason
from tests.support.kube import TestKube
from tests.support.manifests import COMBINED_EPHEMERAL, kafka_cluster, kafka_topic
from tests.support.operator import NO_KAFKA_REASON, OperatorProcess
from tests.support.waiting import wait_for

DELETION_TIMEOUT = 60.0
# A namespace goes only once everything in it is gone: pods end their grace period on kwok, and
# the namespace controller makes several passes.
NAMESPACE_DELETION_TIMEOUT = 180.0
OLD_FINALIZER = "kopfka.dev/finalizer"
TOPIC_SPEC = {"cluster": "events", "partitions": 3, "replicationFactor": 1}


def _reconciled(kube: TestKube, namespace: str) -> None:
    """The operator has handled both: it wrote their status (and made its finalizer choice)."""
    wait_condition(kube, "KafkaCluster", "events", namespace, type="Ready", status="True")
    wait_topic_reason(kube, "orders", namespace, NO_KAFKA_REASON)


def _finalizers(kube: TestKube, namespace: str) -> dict[str, list[str]]:
    cluster = kube.cluster("events", namespace) or {"metadata": {}}
    topic = kube.topic("orders", namespace) or {"metadata": {}}
    return {
        "KafkaCluster": cluster["metadata"].get("finalizers") or [],
        "KafkaTopic": topic["metadata"].get("finalizers") or [],
    }


@contextmanager
def _operator_down(operator: OperatorProcess) -> Iterator[None]:
    """The operator stopped for the block, and running again after it (later tests need it)."""
    operator.stop()
    try:
        yield
    finally:
        operator.start()


def _apply_cluster_and_topic(kube: TestKube, namespace: str) -> None:
    kube.apply(
        kafka_cluster("events", namespace, COMBINED_EPHEMERAL),
        kafka_topic("orders", namespace, TOPIC_SPEC),
    )
    _reconciled(kube, namespace)


def test_cluster_and_topic_are_deleted_with_the_operator_down(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    _apply_cluster_and_topic(kube, namespace)
    assert _finalizers(kube, namespace) == {"KafkaCluster": [], "KafkaTopic": []}

    with _operator_down(operator):
        kube.kubectl("delete", "kafkatopic", "orders", "-n", namespace, "--wait=false")
        kube.kubectl("delete", "kafkacluster", "events", "-n", namespace, "--wait=false")
        wait_for(
            lambda: (
                kube.cluster("events", namespace) is None
                and kube.topic("orders", namespace) is None
            ),
            timeout=DELETION_TIMEOUT,
            what="the KafkaCluster and the KafkaTopic to be deleted",
            describe=lambda: str(_finalizers(kube, namespace)),
        )


def test_namespace_is_deleted_with_the_operator_down(
    kube: TestKube, operator: OperatorProcess, new_namespace: Callable[[], str]
) -> None:
    namespace = new_namespace()
    _apply_cluster_and_topic(kube, namespace)
    assert _finalizers(kube, namespace) == {"KafkaCluster": [], "KafkaTopic": []}

    with _operator_down(operator):
        kube.kubectl("delete", "namespace", namespace, "--wait=false")
        wait_for(
            lambda: kube.get("v1", "Namespace", namespace) is None,
            timeout=NAMESPACE_DELETION_TIMEOUT,
            what=f"namespace {namespace} to be deleted",
            describe=lambda: kube.kubectl("get", "namespace", namespace, "-o", "yaml"),
        )


def test_a_finalizer_left_by_an_older_kopfka_is_removed(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    cluster = kafka_cluster("events", namespace, COMBINED_EPHEMERAL)
    topic = kafka_topic("orders", namespace, TOPIC_SPEC)
    for obj in (cluster, topic):
        obj["metadata"]["finalizers"] = [OLD_FINALIZER]
    kube.apply(cluster, topic)
    _reconciled(kube, namespace)
    wait_for(
        lambda: _finalizers(kube, namespace) == {"KafkaCluster": [], "KafkaTopic": []},
        timeout=DELETION_TIMEOUT,
        what="the operator to remove the finalizer an older kopfka added",
        describe=lambda: str(_finalizers(kube, namespace)),
    )
