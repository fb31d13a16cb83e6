"""Installing kopfka as users do, against the real API server: `helm install` cluster-wide and for
a few namespaces, `helm upgrade`, `helm test`, `helm uninstall`, `kubectl apply --server-side -f
manifests/install.yaml`; and the examples of manifests/examples, applied with kustomize.

The operator pods these installs make are kwok's fakes (no container runs; kwok also completes the
`helm test` Job without running it), so the tests assert on what users look at: the Deployment
their values produced, the RBAC objects and what they allow, and what an uninstall leaves. Every
release namespace enforces the restricted Pod Security Standard, so a Deployment that becomes
Available there proves the operator pod meets it. The tier's own operator (conftest) is the one
that reconciles the examples.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.controlplane import ControlPlane
from tests.support import chart
from tests.support.clusters import wait_ready
from tests.support.kube import GROUP_VERSION, Obj, TestKube
from tests.support.manifests import COMBINED_EPHEMERAL, kafka_cluster
from tests.support.waiting import wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_YAML = REPO_ROOT / "manifests" / "install.yaml"
EXAMPLES = REPO_ROOT / "manifests" / "examples"
CRD_NAMES = ("kafkaclusters.kopfka.dev", "kafkatopics.kopfka.dev")
RESTRICTED = "pod-security.kubernetes.io/enforce=restricted"
INSTANCE = "app.kubernetes.io/instance"
HELM_WAIT = "120s"
ROLLOUT_TIMEOUT = 120.0


class Helm:
    """helm against the control plane, releases uninstalled at the end of the test."""

    def __init__(self, control_plane: ControlPlane) -> None:
        self.env = control_plane.environ()
        self.releases: list[tuple[str, str]] = []

    def __call__(self, *args: str, values: dict[str, Any] | None = None) -> str:
        return chart.helm(*args, env=self.env, values=values)

    def install(self, release: str, namespace: str, *args: str, **values: Any) -> str:
        self.releases.append((release, namespace))
        return self(
            "install",
            release,
            str(chart.CHART),
            "--namespace",
            namespace,
            "--wait",
            "--timeout",
            HELM_WAIT,
            *args,
            values=values or None,
        )

    def uninstall_all(self) -> None:
        for release, namespace in self.releases:
            self("uninstall", release, "--namespace", namespace, "--ignore-not-found", "--wait")


@pytest.fixture
def helm(control_plane: ControlPlane) -> Iterator[Helm]:
    client = Helm(control_plane)
    yield client
    client.uninstall_all()


@pytest.fixture
def release_namespace(kube: TestKube, new_namespace: Callable[[], str]) -> str:
    """A namespace for an operator release, enforcing the restricted Pod Security Standard."""
    name = new_namespace()
    kube.kubectl("label", "namespace", name, RESTRICTED)
    return name


def _container(deployment: Obj) -> Obj:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def _wait_rolled_out(kube: TestKube, name: str, namespace: str) -> Obj:
    """The Deployment's current generation is Available, with all its pods updated and ready."""

    def probe() -> Obj | None:
        found = kube.get("apps/v1", "Deployment", name, namespace)
        if found is None:
            return None
        status = found.get("status") or {}
        conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
        wanted = found["spec"]["replicas"]
        done = (
            status.get("observedGeneration") == found["metadata"]["generation"]
            and status.get("updatedReplicas") == wanted
            and status.get("readyReplicas") == wanted
            and conditions.get("Available") == "True"
        )
        return found if done else None

    return wait_for(
        probe,
        timeout=ROLLOUT_TIMEOUT,
        what=f"Deployment {namespace}/{name} to roll out",
        describe=lambda: kube.kubectl("get", "deployment,replicaset,pods", "-n", namespace),
    )


