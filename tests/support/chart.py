"""The Helm chart (charts/kopfka) from the tests: rendered with `helm template`, and the identity
it gives the operator (ServiceAccount, RBAC, a token for it).

The tests that run the operator under RBAC take its rules from the chart, never from a copy, so
what the tests prove is what users install.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from tests.support.waiting import wait_for

Obj = dict[str, Any]

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART = REPO_ROOT / "charts" / "kopfka"
# Values files that `make chart-check` renders and validates: the namespaced mode, and every value
# away from its default.
NAMESPACED_VALUES = CHART / "ci" / "namespaced-values.yaml"
CUSTOM_VALUES = CHART / "ci" / "custom-values.yaml"
HELM_TIMEOUT = 120
RBAC_KINDS = frozenset({"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"})


class HelmError(AssertionError):
    """helm failed; `stderr` is what a user would have seen."""

    def __init__(self, args: Sequence[str], stderr: str) -> None:
        super().__init__(f"helm {' '.join(args)} failed: {stderr.strip()}")
        self.stderr = stderr


def tool(name: str) -> Path:
    """A tool built by hack/build-tools.sh (helm, kubectl, kubeconform, promtool)."""
    cache = Path(os.environ.get("KOPFKA_CACHE", Path.home() / ".cache" / "kopfka"))
    return cache / "bin" / name


def helm(
    *args: str, env: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None
) -> str:
    """Run helm and return its stdout; `values` are given as one more values file (on stdin)."""
    argv = [str(tool("helm")), *args]
    if values is not None:
        argv += ["--values", "-"]
    result = subprocess.run(
        argv,
        input=None if values is None else json.dumps(values),
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else None,
        timeout=HELM_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise HelmError(args, result.stderr)
    return result.stdout


def render(
    *,
    release: str,
    namespace: str,
    values_files: Sequence[Path] = (),
    values: Mapping[str, Any] | None = None,
    api_versions: Sequence[str] = (),
) -> list[Obj]:
    """`helm template` of the chart, test hooks included, as objects. `api_versions` are APIs
    the chart may take the cluster to serve besides Kubernetes' own (`--api-versions`)."""
    args = ["template", release, str(CHART), "--namespace", namespace]
    for path in values_files:
        args += ["--values", str(path)]
    for api_version in api_versions:
        args += ["--api-versions", api_version]
    return [doc for doc in yaml.safe_load_all(helm(*args, values=values)) if doc]


def of_kind(objects: Sequence[Obj], kind: str) -> list[Obj]:
    return [obj for obj in objects if obj["kind"] == kind]


def one(objects: Sequence[Obj], kind: str) -> Obj:
    found = of_kind(objects, kind)
    assert len(found) == 1, f"expected one {kind}, rendered {len(found)}"
    return found[0]


def identity(objects: Sequence[Obj]) -> list[Obj]:
    """The ServiceAccount and the RBAC objects of a rendered chart: who the operator is."""
    return [obj for obj in objects if obj["kind"] == "ServiceAccount" or obj["kind"] in RBAC_KINDS]


def service_account_kubeconfig(
    *,
    kubectl: Path,
    admin_kubeconfig: Path,
    account: str,
    namespace: str,
    path: Path,
    duration: str = "1h",
) -> Path:
    """A kubeconfig for the API server of `admin_kubeconfig`, authenticated as the service account
    with a token from `kubectl create token` (what a pod of that account would use)."""
    token = subprocess.run(
        [
            str(kubectl),
            "--kubeconfig",
            str(admin_kubeconfig),
            "create",
            "token",
            account,
            "--namespace",
            namespace,
            f"--duration={duration}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    admin = yaml.safe_load(admin_kubeconfig.read_text())
    context = next(c for c in admin["contexts"] if c["name"] == admin["current-context"])
    cluster = next(c for c in admin["clusters"] if c["name"] == context["context"]["cluster"])
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "cluster", "cluster": cluster["cluster"]}],
                "users": [{"name": account, "user": {"token": token}}],
                "contexts": [{"name": account, "context": {"cluster": "cluster", "user": account}}],
                "current-context": account,
            }
        )
    )
    return path


def wait_granted(kubectl: Path, kubeconfig: Path, *can_i: str, what: str) -> None:
    """Wait until `kubectl auth can-i CAN_I...` says yes for the kubeconfig's identity: the
    authorizer learns of a new binding from a watch, a moment after it is made."""

    def granted() -> bool:
        answer = subprocess.run(
            [str(kubectl), "--kubeconfig", str(kubeconfig), "auth", "can-i", *can_i],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return answer.stdout.strip() == "yes"

    wait_for(granted, timeout=30, what=what)
