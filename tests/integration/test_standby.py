"""Two replicas with `--leader-election`: one acts, the other stands by and takes over.

The replicas run as real `kopfka run` processes against the tier's control plane, with the
production lease timing (15 s), as the ServiceAccount of the chart installed with
`standby.enabled` (its ClusterRole and its Role for the Lease): the standby works with exactly the
rights the chart gives it. The tier's own operator is stopped meanwhile, so that only the replicas
act. Takeover after the active replica is killed must wait for the Lease to expire (a
standby that took a live Lease could reconcile next to the holder) and then come within a
renewal period; after a graceful stop, the Lease is handed back and taken at once.
"""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.controlplane import ControlPlane
from tests.support import chart
from tests.support.clusters import wait_ready
from tests.support.kube import TestKube
from tests.support.manifests import COMBINED_EPHEMERAL, kafka_cluster
from tests.support.operator import (
    KOPFKA,
    REPO_ROOT,
    STOP_TIMEOUT,
    TIER_DRIFT_INTERVAL,
    OperatorProcess,
    dies_with_parent,
    free_port,
)
from tests.support.waiting import wait_for

LEASE_DURATION = 15.0
STANDBY_VALUES = {"standby": {"enabled": True, "leaseDuration": int(LEASE_DURATION)}}
# A standby reads the Lease every 2/15 of its duration.
RETRY_PERIOD = LEASE_DURATION * 2 / 15
START_TIMEOUT = 60.0


class Replica:
    """One `kopfka run --leader-election` process with its own log."""

    def __init__(self, name: str, env: dict[str, str], log: Path, namespace: str) -> None:
        self.name = name
        self.log = log
        self.health_port = free_port()
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                dies_with_parent(
                    [
                        str(KOPFKA),
                        "run",
                        "--verbose",
                        "--leader-election",
                        "--lease-namespace",
                        namespace,
                        "--lease-duration",
                        str(LEASE_DURATION),
                        "--liveness",
                        f"http://127.0.0.1:{self.health_port}/healthz",
                    ]
                ),
                env={**env, "HOSTNAME": name},
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def health(self) -> bytes:
        """What the liveness endpoint answers (kubelet probes it on standbys too)."""
        url = f"http://127.0.0.1:{self.health_port}/healthz"
        with urllib.request.urlopen(url, timeout=5) as answer:
            assert answer.status == 200
            return bytes(answer.read())

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_log(self, marker: str, *, timeout: float) -> float:
        """Wait until the log says `marker`; the time it was first seen."""
        wait_for(
            lambda: self.process.poll() is None and marker in self.text(),
            timeout=timeout,
            what=f"replica {self.name} to log {marker!r}",
            describe=lambda: self.text()[-2000:],
        )
        return time.monotonic()

    def stop(self, *, kill: bool) -> None:
        if self.process.poll() is None:
            (self.process.kill if kill else self.process.terminate)()
        self.process.wait(timeout=STOP_TIMEOUT)


@pytest.fixture
def standby_kubeconfig(
    control_plane: ControlPlane, kube: TestKube, namespace: str, tmp_path: Path
) -> Iterator[Path]:
    """The identity the chart gives its operator pods with a standby, in the test's namespace."""
    objects = chart.identity(
        chart.render(release=f"sb-{namespace}", namespace=namespace, values=STANDBY_VALUES)
    )
    kube.apply(*objects)
    try:
        kubeconfig = chart.service_account_kubeconfig(
            kubectl=control_plane.bin_dir / "kubectl",
            admin_kubeconfig=control_plane.kubeconfig,
            account=chart.one(objects, "ServiceAccount")["metadata"]["name"],
            namespace=namespace,
            path=tmp_path / "standby-kubeconfig.yaml",
        )
        chart.wait_granted(
            kube.kubectl_path,
            kubeconfig,
            "update",
            "leases",
            "-n",
            namespace,
            what="the API server to grant the chart's Lease Role",
        )
        yield kubeconfig
    finally:
        for obj in objects:
            if obj["kind"].startswith("Cluster"):
                kube.kubectl("delete", obj["kind"].lower(), obj["metadata"]["name"])


@pytest.fixture
def replicas(
    control_plane: ControlPlane,
    operator: OperatorProcess,
    standby_kubeconfig: Path,
    tmp_path: Path,
    namespace: str,
) -> Iterator[Callable[[str], Replica]]:
    """Starts replicas by name, as the chart's ServiceAccount; the tier's operator is stopped until
    the test ends, and every replica with it."""
    made: list[Replica] = []
    env = control_plane.environ()
    env.update(
        KUBECONFIG=str(standby_kubeconfig),
        KOPFKA_DRIFT_INTERVAL=str(TIER_DRIFT_INTERVAL),
        PYTHONUNBUFFERED="1",
    )

    def start(name: str) -> Replica:
        made.append(Replica(name, env, tmp_path / f"{name}.log", namespace))
        return made[-1]

    operator.stop()
    try:
        yield start
    finally:
        for replica in made:
            replica.stop(kill=True)
        operator.start()


def test_a_standby_replica_takes_over_when_the_active_one_dies_or_stops(
    kube: TestKube, replicas: Callable[[str], Replica], namespace: str
) -> None:
    first = replicas("first")
    first.wait_log("leading: holding Lease", timeout=START_TIMEOUT)
    second = replicas("second")
    second.wait_log("standing by", timeout=START_TIMEOUT)
    assert second.health() == b"standby\n"

    kube.apply(kafka_cluster("one", namespace, COMBINED_EPHEMERAL))
    wait_ready(kube, "one", namespace)
    # Only the holder acts: the standby has not even started watching.
    assert "Starting the watch-stream" in first.text()
    assert "Starting the watch-stream" not in second.text()

    # The active replica dies without handing the Lease back: the standby must wait it out.
    first.stop(kill=True)
    killed = time.monotonic()
    kube.apply(kafka_cluster("two", namespace, COMBINED_EPHEMERAL))
    took_over = second.wait_log("leading: holding Lease", timeout=LEASE_DURATION * 3)
    after_kill = took_over - killed
    assert LEASE_DURATION - RETRY_PERIOD <= after_kill <= LEASE_DURATION + 2 * RETRY_PERIOD + 5
    wait_ready(kube, "two", namespace)
    # Now kopf itself answers the probe.
    assert second.health() != b"standby\n"

    # A graceful stop hands the Lease back: the next standby takes it at its next read.
    third = replicas("third")
    third.wait_log("standing by", timeout=START_TIMEOUT)
    second.stop(kill=False)
    stopped = time.monotonic()
    assert second.process.returncode == 0
    assert "released Lease" in second.text()
    after_stop = third.wait_log("leading: holding Lease", timeout=LEASE_DURATION) - stopped
    assert after_stop <= RETRY_PERIOD + 3
    kube.apply(kafka_cluster("three", namespace, COMBINED_EPHEMERAL))
    wait_ready(kube, "three", namespace)
    print(f"takeover after SIGKILL: {after_kill:.1f} s; after SIGTERM: {after_stop:.1f} s")
