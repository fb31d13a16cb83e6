"""A window of periodic drift reconciles of a settled cluster, counted on the recording proxy: what
the zero-write tests watch."""

from __future__ import annotations

import time
from dataclasses import dataclass

from kopfka.model import names
from tests.support.apiproxy import ApiProxy
from tests.support.clusters import resource_versions
from tests.support.kube import TestKube
from tests.support.operator import TIER_DRIFT_INTERVAL
from tests.support.waiting import wait_for


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


def retries_pending(kube: TestKube, name: str, namespace: str) -> list[str]:
    """kopf's progress annotations on the KafkaCluster: a handler that failed for now (a
    RetryLater) and will run again, and whose eventual success removes them (a write)."""
    cluster = kube.must_get(names.API_VERSION, names.CLUSTER_KIND, name, namespace)
    annotations = cluster["metadata"].get("annotations") or {}
    prefix = f"{names.KOPF_STORAGE_PREFIX}/"
    return [
        key
        for key in annotations
        if key.startswith(prefix) and not key.endswith("last-handled-configuration")
    ]


@dataclass(frozen=True)
class Window:
    start: float  # when the window opened (for the proxy's requests since then)
    before: dict[str, str]  # resource_versions of the cluster and its children at the start


def steady_window(
    kube: TestKube, api_proxy: ApiProxy, name: str, namespace: str, *, runs: int
) -> Window:
    """Wait for the Ready cluster to settle (no handler of kopf's waiting to be retried, whose
    success kopf records with a write; then one drift run after now: whatever its pods' last
    events caused is done), then for `runs` more drift runs; the window they ran in."""
    wait_for(
        lambda: not retries_pending(kube, name, namespace),
        timeout=TIER_DRIFT_INTERVAL * 4 + 30,
        what="kopf's handler retries of the cluster to be over",
        describe=lambda: str(retries_pending(kube, name, namespace)),
    )
    settled_from = time.time()
    wait_for(
        lambda: drift_runs(api_proxy, namespace, name, settled_from) >= 1,
        timeout=TIER_DRIFT_INTERVAL * 4,
        what="a periodic drift reconcile after Ready",
    )
    window = Window(start=time.time(), before=resource_versions(kube, name, namespace))
    wait_for(
        lambda: drift_runs(api_proxy, namespace, name, window.start) >= runs,
        timeout=TIER_DRIFT_INTERVAL * (runs + 3),
        what=f"{runs} periodic drift reconciles",
    )
    return window


def assert_steady(kube: TestKube, api_proxy: ApiProxy, name: str, namespace: str) -> Window:
    """Two drift runs of the settled cluster write nothing in its namespace and leave every
    object's resourceVersion as it was; the window, for what else a test checks of it."""
    window = steady_window(kube, api_proxy, name, namespace, runs=2)
    writes = api_proxy.writes(since=window.start, path=f"/namespaces/{namespace}/")
    written = [str(write) for write in writes]
    assert written == [], written
    assert resource_versions(kube, name, namespace) == window.before
    return window
