"""A change that needs a restart takes effect whole, pod by pod, never halfway.

Each config revision has its own ConfigMap and pods mount the one they were made with, so a
container that restarts in an old pod reads the old config (which matches its pod spec), and an
old revision goes away only once no pod mounts it. Services target ports by name, so while pods
run the old spec, clients reach them where they actually listen.
"""

from __future__ import annotations

import time
from typing import Any

from tests.support.apiproxy import ApiProxy
from tests.support.clusters import mounted_config_name, pods, wait_condition, wait_ready
from tests.support.kube import Obj, TestKube
from tests.support.manifests import DEDICATED, kafka_cluster
from tests.support.operator import TIER_DRIFT_INTERVAL, OperatorProcess
from tests.support.steady import drift_runs
from tests.support.waiting import wait_for

BROKERS = ["events-brokers-0", "events-brokers-1", "events-brokers-2"]
# A periodic reconcile comes within the drift interval; allow for a busy control plane.
RECONCILE_TIMEOUT = 30 + 4 * TIER_DRIFT_INTERVAL


def _patch_spec(kube: TestKube, namespace: str, spec: dict[str, Any]) -> None:
    kube.merge_patch("kopfka.dev/v1alpha1", "KafkaCluster", "events", namespace, {"spec": spec})


def _mounted_by_pods(kube: TestKube, namespace: str) -> dict[str, str]:
    return {
        name: next(
            volume["configMap"]["name"]
            for volume in pod["spec"]["volumes"]
            if volume["name"] == "config"
        )
        for name, pod in pods(kube, "events", namespace).items()
        if name in BROKERS
    }


def _replace_pods(kube: TestKube, namespace: str, names: list[str]) -> None:
    """Delete pods as a restart would; the StatefulSet makes them again from its template."""
    before = {name: pod["metadata"]["uid"] for name, pod in pods(kube, "events", namespace).items()}
    kube.kubectl("delete", "pod", *names, "-n", namespace, "--wait=false")

    def replaced() -> bool:
        now = pods(kube, "events", namespace)
        return all(name in now and now[name]["metadata"]["uid"] != before[name] for name in names)

    wait_for(replaced, timeout=120, what=f"pods {names} made again by their StatefulSet")


def _prune_ran_since(api_proxy: ApiProxy, namespace: str, mark: float) -> None:
    """Wait until a reconcile has run its prune step after `mark`: a later reconcile has had its
    chance to delete what it should not. The prune step reads the ConfigMaps from the operator's
    cache; the step after it lists the cluster's volume claims, which only a reconcile does."""
    wait_for(
        lambda: drift_runs(api_proxy, namespace, "events", mark) >= 1,
        timeout=RECONCILE_TIMEOUT,
        what="a reconcile of the cluster (its prune step included)",
    )


def test_a_restart_change_gets_a_new_config_revision_and_old_ones_last_while_pods_mount_them(
    kube: TestKube, operator: OperatorProcess, api_proxy: ApiProxy, namespace: str
) -> None:
    kube.apply(kafka_cluster("events", namespace))
    wait_ready(kube, "events", namespace)
    old = mounted_config_name(kube, "events-brokers", namespace)
    old_data = kube.must_get("v1", "ConfigMap", old, namespace)["data"]

    # auto.create.topics.enable is read at start-up only: it needs a restart.
    _patch_spec(kube, namespace, {"kafka": {"config": {"auto.create.topics.enable": "false"}}})
    new = wait_for(
        lambda: (name := mounted_config_name(kube, "events-brokers", namespace)) != old and name,
        timeout=60,
        what="the brokers' StatefulSet to mount a new config revision",
    )
    wait_condition(
        kube,
        "KafkaCluster",
        "events",
        namespace,
        type="Ready",
        status="False",
        reason="RestartPending",
    )
    assert (
        "auto.create.topics.enable=false"
        in kube.must_get("v1", "ConfigMap", new, namespace)["data"]["server.properties"]
    )
    # The running pods keep theirs, unchanged: a container restarting now reads the old config.
    assert _mounted_by_pods(kube, namespace) == dict.fromkeys(BROKERS, old)
    assert kube.must_get("v1", "ConfigMap", old, namespace)["data"] == old_data

    # One pod restarted: it runs the new revision; the others still mount the old one.
    _replace_pods(kube, namespace, BROKERS[:1])
    mark = time.time()
    _prune_ran_since(api_proxy, namespace, mark)
    assert _mounted_by_pods(kube, namespace) == {
        BROKERS[0]: new,
        BROKERS[1]: old,
        BROKERS[2]: old,
    }
    assert kube.get("v1", "ConfigMap", old, namespace) is not None

    # The last pods restarted: nothing mounts the old revision, and it goes.
    _replace_pods(kube, namespace, BROKERS[1:])
    wait_for(
        lambda: kube.get("v1", "ConfigMap", old, namespace) is None,
        timeout=RECONCILE_TIMEOUT,
        what=f"ConfigMap {old} to be deleted once no pod mounts it",
    )
    assert kube.get("v1", "ConfigMap", new, namespace) is not None


def _slice_ports(kube: TestKube, namespace: str) -> list[tuple[str, int]]:
    slices = kube.list(
        "discovery.k8s.io/v1",
        "EndpointSlice",
        namespace,
        {"kubernetes.io/service-name": "events-kafka-bootstrap"},
    )
    return sorted(
        (port["name"], port["port"])
        for found in slices
        if found.get("endpoints")
        for port in found.get("ports") or []
    )


def test_a_changed_listener_port_reaches_each_broker_where_it_listens(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    spec = {**DEDICATED, "listeners": [{"name": "plain", "port": 9092}]}
    kube.apply(kafka_cluster("events", namespace, spec))
    wait_ready(kube, "events", namespace)
    wait_for(
        lambda: _slice_ports(kube, namespace) == [("plain", 9092)],
        timeout=60,
        what="the bootstrap Service's endpoints on port 9092",
        describe=lambda: str(_slice_ports(kube, namespace)),
    )

    _patch_spec(kube, namespace, {"listeners": [{"name": "plain", "port": 9192}]})
    cluster: Obj = wait_condition(
        kube,
        "KafkaCluster",
        "events",
        namespace,
        type="Ready",
        status="False",
        reason="RestartPending",
    )
    service = kube.must_get("v1", "Service", "events-kafka-bootstrap", namespace)
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(9192, "plain")]
    assert cluster["status"]["bootstrapServers"] == f"events-kafka-bootstrap.{namespace}.svc:9192"
    # The brokers still listen on 9092, and the Service sends clients there.
    assert _slice_ports(kube, namespace) == [("plain", 9092)]

    _replace_pods(kube, namespace, BROKERS)
    wait_for(
        lambda: _slice_ports(kube, namespace) == [("plain", 9192)],
        timeout=60,
        what="the bootstrap Service's endpoints to follow the restarted brokers to 9192",
        describe=lambda: str(_slice_ports(kube, namespace)),
    )
    wait_ready(kube, "events", namespace)