def _can_i(kube: TestKube, account: str, *args: str) -> bool:
    """`kubectl auth can-i ... --as` the service account `namespace:name`."""
    namespace, name = account.split(":")
    result = subprocess.run(
        [
            str(kube.kubectl_path),
            "--kubeconfig",
            str(kube.kubeconfig),
            "auth",
            "can-i",
            *args,
            f"--as=system:serviceaccount:{namespace}:{name}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.stdout.strip() == "yes"


def _cluster_scoped_of(kube: TestKube, release: str) -> list[str]:
    return [
        f"{kind}/{obj['metadata']['name']}"
        for kind in ("ClusterRole", "ClusterRoleBinding")
        for obj in kube.list("rbac.authorization.k8s.io/v1", kind, labels={INSTANCE: release})
    ]


def test_helm_install_cluster_wide_with_custom_values_then_upgrade(
    kube: TestKube, helm: Helm, release_namespace: str
) -> None:
    values = yaml.safe_load(chart.CUSTOM_VALUES.read_text())
    rendered = chart.render(
        release="wide", namespace=release_namespace, values_files=[chart.CUSTOM_VALUES]
    )
    output = helm.install("wide", release_namespace, "--values", str(chart.CUSTOM_VALUES))
    # NOTES.txt: what to do next, with this release's names.
    assert f"helm test wide -n {release_namespace}" in output
    assert "kubectl get kc,kt -n default" in output

    name = values["fullnameOverride"]
    deployment = _wait_rolled_out(kube, name, release_namespace)
    # With a standby: two pods, of which the holder of the release's Lease acts.
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == values["serviceAccount"]["name"]
    assert pod["nodeSelector"] == values["nodeSelector"]
    container = _container(deployment)
    image = values["image"]
    assert container["image"] == f"{image['repository']}:{image['tag']}"
    assert container["imagePullPolicy"] == image["pullPolicy"]
    port = values["healthPort"]
    assert container["args"] == [
        "run",
        "--liveness",
        f"http://0.0.0.0:{port}/healthz",
        "--metrics-port",
        "8081",
        "--verbose",
        "--log-format",
        "json",
        "--leader-election",
        "--lease-name",
        name,
        "--lease-duration",
        "20",
    ]
    assert container["ports"][0]["containerPort"] == port
    assert container["resources"] == values["resources"]
    env = {item["name"]: item for item in container["env"]}
    assert env["KOPFKA_DRIFT_INTERVAL"]["value"] == "120"
    assert env["KOPFKA_OPERATOR_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == (
        "metadata.namespace"
    )

    # Everywhere, as the ClusterRole says; Secrets by name only (TLS listeners' certificates,
    # docs/security.md): never listed or watched.
    role = kube.must_get("rbac.authorization.k8s.io/v1", "ClusterRole", name)
    assert role["rules"] == chart.one(rendered, "ClusterRole")["rules"]
    account = f"{release_namespace}:{values['serviceAccount']['name']}"
    assert _can_i(kube, account, "watch", "kafkaclusters.kopfka.dev", "--all-namespaces")
    assert _can_i(kube, account, "watch", "customresourcedefinitions.apiextensions.k8s.io")
    assert _can_i(kube, account, "get", "secrets", "--all-namespaces")
    assert not _can_i(kube, account, "list", "secrets", "--all-namespaces")
    assert not _can_i(kube, account, "watch", "secrets", "--all-namespaces")
    # The Lease: in the release's namespace only.
    assert _can_i(kube, account, "update", "leases.coordination.k8s.io", "-n", release_namespace)
    assert not _can_i(kube, account, "update", "leases.coordination.k8s.io", "-n", "default")

    # kwok completes the test Job: this proves the hook is accepted and Helm runs it.
    assert "Phase:          Succeeded" in helm("test", "wide", "--namespace", release_namespace)

    helm(
        "upgrade",
        "wide",
        str(chart.CHART),
        "--namespace",
        release_namespace,
        "--reuse-values",
        "--set",
        "logLevel=info",
        "--wait",
        "--timeout",
        HELM_WAIT,
    )
    upgraded = _wait_rolled_out(kube, name, release_namespace)
    assert upgraded["metadata"]["generation"] > deployment["metadata"]["generation"]
    assert "--verbose" not in _container(upgraded)["args"]


def test_helm_install_for_two_namespaces_needs_no_cluster_role(
    kube: TestKube,
    helm: Helm,
    release_namespace: str,
    new_namespace: Callable[[], str],
) -> None:
    watched = [new_namespace(), new_namespace()]
    elsewhere = new_namespace()
    release = "two-namespaces"
    rendered = chart.render(
        release=release, namespace=release_namespace, values={"watchNamespaces": watched}
    )
    helm.install(release, release_namespace, watchNamespaces=watched)

    name = chart.one(rendered, "Deployment")["metadata"]["name"]
    deployment = _wait_rolled_out(kube, name, release_namespace)
    args = _container(deployment)["args"]
    assert args[5:] == ["--namespace", watched[0], "--namespace", watched[1]]
    assert _cluster_scoped_of(kube, release) == []
    rules = chart.of_kind(rendered, "Role")[0]["rules"]
    for namespace in watched:
        assert kube.must_get("rbac.authorization.k8s.io/v1", "Role", name, namespace)["rules"] == (
            rules
        )
    account = f"{release_namespace}:{chart.one(rendered, 'ServiceAccount')['metadata']['name']}"
    for namespace in watched:
        assert _can_i(kube, account, "watch", "kafkaclusters.kopfka.dev", "-n", namespace)
        assert _can_i(kube, account, "patch", "statefulsets.apps", "-n", namespace)
    assert not _can_i(kube, account, "watch", "kafkaclusters.kopfka.dev", "-n", elsewhere)
    assert not _can_i(kube, account, "list", "kafkaclusters.kopfka.dev", "--all-namespaces")
    assert not _can_i(kube, account, "list", "customresourcedefinitions.apiextensions.k8s.io")


def test_helm_uninstall_keeps_the_crds_and_the_clusters(
    kube: TestKube, helm: Helm, release_namespace: str, namespace: str
) -> None:
    helm.install("keep", release_namespace)
    kube.apply(kafka_cluster("survivor", namespace, COMBINED_EPHEMERAL))
    wait_ready(kube, "survivor", namespace)

    helm("uninstall", "keep", "--namespace", release_namespace, "--wait")

    assert kube.list("apps/v1", "Deployment", release_namespace) == []
    assert _cluster_scoped_of(kube, "keep") == []
    for crd in CRD_NAMES:
        kube.must_get("apiextensions.k8s.io/v1", "CustomResourceDefinition", crd)
    survivor = kube.must_get(GROUP_VERSION, "KafkaCluster", "survivor", namespace)
    assert survivor["metadata"].get("deletionTimestamp") is None


@pytest.fixture
def install_yaml_objects(kube: TestKube) -> Iterator[list[Obj]]:
    """manifests/install.yaml's objects; afterwards every one but the CRDs is deleted (the
    session's KafkaClusters live on those)."""
    objects = [doc for doc in yaml.safe_load_all(INSTALL_YAML.read_text()) if doc]
    yield objects
    kept = [obj for obj in objects if obj["kind"] != "CustomResourceDefinition"]
    kube.kubectl(
        "delete", "--ignore-not-found", "--wait=false", "-f", "-", stdin=yaml.safe_dump_all(kept)
    )


def test_kubectl_apply_server_side_install_yaml(
    kube: TestKube, install_yaml_objects: list[Obj]
) -> None:
    # Twice: the second apply is what an upgrade from the same file does, and must not conflict.
    for _ in range(2):
        kube.kubectl("apply", "--server-side", "-f", str(INSTALL_YAML))
    namespace = chart.one(install_yaml_objects, "Namespace")["metadata"]["name"]
    deployment = chart.one(install_yaml_objects, "Deployment")
    _wait_rolled_out(kube, deployment["metadata"]["name"], namespace)
    live_role = kube.must_get(
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        chart.one(install_yaml_objects, "ClusterRole")["metadata"]["name"],
    )
    assert live_role["rules"] == chart.one(install_yaml_objects, "ClusterRole")["rules"]
    for crd in CRD_NAMES:
        kube.must_get("apiextensions.k8s.io/v1", "CustomResourceDefinition", crd)


def test_the_examples_are_accepted_and_become_ready(kube: TestKube, namespace: str) -> None:
    dry_run = kube.kubectl(
        "apply", "--server-side", "--dry-run=server", "-k", str(EXAMPLES), "-n", namespace
    )
    assert dry_run.count("serverside-applied (server dry run)") == 6, dry_run
    kube.kubectl("apply", "--server-side", "-k", str(EXAMPLES), "-n", namespace)
    clusters = {c["metadata"]["name"] for c in kube.list(GROUP_VERSION, "KafkaCluster", namespace)}
    topics = {t["metadata"]["name"] for t in kube.list(GROUP_VERSION, "KafkaTopic", namespace)}
    assert (clusters, topics) == ({"demo", "events"}, {"greetings", "orders"})
    # The example applications: ordinary Deployments beside the clusters.
    deployments = {d["metadata"]["name"] for d in kube.list("apps/v1", "Deployment", namespace)}
    assert deployments == {"greetings-producer", "greetings-consumer"}
    for cluster in sorted(clusters):
        wait_ready(kube, cluster, namespace)
