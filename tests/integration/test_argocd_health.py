"""Argo CD's view of kopfka's resources: the health checks of manifests/argocd, run with the real
lua5.1 on KafkaClusters and KafkaTopics that the real operator drove into each state, as the API
server returns them. With KOPFKA_WRITE_ARGOCD_CASES=1 the objects are also saved under
tests/cases/argocd/, where the unit tier checks them again."""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.support.clusters import pause, wait_condition, wait_ready
from tests.support.kube import Obj, TestKube, condition
from tests.support.lua import health_of, write_case, writing_cases
from tests.support.manifests import COMBINED_EPHEMERAL, DEDICATED, kafka_cluster, kafka_topic
from tests.support.operator import NO_KAFKA_REASON, TIER_TOPIC_RECHECK_INTERVAL, OperatorProcess
from tests.support.waiting import wait_for

# Long enough for a topic recheck or two after the cluster changes.
TIMEOUT = 60 + 5 * TIER_TOPIC_RECHECK_INTERVAL
# No node carries this label, so pods that require it are never scheduled.
UNSCHEDULABLE: dict[str, Any] = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": "kopfka.dev/no-such-node", "operator": "Exists"}]}
            ]
        }
    }
}


def _expect(case: str, obj: Obj | None, status: str, includes: str, *, what: str) -> None:
    """The check gives `obj` the `status`, with `includes` in its message; saved as `case`."""
    assert obj is not None, f"{case}: the object is gone"
    health = health_of(obj)
    assert (health.status, includes in health.message) == (status, True), (
        f"{case} ({what}): {health}; status: {json.dumps(obj.get('status'), sort_keys=True)}"
    )
    if writing_cases():
        write_case(case, what=what, obj=obj, health=health, includes=includes)


def _not_ready(kube: TestKube, kind: str, name: str, namespace: str, reason: str) -> Obj:
    """Wait until the object reports Ready=False for `reason` (this generation); the object."""
    return wait_condition(
        kube, kind, name, namespace, type="Ready", status="False", reason=reason, timeout=TIMEOUT
    )


def _ready_message(obj: Obj) -> str:
    ready = condition(obj, "Ready")
    assert ready is not None
    return str(ready["message"])


def _wait_observed(kube: TestKube, name: str, namespace: str, generation: int) -> Obj:
    def observed() -> Obj | None:
        cluster = kube.cluster(name, namespace)
        status = (cluster or {}).get("status") or {}
        return cluster if status.get("observedGeneration") == generation else None

    return wait_for(observed, timeout=TIMEOUT, what=f"generation {generation} of {name} observed")


def _patch_spec(kube: TestKube, kind: str, name: str, namespace: str, spec: Obj) -> Obj:
    return kube.merge_patch("kopfka.dev/v1alpha1", kind, name, namespace, {"spec": spec})


