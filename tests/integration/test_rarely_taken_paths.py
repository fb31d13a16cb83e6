"""Paths of the operator that the rest of the tier takes only by chance, made to happen.

Each one needs a permission of the chart's RBAC that nothing else uses, so without these tests
the least-privilege check (test_least_privilege.py) would find that permission unused, or used in
one run and not the next:

- claims without the cluster id (made by a kopfka older than the annotated claim template) get it
  from the next reconcile: `patch persistentvolumeclaims`;
- a topic that changes while its status is being written: the write is refused as stale (409),
  and the operator reads the topic again and writes the status of what it is now:
  `get kafkatopics`. The recording proxy holds the status write while the topic changes.
"""

from __future__ import annotations

from tests.support.apiproxy import ApiProxy
from tests.support.clusters import CLUSTER_LABEL, wait_ready, wait_topic_reason
from tests.support.kube import Obj, TestKube
from tests.support.manifests import COMBINED_EPHEMERAL, kafka_cluster, kafka_topic
from tests.support.operator import (
    NO_KAFKA_REASON,
    TIER_DRIFT_INTERVAL,
    TIER_TOPIC_RECHECK_INTERVAL,
    OperatorProcess,
)
from tests.support.waiting import wait_for

CLUSTER_ID = "kopfka.dev/cluster-id"
COMBINED_ON_CLAIMS = {
    "mode": "combined",
    "controllers": {"replicas": 1, "storage": {"type": "persistent-claim", "size": "1Gi"}},
}


def _claims(kube: TestKube, namespace: str) -> list[Obj]:
    return kube.list("v1", "PersistentVolumeClaim", namespace, labels={CLUSTER_LABEL: "events"})


def test_claims_without_the_cluster_id_get_it_back(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    kube.apply(kafka_cluster("events", namespace, COMBINED_ON_CLAIMS))
    cluster_id = wait_ready(kube, "events", namespace)["status"]["clusterId"]
    claims = _claims(kube, namespace)
    assert claims
    for claim in claims:
        kube.kubectl(
            "annotate", "pvc", claim["metadata"]["name"], f"{CLUSTER_ID}-", "-n", namespace
        )

    def ids() -> list[str | None]:
        return [
            (claim["metadata"].get("annotations") or {}).get(CLUSTER_ID)
            for claim in _claims(kube, namespace)
        ]

    wait_for(
        lambda: ids() == [cluster_id] * len(claims),
        timeout=TIER_DRIFT_INTERVAL * 4,
        what="the next reconcile to put the cluster id back on the claims",
        describe=lambda: str(ids()),
    )


def test_a_topic_changed_while_its_status_is_written_reports_what_it_is_now(
    kube: TestKube, operator: OperatorProcess, api_proxy: ApiProxy, namespace: str
) -> None:
    topic = kafka_topic(
        "orders", namespace, {"cluster": "events", "partitions": 3, "replicationFactor": 1}
    )
    kube.apply(topic)
    wait_topic_reason(kube, "orders", namespace, "ClusterNotFound")
    status_write = (
        f"^PATCH /apis/kopfka.dev/v1alpha1/namespaces/{namespace}/kafkatopics/orders/status"
    )
    with api_proxy.hold(status_write):
        # The periodic re-check finds the cluster and writes the topic's new status: held.
        kube.apply(kafka_cluster("events", namespace, COMBINED_EPHEMERAL))
        wait_for(
            lambda: api_proxy.held(status_write),
            timeout=TIER_TOPIC_RECHECK_INTERVAL * 4,
            what="the topic's status write to reach the proxy",
        )
        kube.kubectl("annotate", "kafkatopic", "orders", "example.com/touched=yes", "-n", namespace)
    wait_topic_reason(kube, "orders", namespace, NO_KAFKA_REASON)
    writes = api_proxy.requests(path=f"/namespaces/{namespace}/kafkatopics/orders/status")
    assert 409 in [request.status for request in writes if request.method == "PATCH"]
    stale_at = min(r.time for r in writes if r.method == "PATCH" and r.status == 409)
    reads = api_proxy.requests(
        since=stale_at, path=f"/namespaces/{namespace}/kafkatopics/orders", method="GET"
    )
    assert [r for r in reads if r.resource_path.endswith("/kafkatopics/orders")]
