"""Fixtures of the integration tier: a real control plane, the CRDs, the operator as a process.

One control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok) and one
operator serve the whole session; every test gets its own namespace. The operator is a real
`kopfka run --verbose` subprocess whose log goes to a file (printed with a failing test). It talks
to the API server through `tests.support.apiproxy`, which records every request it sends, and runs
with short periodic intervals (KOPFKA_DRIFT_INTERVAL, KOPFKA_TOPIC_RECHECK_INTERVAL) so that
periodic behaviour is observable in seconds. It is authenticated as the Helm chart's
ServiceAccount with the chart's cluster-wide RBAC, as `helm install` sets it up; the last module
of the tier (test_least_privilege.py, ordered last here) holds every request it sent against
those rules. Volume claims are provisioned by the control plane itself (hack/cluster.sh:
kube-controller-manager's hostPath provisioner behind a default StorageClass). cert-manager's
controller (`cert_manager`) runs only in sessions with a test that asks for it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `tests.support` and `tests.integration` as packages
    sys.path.insert(0, str(REPO_ROOT))

from tests.integration.controlplane import ControlPlane  # noqa: E402
from tests.support import chart  # noqa: E402
from tests.support.apiproxy import ApiProxy  # noqa: E402
from tests.support.certmanager import CertManager  # noqa: E402
from tests.support.kube import TestKube, condition  # noqa: E402
from tests.support.operator import (  # noqa: E402
    KOPFKA,
    TIER_DRIFT_INTERVAL,
    TIER_TOPIC_RECHECK_INTERVAL,
    OperatorProcess,
    free_port,
)
from tests.support.waiting import wait_for  # noqa: E402

NAMESPACE_CLEANUP_TIMEOUT = 180.0
LOG_TAIL_LINES = 300
# The chart release whose ServiceAccount and ClusterRole the tier's operator runs with.
OPERATOR_RELEASE = "it"
OPERATOR_NAMESPACE = "kopfka-it"
# Runs last: it judges the requests of the whole tier.
LAST_MODULE = "test_least_privilege.py"

_log_offset = pytest.StashKey[int]()
# The operator of this session while it is up, for the failure report hook.
_operator: dict[str, OperatorProcess] = {}
# cert-manager's controller while it is up (sessions that use it), for the same hook.
_cert_manager: dict[str, CertManager] = {}
_cert_manager_log_offset = pytest.StashKey[int]()


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    with ControlPlane() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def kube(control_plane: ControlPlane) -> Iterator[TestKube]:
    client = TestKube(
        kubeconfig=control_plane.kubeconfig, kubectl=control_plane.bin_dir / "kubectl"
    )
    yield client
    client.close()


@pytest.fixture(scope="session")
def crd_documents() -> list[dict[str, object]]:
    """The CRDs exactly as `kopfka crds` prints them."""
    out = subprocess.run(
        [str(KOPFKA), "crds"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.fixture(scope="session")
def crds(kube: TestKube, crd_documents: list[dict[str, object]]) -> list[str]:
    """Install the CRDs and wait until the API server serves them; returns their names."""
    kube.apply(*crd_documents)
    names = [str(doc["metadata"]["name"]) for doc in crd_documents]  # type: ignore[index]

    def established(name: str) -> bool:
        crd = kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
        found = condition(crd, "Established")
        return found is not None and found["status"] == "True"

    for name in names:
        # Not `kubectl wait`: it fails instead of waiting while the CRD has no conditions yet.
        wait_for(lambda: established(name), timeout=60, what=f"CRD {name} to be established")  # noqa: B023
    return names


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("operator")


@dataclass(frozen=True)
class CertManagerPlane:
    """The tier's control plane with cert-manager's CRDs installed and its controller running."""

    control_plane: ControlPlane
    controller: CertManager

    @property
    def log_path(self) -> Path:
        return self.controller.log_path

    @property
    def cluster_resource_namespace(self) -> str:
        """Where ClusterIssuers' Secrets go."""
        return self.controller.cluster_resource_namespace


