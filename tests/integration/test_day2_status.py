"""Day-2 changes on a running cluster (issue 8): status never lies, nothing is half-applied, scaling
never deletes brokers or changes replication silently, kept volumes keep their cluster id, and the
operator never takes over an object it did not make, and a new cluster refused halfway leaves
nothing behind. Against the real control plane."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kopfka.k8s.client import Kube
from kopfka.k8s.drift import contains
from kopfka.k8s.rest import RestClient
from tests.integration.controlplane import ControlPlane
from tests.support.clusters import (
    children,
    mounted_config,
    pause,
    pods,
    wait_condition,
    wait_ready,
)
from tests.support.kube import Obj, TestKube, condition
from tests.support.manifests import DEDICATED, kafka_cluster
from tests.support.operator import OperatorProcess
from tests.support.waiting import wait_for

GC_TIMEOUT = 120


def _spec(**brokers: Any) -> dict[str, Any]:
    spec = copy.deepcopy(DEDICATED)
    spec["brokers"].update(brokers)
    return spec


def _patch_spec(kube: TestKube, namespace: str, spec: dict[str, Any]) -> None:
    kube.merge_patch("kopfka.dev/v1alpha1", "KafkaCluster", "events", namespace, {"spec": spec})


def _refused(kube: TestKube, namespace: str, reason: str) -> str:
    """Wait until the cluster reports Ready=False for `reason` (this generation); the message."""
    cluster = wait_condition(
        kube, "KafkaCluster", "events", namespace, type="Ready", status="False", reason=reason
    )
    ready = condition(cluster, "Ready")
    assert ready is not None
    return str(ready["message"])


def _brokers(kube: TestKube, namespace: str) -> Obj:
    return kube.must_get("apps/v1", "StatefulSet", "events-brokers", namespace)


def _broker_properties(kube: TestKube, namespace: str) -> str:
    return str(mounted_config(kube, "events-brokers", namespace)["data"]["server.properties"])


def test_broker_scale_down_keeps_the_leaving_broker_until_it_is_drained_and_deletes_nothing(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    kube.apply(kafka_cluster("events", namespace, _spec(replicas=4)))
    wait_ready(kube, "events", namespace)
    before = {name: pod["metadata"]["uid"] for name, pod in pods(kube, "events", namespace).items()}

    # Draining needs Kafka, which this tier has not (the e2e tier's test_scaling drains for real):
    # the cluster says what it waits for, and the broker that leaves stays.
    _patch_spec(kube, namespace, {"brokers": {"replicas": 3}})
    cluster = wait_condition(
        kube,
        "KafkaCluster",
        "events",
        namespace,
        type="Reconciling",
        status="True",
        reason="RebalancePending",
    )
    reconciling = condition(cluster, "Reconciling")
    assert reconciling is not None
    assert "draining broker(s) 3 before they are removed" in reconciling["message"]
    assert _brokers(kube, namespace)["spec"]["replicas"] == 4
    after = {name: pod["metadata"]["uid"] for name, pod in pods(kube, "events", namespace).items()}
    assert after == before

    # Below the replication chosen at creation (3), the spec itself is refused, saying why.
    _patch_spec(kube, namespace, {"brokers": {"replicas": 1}})
    message = _refused(kube, namespace, "InvalidSpec")
    assert "default.replication.factor is 3 (chosen by kopfka when the cluster was made" in message
    assert _brokers(kube, namespace)["spec"]["replicas"] == 4
    assert "default.replication.factor=3" in _broker_properties(kube, namespace)

    # Setting it back is an ordinary, healthy spec again.
    _patch_spec(kube, namespace, {"brokers": {"replicas": 4}})
    wait_ready(kube, "events", namespace)


def test_scaling_up_keeps_the_replication_chosen_at_creation(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    kube.apply(kafka_cluster("events", namespace, _spec(replicas=1)))
    created = wait_ready(kube, "events", namespace)
    assert created["status"]["sizeDefaults"]["default.replication.factor"] == "1"

    _patch_spec(kube, namespace, {"brokers": {"replicas": 3}})
    wait_for(
        lambda: _brokers(kube, namespace)["spec"]["replicas"] == 3,
        timeout=60,
        what="three brokers in the StatefulSet",
    )
    scaled = wait_ready(kube, "events", namespace)
    assert scaled["status"]["sizeDefaults"] == created["status"]["sizeDefaults"]
    properties = _broker_properties(kube, namespace)
    assert "default.replication.factor=1" in properties
    assert "min.insync.replicas=1" in properties


def test_a_cluster_made_again_over_kept_volumes_gets_its_cluster_id_back(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    kube.apply(kafka_cluster("events", namespace))
    first = wait_ready(kube, "events", namespace)
    cluster_id = first["status"]["clusterId"]
    wait_for(
        lambda: (
            all(
                (claim["metadata"].get("annotations") or {}).get("kopfka.dev/cluster-id")
                == cluster_id
                for claim in kube.list("v1", "PersistentVolumeClaim", namespace)
            )
            and len(kube.list("v1", "PersistentVolumeClaim", namespace)) == 6
        ),
        timeout=60,
        what="the cluster id on every volume claim",
    )

    kube.kubectl("delete", "kafkacluster", "events", "-n", namespace, "--timeout=60s")
    wait_for(
        lambda: not children(kube, "events", namespace) and not pods(kube, "events", namespace),
        timeout=GC_TIMEOUT,
        what="the garbage collector to delete the children and pods",
    )
    assert len(kube.list("v1", "PersistentVolumeClaim", namespace)) == 6

    kube.apply(kafka_cluster("events", namespace))
    again = wait_ready(kube, "events", namespace)
    assert again["status"]["clusterId"] == cluster_id
    env = _brokers(kube, namespace)["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "KOPFKA_CLUSTER_ID", "value": cluster_id} in env


# One object of another team's for each kind kopfka caches (k8s/children.py), named as one of
# the cluster's children. kopfka's cache does not hold them (no managed-by label): each is found
# by the dry run that precedes the writes, read, and refused.
THEIRS = {
    "Service": {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "events-kafka-bootstrap"},
        "spec": {"selector": {"app": "another-team"}, "ports": [{"name": "web", "port": 80}]},
    },
    "ServiceAccount": {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "events-kafka", "annotations": {"team": "another-team"}},
    },
    "ConfigMap": {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "events-kafka-metrics"},
        "data": {"team": "another-team"},
    },
    "StatefulSet": {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "events-brokers"},
        "spec": {
            "serviceName": "another-team",
            "replicas": 0,
            "selector": {"matchLabels": {"app": "another-team"}},
            "template": {
                "metadata": {"labels": {"app": "another-team"}},
                "spec": {"containers": [{"name": "web", "image": "another-team/web:1"}]},
            },
        },
    },
    "PodDisruptionBudget": {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "events-controllers"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "another-team"}}},
    },
}


@pytest.mark.parametrize("kind", sorted(THEIRS))
def test_an_object_kopfka_did_not_make_is_not_taken_over(
    kube: TestKube, operator: OperatorProcess, namespace: str, kind: str
) -> None:
    theirs = copy.deepcopy(THEIRS[kind])
    theirs["metadata"]["namespace"] = namespace
    name = theirs["metadata"]["name"]
    kube.apply(theirs)
    kube.apply(kafka_cluster("events", namespace))
    message = _refused(kube, namespace, "ObjectNotOwned")
    assert f"{kind} {namespace}/{name} already exists" in message
    left = kube.must_get(theirs["apiVersion"], kind, name, namespace)
    assert contains(left, theirs)  # as they made it
    assert not left["metadata"].get("ownerReferences")
    assert not left["metadata"].get("labels")
    assert children(kube, "events", namespace) == {}


def test_paused_status_follows_the_pods(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    kube.apply(kafka_cluster("events", namespace))
    wait_ready(kube, "events", namespace)
    pause(kube, "events", namespace)
    # While paused the operator repairs nothing: the brokers stay gone, and status says so.
    kube.delete("apps/v1", "StatefulSet", "events-brokers", namespace)

    def reported() -> Obj | None:
        cluster = kube.cluster("events", namespace)
        ready = condition(cluster, "Ready")
        if cluster is None or ready is None or ready["status"] != "False":
            return None
        return cluster if cluster["status"].get("readyBrokers") == 0 else None

    paused = wait_for(reported, timeout=GC_TIMEOUT, what="status to report the brokers gone")
    reconciling = condition(paused, "Reconciling")
    assert reconciling is not None
    assert reconciling["reason"] == "Paused"
    assert kube.get("apps/v1", "StatefulSet", "events-brokers", namespace) is None

    kube.kubectl("annotate", "kafkacluster", "events", "-n", namespace, "kopfka.dev/paused-")
    wait_ready(kube, "events", namespace)


def test_a_pod_event_does_not_hide_a_refused_change(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    kube.apply(kafka_cluster("events", namespace))
    wait_ready(kube, "events", namespace)
    refused_spread = [
        {
            "maxSkew": 0,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule",
        }
    ]
    _patch_spec(
        kube, namespace, {"template": {"pod": {"topologySpreadConstraints": refused_spread}}}
    )
    _refused(kube, namespace, "ApplyFailed")
    # Pod events: a broker pod goes and comes back (the StatefulSet controller remakes it).
    old_uid = pods(kube, "events", namespace)["events-brokers-0"]["metadata"]["uid"]
    kube.delete("v1", "Pod", "events-brokers-0", namespace)

    def back() -> Obj | None:
        pod = pods(kube, "events", namespace).get("events-brokers-0")
        if pod is None or pod["metadata"]["uid"] == old_uid:
            return None
        ready = [c for c in pod.get("status", {}).get("conditions", []) if c["type"] == "Ready"]
        return pod if ready and ready[0]["status"] == "True" else None

    wait_for(back, timeout=60, what="events-brokers-0 to come back ready")
    # Let the operator see the pod's events: its node-id label is added on a status refresh.
    wait_for(
        lambda: (
            "kopfka.dev/node-id"
            in (pods(kube, "events", namespace)["events-brokers-0"]["metadata"].get("labels") or {})
        ),
        timeout=60,
        what="the operator to handle the new pod",
    )
    cluster = kube.cluster("events", namespace)
    ready = condition(cluster, "Ready")
    assert ready is not None
    assert (ready["status"], ready["reason"]) == ("False", "ApplyFailed")


def test_a_pod_gone_before_its_label_is_added_is_skipped(
    kube: TestKube, control_plane: ControlPlane, namespace: str
) -> None:
    """The operator lists the pods, then labels each: one deleted in between must not abort the
    reconcile (the API server answers 404 to the label patch)."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "events-brokers-0", "namespace": namespace},
        "spec": {"containers": [{"name": "kafka", "image": "kopfka/kafka:4.4.0"}]},
    }
    kube.apply(pod)
    listed = kube.must_get("v1", "Pod", "events-brokers-0", namespace)
    kube.kubectl("delete", "pod", "events-brokers-0", "-n", namespace, "--wait=true")
    api_client = RestClient.from_kubeconfig(control_plane.kubeconfig)
    try:
        Kube(api_client).add_metadata(listed, labels={"kopfka.dev/node-id": "0"})
    finally:
        api_client.close()
    assert kube.get("v1", "Pod", "events-brokers-0", namespace) is None


