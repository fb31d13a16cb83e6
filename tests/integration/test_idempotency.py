"""A reconcile of an unchanged cluster writes nothing, measured on the wire.

The operator reaches the API server only through the recording proxy (see conftest), so every
request it sends is counted. After the cluster is Ready and settled, the drift run reconciles it
again and again (KOPFKA_DRIFT_INTERVAL is 5s in this tier); over a window of several such runs no
resourceVersion of the cluster or a child may change, and the operator may send no write at all
for the namespace (no apply, no status patch, no Event).
"""

from __future__ import annotations

import time

from tests.support.apiproxy import ApiProxy
from tests.support.clusters import resource_versions, wait_ready
from tests.support.kube import TestKube
from tests.support.manifests import kafka_cluster
from tests.support.operator import TIER_DRIFT_INTERVAL as DRIFT_INTERVAL
from tests.support.operator import OperatorProcess
from tests.support.waiting import wait_for

DRIFT_RUNS = 3


CHILD_PATHS = ("/serviceaccounts", "/configmaps", "/services", "/statefulsets", "/poddisruption")


def drift_runs(api_proxy: ApiProxy, namespace: str, name: str, since: float) -> int:
    """Full reconciles of `name` since `since`: each one lists the cluster's volume claims (to
    keep its cluster id on them), and nothing else does."""
    path = f"/api/v1/namespaces/{namespace}/persistentvolumeclaims"
    selected = f"app.kubernetes.io/instance={name}"
    return len(
        [
            request
            for request in api_proxy.requests(since=since, path=path, method="GET")
            if selected in request.query.get("labelSelector", "").split(",")
        ]
    )


def test_reconciling_an_unchanged_cluster_writes_nothing(
    kube: TestKube, operator: OperatorProcess, api_proxy: ApiProxy, namespace: str
) -> None:
    kube.apply(kafka_cluster("events", namespace))
    wait_ready(kube, "events", namespace)
    # Settled: one drift run completed after Ready (anything the pods' last events caused is done).
    ready_at = time.time()
    wait_for(
        lambda: drift_runs(api_proxy, namespace, "events", ready_at) >= 1,
        timeout=DRIFT_INTERVAL * 4,
        what="a periodic drift reconcile after Ready",
    )

    before = resource_versions(kube, "events", namespace)
    start = time.time()
    wait_for(
        lambda: drift_runs(api_proxy, namespace, "events", start) >= DRIFT_RUNS,
        timeout=DRIFT_INTERVAL * (DRIFT_RUNS + 3),
        what=f"{DRIFT_RUNS} periodic drift reconciles",
    )
    writes = api_proxy.writes(since=start, path=f"/namespaces/{namespace}/")
    child_reads = [
        str(request)
        for request in api_proxy.requests(since=start, path=f"/namespaces/{namespace}/")
        if any(kind in request.path for kind in CHILD_PATHS) and "watch=" not in request.path
    ]
    after = resource_versions(kube, "events", namespace)

    assert [str(write) for write in writes] == []
    assert after == before
    assert len(before) == 12  # the cluster and its eleven children were all compared
    # ... with the operator's cache of its own objects, not by reading them again.
    assert child_reads == []
