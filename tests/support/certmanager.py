"""cert-manager's real controller as a process against a test's control plane.

Why: kopfka can have its brokers' certificates issued by cert-manager (a `cert-manager.io/v1`
Certificate per node, signed by the user's Issuer or ClusterIssuer). What cert-manager writes into
those Secrets (which keys, which encodings, which chain) is its behaviour, not ours, so the
integration tier runs cert-manager itself instead of a fake that would only repeat our assumptions.
Its release images come from a container registry this project cannot reach, so
hack/cert-manager.sh builds the controllers from the Go module proxy (a main of ours in
hack/cert-manager/) and copies cert-manager's CRDs next to the binary; this module installs those
CRDs, runs the binary, waits until its controllers are watching, and always stops it.

What runs: the Issuer and ClusterIssuer controllers, the CertificateRequest approver and the CA
and SelfSigned signers, and the Certificate controllers (trigger, key manager, request manager,
issuing, readiness, revision manager). Not run: the webhook (no defaulting or validation of
cert-manager's objects beyond the CRD schemas; CertificateRequests carry no requester identity),
ACME, Vault, Venafi, the ingress and Gateway shims, leader election.

    controller = CertManager(kubeconfig=..., kubectl=..., log_path=workdir / "cert-manager.log")
    controller.start()      # CRDs installed and established, controllers watching
    ...
    controller.stop()       # SIGTERM, then SIGKILL; the log stays
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Self

import yaml

from kopfka.certs.issue import Authority
from tests.support.kube import Obj
from tests.support.operator import dies_with_parent
from tests.support.waiting import wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD = REPO_ROOT / "hack" / "cert-manager.sh"

BINARY_NAME = "cert-manager-controller"
# What the controller logs once every controller's informer caches have synced (hack/cert-manager/).
READY_MESSAGE = "controllers ready"
# cert-manager's "info" level: controller starts, issuance steps, the ready message.
LOG_VERBOSITY = 2
# Where ClusterIssuers' Secrets (a CA's key pair) live: upstream's chart uses its own namespace.
DEFAULT_CLUSTER_RESOURCE_NAMESPACE = "cert-manager"

START_TIMEOUT = 60.0
CRD_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
KUBECTL_TIMEOUT = 120.0
# Server-side: the CRDs are too large for client-side apply's last-applied annotation.
APPLY = ("apply", "--server-side", "--field-manager", "kopfka-tests")


def build() -> Path:
    """Build the controller unless cached (a cold build takes minutes, so no timeout: the script
    fails on its own) and return its directory: the binary and `crds/`."""
    out = subprocess.run(
        [str(BUILD)], stdout=subprocess.PIPE, text=True, check=True, timeout=None
    ).stdout
    return Path(out.strip().splitlines()[-1])


class CertManager:
    """cert-manager's controllers for one control plane; a context manager, or start() and stop().

    `kubeconfig` must be an admin's (the controller reads and writes Secrets in every namespace).
    start() builds the controller if needed, applies its CRDs server-side and waits until they are
    established, creates the cluster resource namespace, and starts the process with its log in
    `log_path` (appended to, so a restart keeps the earlier run's lines).
    """

    def __init__(
        self,
        *,
        kubeconfig: Path,
        kubectl: Path,
        log_path: Path,
        cluster_resource_namespace: str = DEFAULT_CLUSTER_RESOURCE_NAMESPACE,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.kubectl_path = kubectl
        self.log_path = log_path
        self.cluster_resource_namespace = cluster_resource_namespace
        self.crds: list[str] = []
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("cert-manager's controller is already running")
        directory = build()
        self.crds = self._install_crds(directory / "crds")
        namespace = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": self.cluster_resource_namespace},
        }
        self._kubectl(*APPLY, "-f", "-", stdin=json.dumps(namespace))
        offset = self.log_size()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                dies_with_parent(
                    [
                        str(directory / BINARY_NAME),
                        "--kubeconfig",
                        str(self.kubeconfig),
                        "--cluster-resource-namespace",
                        self.cluster_resource_namespace,
                        f"-v={LOG_VERBOSITY}",
                    ]
                ),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_for(
                lambda: self._check_alive() and READY_MESSAGE in self.log_since(offset),
                timeout=START_TIMEOUT,
                what="cert-manager's controllers to sync their caches",
                describe=lambda: self.log_since(offset)[-2000:],
            )
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """SIGTERM (the controllers drain their queues and exit 0), SIGKILL if that takes too
        long; safe to call twice. The CRDs stay: they go with the control plane."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)
        with self.log_path.open("a") as log:
            log.write(f"===== cert-manager-controller: exited {self.process.returncode} =====\n")
        self.process = None

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, offset: int) -> str:
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def _check_alive(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            code = None if self.process is None else self.process.returncode
            raise RuntimeError(f"cert-manager's controller exited with {code}; see {self.log_path}")
        return True

    def _install_crds(self, directory: Path) -> list[str]:
        """Apply the CRDs and wait until the API server serves them; return their names."""
        files = sorted(directory.glob("*.yaml"))
        if not files:
            raise RuntimeError(f"no CRDs in {directory}; rerun {BUILD}")
        self._kubectl(*APPLY, *(arg for path in files for arg in ("-f", str(path))))
        names = [str(yaml.safe_load(path.read_text())["metadata"]["name"]) for path in files]
        for name in names:
            # Not `kubectl wait`: it fails instead of waiting while the CRD has no conditions yet.
            wait_for(
                lambda: self._established(name),  # noqa: B023
                timeout=CRD_TIMEOUT,
                what=f"CRD {name} to be established",
            )
        return names

    def _established(self, name: str) -> bool:
        crd = json.loads(self._kubectl("get", "customresourcedefinition", name, "-o", "json"))
        conditions = (crd.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

    def _kubectl(self, *args: str, stdin: str | None = None) -> str:
        argv = [str(self.kubectl_path), "--kubeconfig", str(self.kubeconfig), *args]
        result = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=KUBECTL_TIMEOUT, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


CERT_MANAGER_API_VERSION = "cert-manager.io/v1"


def key_pair_secret(name: str, namespace: str, authority: Authority) -> Obj:
    """A CA's key pair as cert-manager's CA issuer reads it (a kubernetes.io/tls Secret)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": name, "namespace": namespace},
        "data": {
            "tls.crt": base64.b64encode(authority.certificate_pem).decode(),
            "tls.key": base64.b64encode(authority.key_pem).decode(),
        },
    }


def ca_issuer(name: str, namespace: str, authority: Authority) -> list[Obj]:
    """A namespaced CA Issuer `name` and the Secret `<name>-key-pair` it signs with."""
    return [
        key_pair_secret(f"{name}-key-pair", namespace, authority),
        {
            "apiVersion": CERT_MANAGER_API_VERSION,
            "kind": "Issuer",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"ca": {"secretName": f"{name}-key-pair"}},
        },
    ]
