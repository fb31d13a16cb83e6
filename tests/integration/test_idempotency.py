"""A reconcile of an unchanged cluster writes nothing, measured on the wire.

The operator reaches the API server only through the recording proxy (see conftest), so every
request it sends is counted. After the cluster is Ready and settled, the drift run reconciles it
again and again (KOPFKA_DRIFT_INTERVAL is 5s in this tier); over a window of several such runs no
resourceVersion of the cluster or a child may change, and the operator may send no write at all
for the namespace (no apply, no status patch, no Event).
"""

from __future__ import annotations

from tests.support.apiproxy import ApiProxy
from tests.support.clusters import resource_versions, wait_ready
from tests.support.kube import TestKube
from tests.support.manifests import kafka_cluster
from tests.support.operator import OperatorProcess
from tests.support.steady import steady_window

DRIFT_RUNS = 3


CHILD_PATHS = ("/serviceaccounts", "/configmaps", "/services", "/statefulsets", "/poddisruption")


def test_reconciling_an_unchanged_cluster_writes_nothing(
    kube: TestKube, operator: OperatorProcess, api_proxy: ApiProxy, namespace: str
) -> None:
    kube.apply(kafka_cluster("events", namespace))
    wait_ready(kube, "events", namespace)
    window = steady_window(kube, api_proxy, "events", namespace, runs=DRIFT_RUNS)
    writes = api_proxy.writes(since=window.start, path=f"/namespaces/{namespace}/")
    child_reads = [
        str(request)
        for request in api_proxy.requests(since=window.start, path=f"/namespaces/{namespace}/")
        if any(kind in request.path for kind in CHILD_PATHS) and "watch=" not in request.path
    ]
    after = resource_versions(kube, "events", namespace)

    assert [str(write) for write in writes] == []
    assert after == window.before
    assert len(window.before) == 12  # the cluster and its eleven children were all compared
    # ... with the operator's cache of its own objects, not by reading them again.
    assert child_reads == []
