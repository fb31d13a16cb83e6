"""What the tests check about KafkaClusters and their children, and how they wait for it."""

from __future__ import annotations

import json

from kopfka.model.names import FIELD_MANAGER
from tests.support.kube import Obj, TestKube, condition, status_summary
from tests.support.waiting import wait_for

READY_TIMEOUT = 180.0
CONDITION_TIMEOUT = 60.0

# Every kind of object the operator makes for a cluster, as (apiVersion, kind).
CHILD_KINDS: tuple[tuple[str, str], ...] = (
    ("v1", "ServiceAccount"),
    ("v1", "ConfigMap"),
    ("v1", "Service"),
    ("apps/v1", "StatefulSet"),
    ("policy/v1", "PodDisruptionBudget"),
    # Clusters with spec.networkPolicy only.
    ("networking.k8s.io/v1", "NetworkPolicy"),
    # Clusters with TLS listeners only: the CA, its public certificate, the brokers' keys.
    ("v1", "Secret"),
)
CLUSTER_LABEL = "kopfka.dev/cluster"


def wait_condition(
    kube: TestKube,
    kind: str,
    name: str,
    namespace: str,
    *,
    type: str,
    status: str,
    reason: str | None = None,
    generation: bool = True,
    timeout: float = CONDITION_TIMEOUT,
) -> Obj:
    """Wait until the object's condition has `status` (and `reason`); with `generation`, the
    condition must also describe the object's current generation. Returns the object."""

    def probe() -> Obj | None:
        obj = kube.get("kopfka.dev/v1alpha1", kind, name, namespace)
        found = condition(obj, type)
        if obj is None or found is None or found.get("status") != status:
            return None
        if reason is not None and found.get("reason") != reason:
            return None
        if generation and found.get("observedGeneration") != obj["metadata"]["generation"]:
            return None
        return obj

    want = f"{type}={status}" + (f" ({reason})" if reason else "")
    return wait_for(
        probe,
        timeout=timeout,
        what=f"{kind} {namespace}/{name} to report {want}",
        describe=lambda: status_summary(kube.get("kopfka.dev/v1alpha1", kind, name, namespace)),
    )


def wait_topic_reason(
    kube: TestKube,
    name: str,
    namespace: str,
    reason: str,
    *,
    timeout: float = CONDITION_TIMEOUT,
) -> Obj:
    """Wait until the KafkaTopic says Ready=False with `reason` for its current generation."""
    return wait_condition(
        kube,
        "KafkaTopic",
        name,
        namespace,
        type="Ready",
        status="False",
        reason=reason,
        timeout=timeout,
    )


def wait_ready(kube: TestKube, name: str, namespace: str, *, timeout: float = READY_TIMEOUT) -> Obj:
    return wait_condition(
        kube, "KafkaCluster", name, namespace, type="Ready", status="True", timeout=timeout
    )


def pause(kube: TestKube, name: str, namespace: str) -> Obj:
    """Annotate the cluster paused and wait until the operator says so; the paused cluster."""
    kube.kubectl("annotate", "kafkacluster", name, "-n", namespace, "kopfka.dev/paused=true")
    return wait_condition(
        kube, "KafkaCluster", name, namespace, type="Reconciling", status="False", reason="Paused"
    )


def children(kube: TestKube, name: str, namespace: str) -> dict[str, Obj]:
    """The cluster's children by "Kind/name" (objects labelled with the cluster's name)."""
    found: dict[str, Obj] = {}
    for api_version, kind in CHILD_KINDS:
        for obj in kube.list(api_version, kind, namespace, {CLUSTER_LABEL: name}):
            found[f"{kind}/{obj['metadata']['name']}"] = obj
    return found


# Kubernetes' own controllers write the status of these (ready replicas, healthy pods) whenever
# pods change, a moment after kopfka has seen the pods: their resourceVersion is not kopfka's.
_STATUS_WRITTEN_BY_CONTROLLERS = frozenset({"StatefulSet", "PodDisruptionBudget"})


def _written_by_kopfka(kind: str, obj: Obj) -> str:
    """What changes when kopfka writes `obj`: its resourceVersion, or for the kinds whose status
    Kubernetes' controllers write, its spec's generation and kopfka's managed fields (the time
    and the fields of each of kopfka's writes)."""
    metadata = obj["metadata"]
    if kind not in _STATUS_WRITTEN_BY_CONTROLLERS:
        return str(metadata["resourceVersion"])
    mine = [
        [entry.get("operation"), entry.get("time"), entry.get("fieldsV1")]
        for entry in metadata.get("managedFields") or ()
        if entry.get("manager") == FIELD_MANAGER and entry.get("subresource") != "status"
    ]
    return json.dumps([metadata.get("generation"), mine], sort_keys=True)


def resource_versions(kube: TestKube, name: str, namespace: str) -> dict[str, str]:
    """A version of the KafkaCluster and of each child that any write of kopfka's changes (and
    no status write of Kubernetes' own controllers: _written_by_kopfka)."""
    versions = {
        key: _written_by_kopfka(key.split("/")[0], obj)
        for key, obj in children(kube, name, namespace).items()
    }
    versions["KafkaCluster"] = kube.cluster(name, namespace)["metadata"]["resourceVersion"]  # type: ignore[index]
    return versions


def pods(kube: TestKube, name: str, namespace: str) -> dict[str, Obj]:
    return {
        pod["metadata"]["name"]: pod
        for pod in kube.list("v1", "Pod", namespace, {CLUSTER_LABEL: name})
    }


def claims(kube: TestKube, namespace: str) -> list[str]:
    return sorted(
        claim["metadata"]["name"] for claim in kube.list("v1", "PersistentVolumeClaim", namespace)
    )


def mounted_config_name(kube: TestKube, statefulset: str, namespace: str) -> str:
    """The ConfigMap (config revision) that new pods of a StatefulSet mount."""
    live = kube.must_get("apps/v1", "StatefulSet", statefulset, namespace)
    volumes = live["spec"]["template"]["spec"]["volumes"]
    return str(next(v["configMap"]["name"] for v in volumes if v["name"] == "config"))


def mounted_config(kube: TestKube, statefulset: str, namespace: str) -> Obj:
    """The ConfigMap that new pods of a StatefulSet mount."""
    name = mounted_config_name(kube, statefulset, namespace)
    return kube.must_get("v1", "ConfigMap", name, namespace)
