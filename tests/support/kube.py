"""The tests' own view of a cluster: kubectl for what users type, the Python client for polling."""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import kubernetes
import yaml
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError

Obj = dict[str, Any]

GROUP_VERSION = "kopfka.dev/v1alpha1"
KUBECTL_TIMEOUT = 120


class KubectlError(AssertionError):
    """kubectl failed; `stderr` is what a user would have seen."""

    def __init__(self, args: list[str], stderr: str) -> None:
        super().__init__(f"kubectl {' '.join(args)} failed: {stderr.strip()}")
        self.stderr = stderr


class TestKube:
    """A client for the tests: `kubectl(...)` as a user, get/list/patch through the API."""

    __test__ = False  # not a test class, despite its name

    def __init__(self, *, kubeconfig: Path, kubectl: Path) -> None:
        self.kubeconfig = kubeconfig
        self.kubectl_path = kubectl
        self.api_client = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
        self.dynamic = DynamicClient(self.api_client)

    def close(self) -> None:
        self.api_client.close()

    # --- as a user ---------------------------------------------------------------------------

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        argv = [str(self.kubectl_path), "--kubeconfig", str(self.kubeconfig), *args]
        result = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=KUBECTL_TIMEOUT, check=False
        )
        if result.returncode != 0:
            raise KubectlError(list(args), result.stderr)
        return result.stdout

    def apply(self, *objects: Obj) -> str:
        """`kubectl apply -f -` with the objects as YAML."""
        return self.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(objects))

    def apply_refused(self, obj: Obj) -> str:
        """`kubectl apply` that must fail; returns kubectl's error output."""
        try:
            out = self.apply(obj)
        except KubectlError as error:
            return error.stderr
        raise AssertionError(f"the API server accepted {describe(obj)}: {out.strip()}")

    # --- through the API ---------------------------------------------------------------------

    def _resource(self, api_version: str, kind: str) -> Any:
        return self.dynamic.resources.get(api_version=api_version, kind=kind)

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> Obj | None:
        try:
            found = self._resource(api_version, kind).get(name=name, namespace=namespace)
        except NotFoundError:
            return None
        return cast(Obj, found.to_dict())

    def must_get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Obj:
        found = self.get(api_version, kind, name, namespace)
        if found is None:
            raise AssertionError(f"{kind} {namespace}/{name} does not exist")
        return found

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> list[Obj]:
        selector = ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items())) or None
        found = self._resource(api_version, kind).get(namespace=namespace, label_selector=selector)
        return cast(list[Obj], found.to_dict()["items"])

    def merge_patch(
        self, api_version: str, kind: str, name: str, namespace: str | None, body: Obj
    ) -> Obj:
        result = self._resource(api_version, kind).patch(
            body=body,
            name=name,
            namespace=namespace,
            content_type="application/merge-patch+json",
        )
        return cast(Obj, result.to_dict())

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> None:
        with contextlib.suppress(NotFoundError):
            self._resource(api_version, kind).delete(name=name, namespace=namespace)

    # --- kopfka resources --------------------------------------------------------------------

    def cluster(self, name: str, namespace: str) -> Obj | None:
        return self.get(GROUP_VERSION, "KafkaCluster", name, namespace)

    def topic(self, name: str, namespace: str) -> Obj | None:
        return self.get(GROUP_VERSION, "KafkaTopic", name, namespace)


def describe(obj: Obj) -> str:
    metadata = obj.get("metadata", {})
    return f"{obj.get('kind')} {metadata.get('namespace', '')}/{metadata.get('name')}"


def condition(obj: Obj | None, kind: str) -> Obj | None:
    """The status condition of type `kind`, or None."""
    if obj is None:
        return None
    for item in (obj.get("status") or {}).get("conditions") or []:
        if item.get("type") == kind:
            return cast(Obj, item)
    return None


def condition_true(obj: Obj | None, kind: str) -> bool:
    """Whether the object (a pod, a node, a kopfka resource) has condition `kind` set to True."""
    found = condition(obj, kind)
    return found is not None and found.get("status") == "True"


def status_summary(obj: Obj | None) -> str:
    """A short text of an object's status for timeout messages."""
    if obj is None:
        return "(object does not exist)"
    return json.dumps(obj.get("status") or {}, sort_keys=True)[:3000]
