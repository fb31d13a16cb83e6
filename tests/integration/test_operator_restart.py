"""The operator killed with SIGKILL in the middle of reconciling a new cluster, then started again,
converges: the cluster becomes Ready with the one cluster id it was first given."""

from __future__ import annotations

from tests.support.apiproxy import ApiProxy
from tests.support.clusters import children, wait_ready
from tests.support.kube import Obj, TestKube
from tests.support.manifests import kafka_cluster
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
    kube.apply(kafka_cluster("events", namespace))
    # Kill it as soon as it has applied its first child: the cluster id is recorded, some
    # children exist, the rest do not.
    first_child = f"/namespaces/{namespace}/serviceaccounts/events-kafka"
    wait_for(
        lambda: api_proxy.writes(path=first_child),
        timeout=60,
        what="the operator to apply the first child",
        interval=0.005,
    )
    operator.kill()
    recorded = (kube.cluster("events", namespace) or {}).get("status", {}).get("clusterId")
    made_before_restart = sorted(children(kube, "events", namespace))
    # The id is recorded before any child is applied.
    assert recorded

    operator.start()
    cluster = wait_ready(kube, "events", namespace)
    cluster_id = cluster["status"]["clusterId"]
    assert cluster_id == recorded
    made = children(kube, "events", namespace)
    assert len(made) == 10, f"children before the restart: {made_before_restart}"
    for role in ("controllers", "brokers"):
        assert _cluster_ids(made[f"StatefulSet/events-{role}"]) == {cluster_id}