def test_a_new_cluster_refused_halfway_by_a_quota_leaves_no_child(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    """Both StatefulSets pass their dry runs (each alone fits the quota); the second one's write
    is refused. Everything the apply made before it, the first StatefulSet too, is deleted."""
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "one-statefulset", "namespace": namespace},
            "spec": {"hard": {"count/statefulsets.apps": "1"}},
        }
    )
    wait_for(
        lambda: (
            kube.must_get("v1", "ResourceQuota", "one-statefulset", namespace).get("status") or {}
        ).get("hard"),
        timeout=60,
        what="the quota controller to count the namespace's StatefulSets",
    )
    kube.apply(kafka_cluster("events", namespace, DEDICATED))
    failed = wait_condition(
        kube,
        "KafkaCluster",
        "events",
        namespace,
        type="Ready",
        status="False",
        reason="ApplyFailed",
    )
    ready = condition(failed, "Ready")
    assert ready is not None
    assert "StatefulSet events-brokers" in ready["message"]
    assert "exceeded quota" in ready["message"]
    assert children(kube, "events", namespace) == {}
    # The controllers' pods, made while their StatefulSet was there, go with it.
    wait_for(
        lambda: not pods(kube, "events", namespace),
        timeout=GC_TIMEOUT,
        what="the garbage collector to delete the pods of the StatefulSet undone",
        describe=lambda: str(sorted(pods(kube, "events", namespace))),
    )