@pytest.fixture(scope="session")
def cert_manager(
    control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CertManagerPlane]:
    """cert-manager's controller (tests/support/certmanager.py) against the tier's control plane,
    started by the first test that asks for it: sessions that never do neither build nor run it."""
    controller = CertManager(
        kubeconfig=control_plane.kubeconfig,
        kubectl=control_plane.bin_dir / "kubectl",
        log_path=tmp_path_factory.mktemp("cert-manager") / "cert-manager.log",
    )
    sys.stderr.write(f"\ncert-manager log: {controller.log_path}\n")
    try:
        controller.start()
        _cert_manager["controller"] = controller
        yield CertManagerPlane(control_plane=control_plane, controller=controller)
    finally:
        _cert_manager.clear()
        controller.stop()


@dataclass(frozen=True)
class OperatorIdentity:
    """Who the tier's operator is: the chart's ServiceAccount, its ClusterRole's rules, a
    kubeconfig with a token of the account, and what the chart's Deployment tells the operator
    about its own pods (`environment`), which clusters' NetworkPolicies let in."""

    account: str
    namespace: str
    rules: list[dict[str, Any]]
    kubeconfig: Path
    environment: dict[str, str]


@pytest.fixture(scope="session")
def operator_identity(
    control_plane: ControlPlane, kube: TestKube, workdir: Path
) -> OperatorIdentity:
    """The chart's ServiceAccount, ClusterRole and ClusterRoleBinding (watchNamespaces empty, the
    default), applied as rendered, and a token for the account."""
    rendered = chart.render(release=OPERATOR_RELEASE, namespace=OPERATOR_NAMESPACE)
    objects = chart.identity(rendered)
    kube.kubectl("create", "namespace", OPERATOR_NAMESPACE)
    kube.apply(*objects)
    account = chart.one(objects, "ServiceAccount")["metadata"]["name"]
    kubeconfig = chart.service_account_kubeconfig(
        kubectl=control_plane.bin_dir / "kubectl",
        admin_kubeconfig=control_plane.kubeconfig,
        account=account,
        namespace=OPERATOR_NAMESPACE,
        path=workdir / "operator-kubeconfig.yaml",
        duration="12h",
    )
    chart.wait_granted(
        control_plane.bin_dir / "kubectl",
        kubeconfig,
        "watch",
        "kafkaclusters.kopfka.dev",
        "--all-namespaces",
        what=f"the API server to grant {account} the chart's ClusterRole",
    )
    [container] = chart.one(rendered, "Deployment")["spec"]["template"]["spec"]["containers"]
    labels = next(e["value"] for e in container["env"] if e["name"] == "KOPFKA_OPERATOR_POD_LABELS")
    return OperatorIdentity(
        account=account,
        namespace=OPERATOR_NAMESPACE,
        rules=chart.one(objects, "ClusterRole")["rules"],
        kubeconfig=kubeconfig,
        # In a pod, the namespace comes from the downward API.
        environment={
            "KOPFKA_OPERATOR_NAMESPACE": OPERATOR_NAMESPACE,
            "KOPFKA_OPERATOR_POD_LABELS": labels,
        },
    )


@pytest.fixture(scope="session")
def api_proxy(
    control_plane: ControlPlane, operator_identity: OperatorIdentity, workdir: Path
) -> Iterator[ApiProxy]:
    """The recording proxy, authenticated upstream as the operator's ServiceAccount."""
    proxy = ApiProxy(
        upstream_kubeconfig=operator_identity.kubeconfig,
        workdir=workdir,
        env=control_plane.environ(),
    )
    proxy.start()
    yield proxy
    proxy.stop()


# The operator's Prometheus metrics (`kopfka run --metrics-port`): the `metrics_url` fixture.
OPERATOR_METRICS_PORT = free_port()


@pytest.fixture(scope="session")
def metrics_url(operator: OperatorProcess) -> str:
    """Where the operator serves its Prometheus metrics."""
    return f"http://127.0.0.1:{OPERATOR_METRICS_PORT}/metrics"


