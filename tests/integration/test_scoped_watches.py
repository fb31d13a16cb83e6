"""The operator's watches are scoped on the API server, and `kopfka run -n NS` needs no cluster-wide
rights at all.

The pod watch asks the API server for kopfka's pods only (a label selector in the request), so
the operator neither receives nor keeps the cluster's other pods. With namespaces given, every
request the operator sends stays inside them: the second test runs it as a service account that
only has a Role in its namespace, through its own recording proxy, and finds no refused and no
cluster-scoped request while it makes a cluster Ready, checks a topic and runs its periodic work.
Its identity is the Helm chart's in namespaced mode (`watchNamespaces: [NS]`), rendered with
`helm template`: what the test proves enough is what users install.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.controlplane import ControlPlane
from tests.support import chart
from tests.support.apiproxy import ApiProxy, Request
from tests.support.clusters import wait_condition, wait_topic_reason
from tests.support.kube import Obj, TestKube
from tests.support.manifests import COMBINED_EPHEMERAL, kafka_cluster, kafka_topic
from tests.support.operator import NO_KAFKA_REASON, TIER_DRIFT_INTERVAL, OperatorProcess
from tests.support.waiting import wait_for

KOPFKA_PODS = {"app.kubernetes.io/managed-by=kopfka", "kopfka.dev/cluster"}
POD_COLLECTION = re.compile(r"^/api/v1/(namespaces/[^/]+/)?pods$")
# Discovery (what every client reads to find resources); any authenticated user may read it.
DISCOVERY = re.compile(r"^/(version|api(/v1)?|apis(/[^/]+(/[^/]+)?)?)$")
# The chart's release in the test's namespace, watching that namespace only.
RELEASE = "scoped"


def _selector(request: Request) -> set[str]:
    return {part for part in request.query.get("labelSelector", "").split(",") if part}


def _pod_lists_and_watches(proxy: ApiProxy) -> list[Request]:
    return [
        request
        for request in proxy.requests(method="GET")
        if POD_COLLECTION.match(request.resource_path)
    ]


def test_the_pod_watch_selects_kopfkas_pods_on_the_server(
    operator: OperatorProcess, api_proxy: ApiProxy
) -> None:
    watches = wait_for(
        lambda: [r for r in _pod_lists_and_watches(api_proxy) if r.query.get("watch") == "true"],
        timeout=30,
        what="the operator's pod watch request",
    )
    assert all(_selector(watch) >= KOPFKA_PODS for watch in watches), [str(w) for w in watches]
    # Every list of pods too (kopf's initial listing and the operator's own per-cluster lists):
    # none asks for the cluster's pods at large.
    unscoped = [
        str(request)
        for request in _pod_lists_and_watches(api_proxy)
        if not any(part.startswith("kopfka.dev/cluster") for part in _selector(request))
    ]
    assert unscoped == []


def _namespaced_identity(namespace: str) -> list[Obj]:
    """The chart's ServiceAccount, Role and RoleBinding with `watchNamespaces: [namespace]`."""
    rendered = chart.render(
        release=RELEASE, namespace=namespace, values={"watchNamespaces": [namespace]}
    )
    identity = chart.identity(rendered)
    assert {obj["kind"] for obj in identity} == {"ServiceAccount", "Role", "RoleBinding"}
    return identity


@pytest.fixture
def namespaced_proxy(
    kube: TestKube, control_plane: ControlPlane, namespace: str, tmp_path: Path
) -> Iterator[ApiProxy]:
    """A recording proxy that authenticates as the chart's service account, with the chart's Role
    in `namespace`."""
    identity = _namespaced_identity(namespace)
    kube.apply(*identity)
    kubeconfig = chart.service_account_kubeconfig(
        kubectl=control_plane.bin_dir / "kubectl",
        admin_kubeconfig=control_plane.kubeconfig,
        account=chart.one(identity, "ServiceAccount")["metadata"]["name"],
        namespace=namespace,
        path=tmp_path / "sa-kubeconfig.yaml",
    )
    # The API server enforces RBAC: the account cannot list pods outside its namespace.
    kubectl = [str(control_plane.bin_dir / "kubectl"), "--kubeconfig", str(kubeconfig)]
    refused = subprocess.run(
        [*kubectl, "get", "pods", "--all-namespaces"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert refused.returncode != 0, refused
    assert "forbidden" in refused.stderr, refused
    proxy = ApiProxy(upstream_kubeconfig=kubeconfig, workdir=tmp_path, env=control_plane.environ())
    proxy.start()
    yield proxy
    proxy.stop()


def test_an_operator_restricted_to_a_namespace_needs_only_a_role_there(
    kube: TestKube,
    operator: OperatorProcess,
    namespaced_proxy: ApiProxy,
    namespace: str,
    tmp_path: Path,
) -> None:
    env = dict(operator.env, KUBECONFIG=str(namespaced_proxy.kubeconfig))
    restricted = OperatorProcess(
        env=env, log_path=tmp_path / "operator.log", args=["--namespace", namespace]
    )
    # One operator at a time: the session's operator watches every namespace.
    operator.stop()
    try:
        restricted.start()
        kube.apply(
            kafka_cluster("events", namespace, COMBINED_EPHEMERAL),
            kafka_topic(
                "orders", namespace, {"cluster": "events", "partitions": 3, "replicationFactor": 1}
            ),
        )
        wait_condition(kube, "KafkaCluster", "events", namespace, type="Ready", status="True")
        wait_topic_reason(kube, "orders", namespace, NO_KAFKA_REASON)
        ready_at = max(request.time for request in namespaced_proxy.requests())
        wait_for(
            # Each reconcile lists the cluster's volume claims; no status refresh does.
            lambda: namespaced_proxy.requests(
                since=ready_at, path="/persistentvolumeclaims?", method="GET"
            ),
            timeout=TIER_DRIFT_INTERVAL * 4,
            what="a periodic reconcile of the cluster",
        )
    finally:
        restricted.stop()
        operator.start()

    sent = namespaced_proxy.requests()
    refused = [str(r) for r in sent if r.status in (401, 403)]
    outside = [
        str(r)
        for r in sent
        if not DISCOVERY.match(r.resource_path)
        and f"/namespaces/{namespace}/" not in r.resource_path
    ]
    assert refused == []
    assert outside == []
    pod_watches = [r for r in _pod_lists_and_watches(namespaced_proxy) if r.query.get("watch")]
    assert pod_watches
    for watch in pod_watches:
        assert watch.resource_path == f"/api/v1/namespaces/{namespace}/pods"
        assert _selector(watch) >= KOPFKA_PODS
