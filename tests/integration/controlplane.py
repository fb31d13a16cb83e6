"""A real Kubernetes control plane for the integration tier, started and always stopped.

The integration tests prove what only the real API machinery can: CRD schema and CEL
rejections, server-side apply, owner references and garbage collection, StatefulSets, Jobs,
finalizers. So they run against etcd, kube-apiserver, kube-controller-manager and
kube-scheduler, with kwok simulating nodes and pod status. hack/build-tools.sh builds those
binaries and hack/cluster.sh runs them, the same scripts `make cluster-up` uses, so a failing
test can be reproduced by hand; this module only drives the scripts from Python, gives each
cluster a unique name so that sessions can run side by side, and guarantees the cluster is
deleted, processes and state, when the session ends or fails.

Usage, for instance as a session-scoped pytest fixture::

    with ControlPlane() as cluster:
        cluster.kubectl("apply", "-f", "crds/")
        subprocess.run(["kopfka", "run"], env=cluster.environ(), ...)
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_TOOLS = REPO_ROOT / "hack" / "build-tools.sh"
CLUSTER = REPO_ROOT / "hack" / "cluster.sh"

# Names this module gives its clusters: the creating process id lets a later session find the
# clusters of a process that was killed before it could stop them.
_NAME_PREFIX = "it-"
_OWNED_NAME = re.compile(rf"^{_NAME_PREFIX}(?P<pid>[0-9]+)-[0-9a-f]+$")


class CommandError(RuntimeError):
    """A command failed; the message carries what it printed on stderr."""

    def __init__(self, args: list[str], returncode: int, stderr: str) -> None:
        super().__init__(f"{' '.join(args)} exited {returncode}: {stderr.strip()}")
        self.returncode = returncode
        self.stderr = stderr


def cache_dir() -> Path:
    """The cache the scripts use, resolved the way they resolve it."""
    return Path(os.environ.get("KOPFKA_CACHE", Path.home() / ".cache" / "kopfka"))


class ControlPlane:
    """A kwok cluster with fake nodes in three zones, for one test session.

    Use it as a context manager (or call start() and stop()): the cluster is deleted on exit
    even when the body raises. kubectl() and environ() give access to it.
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        nodes: int = 3,
        up_timeout: float = 600,
        kubectl_timeout: float = 120,
    ) -> None:
        self.name = name or f"{_NAME_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.nodes = nodes
        self.up_timeout = up_timeout
        self.kubectl_timeout = kubectl_timeout
        self.bin_dir = cache_dir() / "bin"
        self._kubeconfig: Path | None = None

    @property
    def kubeconfig(self) -> Path:
        """Path of the cluster's admin kubeconfig."""
        if self._kubeconfig is None:
            raise RuntimeError(f"control plane {self.name} is not running")
        return self._kubeconfig

    def start(self) -> None:
        """Build the tools if needed and bring the cluster up; on failure, leave nothing behind."""
        # No timeout: a cold build takes many minutes and the script fails on its own.
        _run([str(BUILD_TOOLS)])
        delete_orphans()
        try:
            out = _run(
                [str(CLUSTER), "up", self.name],
                env={"KOPFKA_NODES": str(self.nodes)},
                timeout=self.up_timeout,
            )
        except BaseException:
            self.stop()
            raise
        self._kubeconfig = Path(out.strip().splitlines()[-1])

    def stop(self) -> None:
        """Stop every process of the cluster and delete its state; safe to call twice."""
        self._kubeconfig = None
        _run([str(CLUSTER), "down", self.name], timeout=self.up_timeout)

    def environ(self) -> dict[str, str]:
        """os.environ plus KUBECONFIG and the tools on PATH, for processes run against it."""
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig)
        env["PATH"] = f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}"
        return env

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        """Run kubectl against the cluster and return its stdout; raise CommandError on failure."""
        return _run(
            [str(self.bin_dir / "kubectl"), "--kubeconfig", str(self.kubeconfig), *args],
            stdin=stdin,
            timeout=self.kubectl_timeout,
            capture_stderr=True,
        )

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


def delete_orphans() -> None:
    """Delete the clusters of processes that died before they could (kill -9, a lost CI job)."""
    clusters = Path(os.environ.get("KWOK_WORKDIR", cache_dir() / "kwok")) / "clusters"
    if not clusters.is_dir():
        return
    for entry in clusters.iterdir():
        match = _OWNED_NAME.match(entry.name)
        if match and not _alive(int(match["pid"])):
            _run([str(CLUSTER), "down", entry.name])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's process
        pass
    return True


def _run(
    args: list[str],
    *,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    timeout: float | None = None,
    capture_stderr: bool = False,
) -> str:
    """Run a command, return its stdout. The scripts' progress on stderr goes straight through
    (pytest shows it for a failing fixture); kubectl's is captured for the error message."""
    result = subprocess.run(
        args,
        input=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if capture_stderr else None,
        env={**os.environ, **env} if env else None,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise CommandError(args, result.returncode, result.stderr or "(see its output above)")
    return result.stdout
