"""A valid KafkaCluster becomes every child object, owned by the cluster, and Ready once kwok
reports its pods ready."""

from __future__ import annotations

from tests.support.clusters import children, claims, mounted_config_name, pods, wait_ready
from tests.support.kube import Obj, TestKube, condition
from tests.support.manifests import COMBINED_EPHEMERAL, kafka_cluster
from tests.support.operator import OperatorProcess
from tests.support.waiting import wait_for

NODE_ID = "kopfka.dev/node-id"
CONTROLLER_IDS = {
    "events-controllers-0": 9000,
    "events-controllers-1": 9001,
    "events-controllers-2": 9002,
}
BROKER_IDS = {"events-brokers-0": 0, "events-brokers-1": 1, "events-brokers-2": 2}


def _cluster_reference(cluster: Obj) -> Obj:
    return {
        "apiVersion": "kopfka.dev/v1alpha1",
        "kind": "KafkaCluster",
        "name": cluster["metadata"]["name"],
        "uid": cluster["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _owner_is(obj: Obj, cluster: Obj) -> None:
    references = obj["metadata"].get("ownerReferences") or []
    assert references == [_cluster_reference(cluster)], f"{obj['kind']} {obj['metadata']['name']}"


# The controllers' StatefulSet and Service: kept by the garbage collector until the last broker
# pod has stopped (brokers need a controller to stop cleanly).
CONTROLLER_OBJECTS = (("apps/v1", "StatefulSet"), ("v1", "Service"))


def _broker_references(kube: TestKube, namespace: str) -> list[Obj]:
    brokers = sorted(
        (p for p in pods(kube, "events", namespace).values() if "brokers" in p["metadata"]["name"]),
        key=lambda p: p["metadata"]["name"],
    )
    return [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "name": p["metadata"]["name"],
            "uid": p["metadata"]["uid"],
        }
        for p in brokers
    ]


def _wait_controllers_owned_by_brokers(kube: TestKube, cluster: Obj, namespace: str) -> None:
    def owned() -> bool:
        wanted = [_cluster_reference(cluster), *_broker_references(kube, namespace)]
        return len(wanted) == 4 and all(
            kube.must_get(api, kind, "events-controllers", namespace)["metadata"]["ownerReferences"]
            == wanted
            for api, kind in CONTROLLER_OBJECTS
        )

    wait_for(
        owned, timeout=30, what="the controllers' StatefulSet and Service owned by the broker pods"
    )


def _cluster_id_env(statefulset: Obj) -> set[str]:
    return {
        env["value"]
        for container in statefulset["spec"]["template"]["spec"]["containers"]
        for env in container.get("env") or []
        if env["name"] == "KOPFKA_CLUSTER_ID"
    }


def test_dedicated_cluster_gets_every_child_and_becomes_ready(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    kube.apply(kafka_cluster("events", namespace))
    cluster = wait_ready(kube, "events", namespace)

    made = children(kube, "events", namespace)
    configs = {
        role: mounted_config_name(kube, f"events-{role}", namespace)
        for role in ("controllers", "brokers")
    }
    assert set(made) == {
        "ServiceAccount/events-kafka",
        "ConfigMap/events-kafka-metrics",
        f"ConfigMap/{configs['controllers']}",
        f"ConfigMap/{configs['brokers']}",
        "Service/events-controllers",
        "Service/events-brokers",
        "Service/events-kafka-bootstrap",
        "StatefulSet/events-controllers",
        "StatefulSet/events-brokers",
        "PodDisruptionBudget/events-controllers",
        "PodDisruptionBudget/events-brokers",
    }
    for key, obj in made.items():
        if key not in {"StatefulSet/events-controllers", "Service/events-controllers"}:
            _owner_is(obj, cluster)
    _wait_controllers_owned_by_brokers(kube, cluster, namespace)
    assert made["Service/events-controllers"]["spec"]["clusterIP"] == "None"
    assert made["Service/events-brokers"]["spec"]["clusterIP"] == "None"
    bootstrap = made["Service/events-kafka-bootstrap"]["spec"]
    assert bootstrap["type"] == "ClusterIP"
    assert [port["port"] for port in bootstrap["ports"]] == [9092]
    for role in ("controllers", "brokers"):
        statefulset = made[f"StatefulSet/events-{role}"]
        assert statefulset["spec"]["replicas"] == 3
        assert statefulset["spec"]["updateStrategy"] == {"type": "OnDelete"}
        template = statefulset["spec"]["volumeClaimTemplates"][0]
        assert template["spec"]["resources"]["requests"]["storage"] == "1Gi"
        assert template["metadata"]["annotations"] == {
            "kopfka.dev/cluster-id": cluster["status"]["clusterId"]
        }

    status = cluster["status"]
    assert status["observedGeneration"] == cluster["metadata"]["generation"]
    assert status["clusterId"]
    assert status["bootstrapServers"] == f"events-kafka-bootstrap.{namespace}.svc:9092"
    assert status["readyBrokers"] == 3
    assert {node["pod"]: node["nodeId"] for node in status["nodes"]} == CONTROLLER_IDS | BROKER_IDS
    assert all(node["ready"] and node["upToDate"] for node in status["nodes"])
    assert status["rollout"]["pending"] == []
    reconciling = condition(cluster, "Reconciling")
    assert reconciling is not None
    assert reconciling["status"] == "False"
    # One cluster id, in status and in both StatefulSets.
    assert _cluster_id_env(made["StatefulSet/events-controllers"]) == {status["clusterId"]}
    assert _cluster_id_env(made["StatefulSet/events-brokers"]) == {status["clusterId"]}

    # Every pod carries its Kafka node id.
    def all_labelled() -> dict[str, Obj] | None:
        found = pods(kube, "events", namespace)
        return found if all(NODE_ID in p["metadata"]["labels"] for p in found.values()) else None

    labelled = wait_for(all_labelled, timeout=30, what="node-id labels on the pods")
    node_ids = {name: int(pod["metadata"]["labels"][NODE_ID]) for name, pod in labelled.items()}
    assert node_ids == CONTROLLER_IDS | BROKER_IDS
    # Pods are spread over the kwok nodes' zones by the scheduler and bound to their claims.
    assert all(pod["spec"].get("nodeName") for pod in labelled.values())
    assert claims(kube, namespace) == sorted(f"data-{name}" for name in labelled)
    bound = kube.list("v1", "PersistentVolumeClaim", namespace)
    assert {claim["status"]["phase"] for claim in bound} == {"Bound"}
    # Each claim carries the cluster id its data is formatted for (from its template).
    assert {claim["metadata"]["annotations"]["kopfka.dev/cluster-id"] for claim in bound} == {
        status["clusterId"]
    }


def test_combined_single_node_with_ephemeral_storage_becomes_ready(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    kube.apply(kafka_cluster("demo", namespace, COMBINED_EPHEMERAL))
    cluster = wait_ready(kube, "demo", namespace)

    made = children(kube, "demo", namespace)
    assert set(made) == {
        "ServiceAccount/demo-kafka",
        "ConfigMap/demo-kafka-metrics",
        f"ConfigMap/{mounted_config_name(kube, 'demo-nodes', namespace)}",
        "Service/demo-nodes",
        "Service/demo-kafka-bootstrap",
        "StatefulSet/demo-nodes",
        "PodDisruptionBudget/demo-nodes",
    }
    for obj in made.values():
        _owner_is(obj, cluster)
    statefulset = made["StatefulSet/demo-nodes"]["spec"]
    assert statefulset["replicas"] == 1
    assert "volumeClaimTemplates" not in statefulset
    volumes = {volume["name"]: volume for volume in statefulset["template"]["spec"]["volumes"]}
    assert "emptyDir" in volumes["data"]
    assert claims(kube, namespace) == []

    status = cluster["status"]
    assert status["readyBrokers"] == 1
    assert [(node["pod"], node["nodeId"], node["role"]) for node in status["nodes"]] == [
        ("demo-nodes-0", 0, "combined")
    ]
    assert status["bootstrapServers"] == f"demo-kafka-bootstrap.{namespace}.svc:9092"


def test_replaced_broker_pod_becomes_an_owner_of_the_controllers_objects(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    kube.apply(kafka_cluster("events", namespace))
    cluster = wait_ready(kube, "events", namespace)
    _wait_controllers_owned_by_brokers(kube, cluster, namespace)
    old = kube.must_get("v1", "Pod", "events-brokers-1", namespace)["metadata"]["uid"]
    kube.kubectl("delete", "pod", "events-brokers-1", "-n", namespace, "--wait=true")
    wait_for(
        lambda: (
            (pod := kube.get("v1", "Pod", "events-brokers-1", namespace)) is not None
            and pod["metadata"]["uid"] != old
        ),
        timeout=60,
        what="the StatefulSet to make events-brokers-1 again",
    )
    _wait_controllers_owned_by_brokers(kube, cluster, namespace)
