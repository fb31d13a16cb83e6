"""The operator killed with SIGKILL in the middle of reconciling a new cluster, then started again,
converges with the one cluster id it was first given; a cluster whose status was lost gets its id
back from what holds it (volume claims, or the StatefulSets) instead of a new one.

The kill is made to land mid-reconcile: the proxy holds the StatefulSets' writes, so the operator
is caught after it applied the first children and before the StatefulSets.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.apiproxy import ApiProxy
from tests.support.clusters import children, pods, wait_ready
from tests.support.kube import Obj, TestKube
from tests.support.manifests import COMBINED_EPHEMERAL, DEDICATED, kafka_cluster
from tests.support.operator import OperatorProcess
from tests.support.waiting import wait_for


def _cluster_ids(statefulset: Obj) -> set[str]:
    return {
        env["value"]
        for container in statefulset["spec"]["template"]["spec"]["containers"]
        for env in container.get("env") or []
        if env["name"] == "KOPFKA_CLUSTER_ID"
    }


def test_killed_mid_reconcile_converges_with_one_cluster_id(
    kube: TestKube, operator: OperatorProcess, api_proxy: ApiProxy, namespace: str
) -> None:
    # Real writes of a StatefulSet (not the dry runs that come first) wait in the proxy.
    statefulset_writes = (
        rf"^PATCH /apis/apps/v1/namespaces/{namespace}/statefulsets/[^?]*\?(?!.*dryRun)"
    )
    with api_proxy.hold(statefulset_writes):
        kube.apply(kafka_cluster("events", namespace))
        wait_for(
            lambda: api_proxy.held(statefulset_writes),
            timeout=60,
            what="the operator to write its first StatefulSet",
        )
        operator.kill()
    recorded = (kube.cluster("events", namespace) or {}).get("status", {}).get("clusterId")
    made_before_restart = sorted(children(kube, "events", namespace))
    # Killed mid-reconcile: the id is recorded, the first children exist, no StatefulSet does.
    assert recorded
    assert "ServiceAccount/events-kafka" in made_before_restart
    assert not [name for name in made_before_restart if name.startswith("StatefulSet/")]

    operator.start()
    cluster = wait_ready(kube, "events", namespace)
    cluster_id = cluster["status"]["clusterId"]
    assert cluster_id == recorded
    made = children(kube, "events", namespace)
    assert len(made) == 11, f"children before the restart: {made_before_restart}"
    for role in ("controllers", "brokers"):
        assert _cluster_ids(made[f"StatefulSet/events-{role}"]) == {cluster_id}


@pytest.mark.parametrize(
    ("spec", "holder"),
    [(DEDICATED, "volume claims"), (COMBINED_EPHEMERAL, "StatefulSet")],
    ids=["persistent", "ephemeral"],
)
def test_a_cluster_whose_status_was_lost_gets_its_cluster_id_back(
    kube: TestKube,
    operator: OperatorProcess,
    namespace: str,
    spec: dict[str, Any],
    holder: str,
) -> None:
    kube.apply(kafka_cluster("events", namespace, spec))
    cluster_id = wait_ready(kube, "events", namespace)["status"]["clusterId"]
    uids = {name: pod["metadata"]["uid"] for name, pod in pods(kube, "events", namespace).items()}

    # Lost while the operator is down (a restore from a backup without status, for instance).
    operator.stop()
    kube.kubectl(
        "patch",
        "kafkacluster",
        "events",
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": None}),
    )
    assert "clusterId" not in (kube.cluster("events", namespace) or {}).get("status", {})
    operator.start()

    again = wait_ready(kube, "events", namespace)
    assert again["status"]["clusterId"] == cluster_id, f"the id should come back from {holder}"
    # Nothing was restarted or re-made: the pods are the same, and run the same id.
    assert {n: p["metadata"]["uid"] for n, p in pods(kube, "events", namespace).items()} == uids
    for name, obj in children(kube, "events", namespace).items():
        if name.startswith("StatefulSet/"):
            assert _cluster_ids(obj) == {cluster_id}