def test_cluster_health_through_day_two(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    # Four brokers: going down to three is refused as a scale-down, not for replication (3).
    spec = copy.deepcopy(DEDICATED)
    spec["brokers"]["replicas"] = 4
    kube.apply(kafka_cluster("events", namespace, spec))
    ready = wait_ready(kube, "events", namespace)
    _expect("cluster-ready", ready, "Healthy", "7/7 nodes ready", what="Ready=True")

    # With the operator stopped, nothing reports on a new spec or a new cluster.
    operator.stop()
    try:
        changed = _patch_spec(
            kube,
            "KafkaCluster",
            "events",
            namespace,
            {"kafka": {"config": {"log.retention.ms": "3600000"}}},
        )
        generation = changed["metadata"]["generation"]
        assert changed["status"]["observedGeneration"] == generation - 1
        _expect(
            "cluster-spec-not-observed",
            changed,
            "Progressing",
            f"waiting for the operator to reconcile generation {generation}",
            what="a spec change the operator has not seen",
        )
        kube.apply(kafka_cluster("fresh", namespace, COMBINED_EPHEMERAL))
        fresh = kube.cluster("fresh", namespace)
        assert fresh is not None
        assert "status" not in fresh
        _expect(
            "cluster-no-status",
            fresh,
            "Progressing",
            "waiting for the operator to report a status",
            what="a new cluster the operator has not seen",
        )
    finally:
        operator.start()
    assert health_of(wait_ready(kube, "events", namespace)).status == "Healthy"

    # A setting read at start-up only: the pods must restart, which kopfka leaves to the user.
    _patch_spec(
        kube,
        "KafkaCluster",
        "events",
        namespace,
        {"kafka": {"config": {"auto.create.topics.enable": "false"}}},
    )
    pending = _not_ready(kube, "KafkaCluster", "events", namespace, "RestartPending")
    _expect(
        "cluster-restart-pending",
        pending,
        "Progressing",
        "RestartPending: 7/7 nodes ready; the previous configuration still runs on",
        what="pods that run an outdated configuration",
    )

    # A scale-down keeps the broker that leaves until a rebalance drained it, which needs Kafka
    # (the e2e tier's test_scaling): here the StatefulSet keeps its four brokers.
    shrunk = _patch_spec(kube, "KafkaCluster", "events", namespace, {"brokers": {"replicas": 3}})
    _wait_observed(kube, "events", namespace, shrunk["metadata"]["generation"])
    brokers = kube.must_get("apps/v1", "StatefulSet", "events-brokers", namespace)
    assert brokers["spec"]["replicas"] == 4

    _patch_spec(kube, "KafkaCluster", "events", namespace, {"brokers": {"replicas": 4}})
    _not_ready(kube, "KafkaCluster", "events", namespace, "RestartPending")
    paused = pause(kube, "events", namespace)
    _expect(
        "cluster-paused",
        paused,
        "Suspended",
        "reconciliation is paused by the annotation kopfka.dev/paused",
        what="annotated kopfka.dev/paused=true",
    )
    # A spec change while paused is not observed (observedGeneration stays): still Suspended.
    _patch_spec(
        kube,
        "KafkaCluster",
        "events",
        namespace,
        {"kafka": {"config": {"log.retention.ms": "7200000"}}},
    )
    changed_paused = wait_condition(
        kube,
        "KafkaCluster",
        "events",
        namespace,
        type="Reconciling",
        status="False",
        reason="Paused",
    )
    status = changed_paused["status"]
    assert status["observedGeneration"] < changed_paused["metadata"]["generation"]
    _expect(
        "cluster-paused-spec-changed",
        changed_paused,
        "Suspended",
        "reconciliation is paused",
        what="a spec change made while paused",
    )


def test_cluster_whose_pods_cannot_start_is_progressing(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    spec = copy.deepcopy(COMBINED_EPHEMERAL)
    spec["template"] = {"pod": {"affinity": UNSCHEDULABLE}}
    kube.apply(kafka_cluster("events", namespace, spec))
    starting = _not_ready(kube, "KafkaCluster", "events", namespace, "PodsNotReady")
    _expect(
        "cluster-pods-not-ready",
        starting,
        "Progressing",
        "PodsNotReady: 0/1 nodes ready; waiting for events-nodes-0",
        what="pods that cannot be scheduled",
    )


def test_refused_cluster_spec_is_degraded(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    spec = copy.deepcopy(DEDICATED)
    spec["kafka"] = {"config": {"node.id": 5}}
    kube.apply(kafka_cluster("events", namespace, spec))
    refused = _not_ready(kube, "KafkaCluster", "events", namespace, "InvalidSpec")
    _expect(
        "cluster-invalid-spec",
        refused,
        "Degraded",
        "InvalidSpec: spec.kafka.config.node.id is set by the operator and cannot be configured",
        what="a spec the model refuses",
    )


def test_topic_health(kube: TestKube, operator: OperatorProcess, namespace: str) -> None:
    kube.apply(kafka_cluster("events", namespace, COMBINED_EPHEMERAL))
    kube.apply(
        kafka_topic("orders", namespace, {"cluster": "events", "partitions": 3}),
        kafka_topic("wide", namespace, {"cluster": "events", "replicationFactor": 3}),
        kafka_topic("stray", namespace, {"cluster": "nowhere"}),
    )
    cases = [
        (
            "orders",
            NO_KAFKA_REASON,
            "Progressing",
            "topic-kafka-unreachable",
            "a valid topic whose Kafka cannot be reached (yet)",
        ),
        ("wide", "InvalidSpec", "Degraded", "topic-invalid-spec", "more replicas than brokers"),
        ("stray", "ClusterNotFound", "Degraded", "topic-cluster-not-found", "no such cluster"),
    ]
    for name, reason, health, case, what in cases:
        topic = _not_ready(kube, "KafkaTopic", name, namespace, reason)
        _expect(case, topic, health, f"{reason}: {_ready_message(topic)}", what=what)
