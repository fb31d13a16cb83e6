"""Fixtures of the e2e tier: the real node (`e2e/node.sh up`), the test namespace, kopfka installed
on it with its Helm chart watching that namespace, and a failed test's diagnostics (pods, events,
logs, the operator's log) in the report.

The chart is installed in its namespaced mode (`watchNamespaces`: a Role in the test namespace,
nothing cluster-wide to act on), so that the suite's operator never touches clusters of a demo or
a benchmark on the same node; the demo installs the cluster-wide mode.

The node must be up before the tests start (`make test-e2e` brings it up and down); a missing node
is an error that says how to start it, never a skip.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.chart import CHART, helm, tool
from tests.support.kube import KubectlError, TestKube, condition_true
from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
NODE_SCRIPT = REPO / "e2e" / "node.sh"
OPERATOR_NAMESPACE = "kopfka-e2e-system"
NAMESPACE = "kopfka-e2e"
RELEASE = "kopfka"
HELM_WAIT = "180s"
TOPIC_RECHECK_SECONDS = 10
NAMESPACE_TIMEOUT = 180.0

# What the diagnostics hook reads: the client and the namespaces the tests use.
_observed: dict[str, Any] = {"namespaces": [OPERATOR_NAMESPACE]}


def observe_namespace(namespace: str) -> None:
    """Include `namespace` in the diagnostics of a failed test."""
    if namespace not in _observed["namespaces"]:
        _observed["namespaces"].append(namespace)


def kubeconfig_path() -> Path:
    configured = os.environ.get("KOPFKA_E2E_KUBECONFIG")
    if configured:
        return Path(configured)
    path = subprocess.run(
        [str(NODE_SCRIPT), "kubeconfig"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return Path(path)


@pytest.fixture(scope="session")
def kube() -> Iterator[TestKube]:
    kubeconfig = kubeconfig_path()
    if not kubeconfig.is_file():
        raise AssertionError(
            f"no e2e node: {kubeconfig} does not exist; start it with `make e2e-up`"
        )
    client = TestKube(kubeconfig=kubeconfig, kubectl=tool("kubectl"))
    ready = [
        node["metadata"]["name"]
        for node in client.list("v1", "Node")
        if condition_true(node, "Ready")
    ]
    if not ready:
        raise AssertionError("the e2e control plane has no Ready node; start it with `make e2e-up`")
    _observed["kube"] = client
    yield client
    client.close()


def delete_namespace(kube: TestKube, namespace: str) -> None:
    """Delete `namespace` and wait until it is gone.

    This is cleanup, not a test of deletion: its pods are deleted at once without their grace
    period, since the namespace controller, while pods stop, looks again only after the longest
    grace period (the brokers' is 300 s); and the finalizers of KafkaUsers and KafkaTopics are
    removed by hand, as docs/operations.md tells users to when no operator runs (an interrupted
    run leaves them, and the suite's operator is not installed yet, or no longer).
    """
    if kube.get("v1", "Namespace", namespace) is None:
        return
    for kind in ("kafkausers", "kafkatopics"):
        kube.kubectl("delete", kind, "--all", "-n", namespace, "--wait=false")
        for name in kube.kubectl("get", kind, "-n", namespace, "-o", "name").split():
            kube.kubectl(
                "patch", name, "-n", namespace, "--type=merge",
                "-p", '{"metadata": {"finalizers": null}}',
            )  # fmt: skip
    kube.kubectl("delete", "kafkaclusters", "--all", "-n", namespace, "--wait=false")
    kube.kubectl("delete", "pods", "--all", "-n", namespace, "--grace-period=0", "--force")
    kube.kubectl("delete", "namespace", namespace, "--wait=false")
    wait_for(
        lambda: kube.get("v1", "Namespace", namespace) is None,
        timeout=NAMESPACE_TIMEOUT,
        what=f"namespace {namespace} to be deleted",
    )


@pytest.fixture(scope="session")
def namespace(kube: TestKube) -> Iterator[str]:
    """The namespace the tests' clusters live in, made fresh (an interrupted run leaves one)."""
    delete_namespace(kube, NAMESPACE)
    kube.kubectl("create", "namespace", NAMESPACE)
    observe_namespace(NAMESPACE)
    yield NAMESPACE
    delete_namespace(kube, NAMESPACE)


def chart_values(namespace: str) -> dict[str, Any]:
    """The values the suite installs the chart with (also what test_monitoring.py renders)."""
    return {
        "watchNamespaces": [namespace],
        # Drift made in Kafka directly is found within seconds, not the default minute.
        "extraEnv": [
            {"name": "KOPFKA_TOPIC_RECHECK_INTERVAL", "value": str(TOPIC_RECHECK_SECONDS)}
        ],
    }


@pytest.fixture(scope="session")
def operator(kube: TestKube, namespace: str) -> Iterator[str]:
    """kopfka installed with its Helm chart, the way users install it, watching `namespace`;
    the release name. The CRDs are applied first, as docs/operations.md says to on every upgrade:
    Helm installs a chart's CRDs but never upgrades them, and the node may still have older ones
    from an earlier run."""
    kube.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CHART / "crds"))
    helm(
        "upgrade",
        "--install",
        RELEASE,
        str(CHART),
        "--kubeconfig",
        str(kube.kubeconfig),
        "--namespace",
        OPERATOR_NAMESPACE,
        "--create-namespace",
        "--wait",
        "--timeout",
        HELM_WAIT,
        values=chart_values(namespace),
    )
    yield RELEASE
    helm(
        "uninstall",
        RELEASE,
        "--kubeconfig",
        str(kube.kubeconfig),
        "--namespace",
        OPERATOR_NAMESPACE,
        "--wait",
        "--timeout",
        HELM_WAIT,
    )


def _run(kube: TestKube, *args: str) -> str:
    try:
        return kube.kubectl(*args)
    except KubectlError as error:
        return str(error)


def diagnostics(kube: TestKube, namespaces: list[str]) -> str:
    """What a person needs to see after a failure: objects, events, every pod's log."""
    parts = [
        "$ kubectl get nodes,pv -o wide",
        _run(kube, "get", "nodes,pv", "-o", "wide"),
    ]
    for namespace in namespaces:
        parts += [
            f"$ kubectl -n {namespace} get all,pvc,pdb,cm,kc,kt -o wide",
            _run(kube, "-n", namespace, "get", "all,pvc,pdb,cm,kc,kt", "-o", "wide"),
            f"$ kubectl -n {namespace} get events --sort-by=.lastTimestamp",
            _run(kube, "-n", namespace, "get", "events", "--sort-by=.lastTimestamp"),
            f"$ kubectl -n {namespace} get kc -o yaml (status)",
            _run(kube, "-n", namespace, "get", "kc", "-o", "jsonpath={.items[*].status}"),
        ]
        pods = _run(kube, "-n", namespace, "get", "pods", "-o", "name").split()
        for pod in pods:
            if not pod.startswith("pod/"):
                continue
            tail = "300" if namespace == OPERATOR_NAMESPACE else "60"
            parts += [
                f"$ kubectl -n {namespace} logs {pod} --all-containers --tail={tail}",
                _run(kube, "-n", namespace, "logs", pod, "--all-containers", f"--tail={tail}"),
            ]
    return "\n".join(parts)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    outcome = yield
    report = outcome.get_result()
    kube = _observed.get("kube")
    if report.failed and call.when in ("setup", "call") and kube is not None:
        report.sections.append(("e2e diagnostics", diagnostics(kube, _observed["namespaces"])))