@pytest.fixture(scope="session")
def operator(
    control_plane: ControlPlane,
    crds: list[str],
    api_proxy: ApiProxy,
    operator_identity: OperatorIdentity,
    workdir: Path,
) -> Iterator[OperatorProcess]:
    """`kopfka run --verbose`, watching all namespaces as the chart's ServiceAccount (through
    `api_proxy`), told about its pods as the chart tells it; tests may kill and restart it."""
    env = control_plane.environ()
    env.update(operator_identity.environment)
    env.update(
        KUBECONFIG=str(api_proxy.kubeconfig),
        KOPFKA_DRIFT_INTERVAL=str(TIER_DRIFT_INTERVAL),
        KOPFKA_TOPIC_RECHECK_INTERVAL=str(TIER_TOPIC_RECHECK_INTERVAL),
        KOPFKA_USER_RECHECK_INTERVAL=str(TIER_TOPIC_RECHECK_INTERVAL),
        PYTHONUNBUFFERED="1",
    )
    process = OperatorProcess(
        env=env,
        log_path=workdir / "operator.log",
        args=["--metrics-port", str(OPERATOR_METRICS_PORT)],
    )
    sys.stderr.write(f"\noperator log: {process.log_path}\n")
    try:
        process.start()
        _operator["process"] = process
        yield process
    finally:
        _operator.clear()
        process.stop()


class Namespaces:
    """Makes namespaces for tests; deletes them after each test and, at the end of the session
    (before the operator stops), waits until every one is gone: a stuck finalizer fails there."""

    def __init__(self, kube: TestKube) -> None:
        self.kube = kube
        self.made: list[str] = []

    def make(self, hint: str) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", hint.lower()).strip("-")[:40].strip("-")
        name = f"it-{slug}-{uuid.uuid4().hex[:5]}"
        self.kube.kubectl("create", "namespace", name)
        self.kube.kubectl("label", "namespace", name, "kopfka.dev/integration-test=true")
        self.made.append(name)
        return name

    def delete(self, name: str) -> None:
        self.kube.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found")

    def wait_all_gone(self) -> None:
        def gone() -> bool:
            left = {ns["metadata"]["name"] for ns in self.kube.list("v1", "Namespace")}
            return not left.intersection(self.made)

        wait_for(
            gone,
            timeout=NAMESPACE_CLEANUP_TIMEOUT,
            what="the test namespaces to be deleted",
            describe=lambda: self.kube.kubectl(
                "get", "namespaces", "-l", "kopfka.dev/integration-test=true", "-o", "wide"
            ),
        )


@pytest.fixture(scope="session")
def namespaces(kube: TestKube, operator: OperatorProcess) -> Iterator[Namespaces]:
    registry = Namespaces(kube)
    yield registry
    # Nothing carries a finalizer: the namespaces go whether the operator runs or not.
    registry.wait_all_gone()


@pytest.fixture
def new_namespace(
    namespaces: Namespaces, request: pytest.FixtureRequest
) -> Iterator[Callable[[], str]]:
    """Call it for each namespace a test needs; they are deleted after the test."""
    made: list[str] = []

    def make() -> str:
        name = namespaces.make(request.node.name)
        made.append(name)
        return name

    yield make
    for name in made:
        namespaces.delete(name)


@pytest.fixture
def namespace(new_namespace: Callable[[], str]) -> str:
    return new_namespace()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The least-privilege check judges what the operator sent during the whole tier: last."""
    items.sort(key=lambda item: item.path.name == LAST_MODULE)


@pytest.fixture(autouse=True)
def _mark_operator_log(request: pytest.FixtureRequest) -> None:
    """Remember where the operator's and cert-manager's logs stood when the test started, for
    the failure report."""
    if "process" in _operator:
        request.node.stash[_log_offset] = _operator["process"].log_size()
    if "controller" in _cert_manager:
        request.node.stash[_cert_manager_log_offset] = _cert_manager["controller"].log_size()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    process = _operator.get("process")
    if report.failed and process is not None and process.log_path.exists():
        offset = item.stash.get(_log_offset, 0)
        lines = process.log_since(offset).splitlines()[-LOG_TAIL_LINES:]
        report.sections.append(
            (
                "operator log",
                f"{process.log_path} (last {len(lines)} lines since the test started)\n"
                + "\n".join(lines),
            )
        )
    controller = _cert_manager.get("controller")
    if report.failed and controller is not None:
        offset = item.stash.get(_cert_manager_log_offset, 0)
        lines = controller.log_since(offset).splitlines()[-LOG_TAIL_LINES:]
        report.sections.append(
            (
                "cert-manager log",
                f"{controller.log_path} (last {len(lines)} lines since the test started)\n"
                + "\n".join(lines),
            )
        )
    return report
