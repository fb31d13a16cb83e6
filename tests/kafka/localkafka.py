"""Real KRaft clusters as local processes, started the way pods start them.

Each node runs the broker image's own entrypoint (broker-image/bin/kopfka-entrypoint) with the
ConfigMap files and the container environment that `render/` produces for a KafkaCluster, so the
Kafka tier tests what the operator ships, not hand-written properties. What a pod gets from
Kubernetes is provided locally:

- its own IP: a loopback address per node (127.43.C.N), bound through ${KOPFKA_BIND_ADDRESS};
- pod DNS names (`<pod>.<headless service>.<namespace>.svc`): lines in /etc/hosts, so both the
  JVMs and Python clients resolve them; removed when the cluster stops;
- its volume at /var/lib/kafka: a private mount namespace per node (unshare) binds the node's own
  directory there, so the rendered `log.dirs` is used unchanged. This needs root, like CI has.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import signal
import subprocess
import tempfile
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, TypeVar

from kopfka.model import names, schema
from kopfka.model.cluster import ClusterSpec, Pool, parse_cluster
from kopfka.reconcile import new_cluster_id
from kopfka.render import config, metrics, statefulset
from tests.support import waiting

REPO = Path(__file__).resolve().parents[2]
ENTRYPOINT = REPO / "broker-image" / "bin" / "kopfka-entrypoint"
HOSTS = Path("/etc/hosts")
DATA_MOUNT = Path(config.DATA_MOUNT)
_cluster_numbers = itertools.count(1)
T = TypeVar("T")


def wait_for(what: str, check: Callable[[], T | None], *, timeout: float = 120) -> T:
    """Wait for `check`; client errors from a node still starting mean "not yet"."""
    return waiting.wait_for(check, timeout=timeout, what=what, retry_on=(Exception,))


def _build(script: str, *args: str) -> Path:
    out = subprocess.run([str(REPO / script), *args], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


def kafka_libs(version: str) -> Path:
    """The directory of Kafka `version`'s jars as the broker image holds them (built, cached)."""
    return _build("hack/kafka-libs.sh", version)


@dataclass
class Node:
    pool: Pool
    ordinal: int
    pod: str
    host: str
    address: str
    root: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def node_id(self) -> int:
        return self.pool.node_id(self.ordinal)

    @property
    def work_dir(self) -> Path:
        return self.root / "tmp" / "kopfka"

    @property
    def data_dir(self) -> Path:
        """The node's volume as seen from outside its mount namespace."""
        return self.root / "volume"

    @property
    def log(self) -> Path:
        return self.root / "kafka.log"

    def meta_properties(self) -> dict[str, str]:
        text = (self.data_dir / "data" / "meta.properties").read_text()
        return dict(
            line.split("=", 1) for line in text.splitlines() if "=" in line and line[0] != "#"
        )

    @property
    def metrics_url(self) -> str:
        """The JMX exporter's endpoint: the container port `metrics` on the node's address."""
        return f"http://{self.address}:{schema.METRICS_PORT}/metrics"

    def probe(self, path: str) -> bool:
        """The probe agent's answer on `path` (/ready, /live), asked as the kubelet asks it."""
        url = f"http://{self.address}:{schema.PROBE_PORT}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return bool(answer.status == HTTPStatus.OK)
        except OSError:  # refused before the JVM starts; HTTPError (503) while not ready
            return False

    def probe_ready(self) -> bool:
        return self.probe("/ready")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class LocalKafka:
    spec: ClusterSpec
    cluster_id: str
    base: Path
    version: str
    racks: tuple[str, ...] = ("zone-a", "zone-b", "zone-c")
    # The brokers' TLS key store files (the Secret's files, as the kubelet mounts them), for a
    # cluster with TLS listeners.
    tls_dir: Path | None = None
    nodes: list[Node] = field(default_factory=list)
    _hosts_marker: str = ""

    def __post_init__(self) -> None:
        number = next(_cluster_numbers) + os.getpid() % 200
        self._hosts_marker = f"# kopfka-kafka-tier {os.getpid()} {number}"
        libs = kafka_libs(self.version)
        agent = _build("broker-image/agent/build.sh")
        exporter = _build("broker-image/jmx-exporter.sh")
        self.write_metrics_config()
        for pool in self.spec.pools:
            config_dir = self.base / "config" / pool.role.value
            config_dir.mkdir(parents=True, exist_ok=True)
            for file_name, text in config.config_map(self.spec, pool)["data"].items():
                (config_dir / file_name).write_text(text)
            container = statefulset.pod_spec(self.spec, pool, self.cluster_id)["containers"][0]
            for ordinal in range(pool.replicas):
                index = len(self.nodes) + 1
                pod = names.pod_name(self.spec.name, pool.role, ordinal)
                root = self.base / pod
                node = Node(
                    pool=pool,
                    ordinal=ordinal,
                    pod=pod,
                    host=names.pod_host(self.spec.name, self.spec.namespace, pool.role, ordinal),
                    address=f"127.43.{number % 250}.{index}",
                    root=root,
                    env={},
                )
                node.env = {
                    **self._container_env(container["env"], node),
                    "KOPFKA_CONFIG_DIR": str(config_dir),
                    "KOPFKA_WORK_DIR": str(node.work_dir),
                    "KOPFKA_LIBS": str(libs),
                    "KOPFKA_AGENT_JAR": str(agent),
                    "KOPFKA_EXPORTER_JAR": str(exporter),
                    "KOPFKA_METRICS_CONFIG_DIR": str(self.metrics_dir),
                    "KOPFKA_BIND_ADDRESS": node.address,
                    **({"KOPFKA_TLS_DIR": str(self.tls_dir)} if self.tls_dir else {}),
                }
                (root / "tmp").mkdir(parents=True, exist_ok=True)
                node.data_dir.mkdir(parents=True, exist_ok=True)
                self.nodes.append(node)

    @property
    def metrics_dir(self) -> Path:
        """Where every node finds the metrics ConfigMap's files (one ConfigMap per cluster)."""
        return self.base / "config" / "metrics"

    def write_metrics_config(self, spec: ClusterSpec | None = None) -> None:
        """The metrics ConfigMap's files of `spec` (default: the cluster's), as the kubelet
        mounts them; written again with other rules, they are what a rule change does to
        running nodes."""
        self.metrics_dir.mkdir(parents=True, exist_ok=True)
        for file_name, text in metrics.config_map(spec or self.spec)["data"].items():
            # A new file renamed over the old one, as the kubelet's atomic update does.
            staged = self.metrics_dir / f".{file_name}.new"
            staged.write_text(text)
            staged.replace(self.metrics_dir / file_name)

    def _container_env(self, env: list[dict[str, Any]], node: Node) -> dict[str, str]:
        """The container's env as the kubelet would resolve it for this pod."""
        field_values = {
            "metadata.name": node.pod,
            "metadata.namespace": self.spec.namespace,
            f"metadata.labels['{self.spec.rack_topology_key}']": self.rack_of(node),
        }
        resolved = {}
        for item in env:
            if "value" in item:
                resolved[item["name"]] = item["value"]
            else:
                resolved[item["name"]] = field_values[item["valueFrom"]["fieldRef"]["fieldPath"]]
        return resolved

    def rack_of(self, node: Node) -> str:
        return self.racks[node.ordinal % len(self.racks)]

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> LocalKafka:
        if os.geteuid() != 0:
            raise RuntimeError("the Kafka tier needs root (mount namespaces, /etc/hosts)")
        DATA_MOUNT.mkdir(parents=True, exist_ok=True)
        self._add_hosts()
        for node in self.nodes:
            self.start_node(node)
        self.wait_ready()
        return self

    def start_node(self, node: Node) -> None:
        assert not node.running, f"{node.pod} is already running"
        node.starts += 1
        command = [
            "unshare", "--mount", "--propagation", "private", "--",
            "/bin/sh", "-c", 'mount --bind "$0" "$1" && exec "$2"',
            str(node.data_dir), str(DATA_MOUNT), str(ENTRYPOINT),
        ]  # fmt: skip
        env = {"PATH": os.environ["PATH"], "HOME": str(node.root), **node.env}
        with node.log.open("ab") as log:
            log.write(f"\n==== start {node.starts} ====\n".encode())
            log.flush()
            node.process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def stop_node(self, node: Node, *, timeout: float = 120) -> int:
        """SIGTERM, as the kubelet sends it, then wait for the JVM to exit; returns its code."""
        assert node.process is not None
        node.process.send_signal(signal.SIGTERM)
        code = node.process.wait(timeout=timeout)
        node.process = None
        return code

    def kill_node(self, node: Node) -> None:
        """SIGKILL the node's whole process group: a StorageTool JVM the entrypoint started
        before exec would otherwise outlive it."""
        assert node.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(node.process.pid, signal.SIGKILL)
        node.process.wait(timeout=30)
        node.process = None

    def wait_ready(self, nodes: list[Node] | None = None, *, timeout: float = 180) -> None:
        for node in nodes or self.nodes:
            wait_for(
                f"{node.pod} ready (log: {node.log})",
                lambda node=node: self._check_alive(node) and node.probe_ready(),
                timeout=timeout,
            )

    def _check_alive(self, node: Node) -> bool:
        if not node.running:
            tail = node.log.read_text(errors="replace")[-3000:]
            raise AssertionError(f"{node.pod} exited; end of its log:\n{tail}")
        return True

    def stop(self) -> None:
        """Brokers first, then the quorum all at once: a controller stopped after the other voters
        are gone waits for a quorum that no longer exists."""
        for group in (self.brokers_only, self.controllers):
            running = [node for node in group if node.running]
            for node in running:
                node.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
            for node in running:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    node.process.wait(timeout=60)  # type: ignore[union-attr]
                self.kill_node(node)
        self._remove_hosts()

    # -- addressing --------------------------------------------------------------------------

    def _add_hosts(self) -> None:
        lines = [f"{node.address} {node.host}  {self._hosts_marker}" for node in self.nodes]
        with HOSTS.open("a") as hosts:
            hosts.write("\n".join(lines) + "\n")

    def _remove_hosts(self) -> None:
        kept = [line for line in HOSTS.read_text().splitlines() if self._hosts_marker not in line]
        HOSTS.write_text("\n".join(kept) + "\n")

    @property
    def brokers(self) -> list[Node]:
        return [node for node in self.nodes if node.pool.role.is_broker]

    @property
    def brokers_only(self) -> list[Node]:
        return [node for node in self.nodes if not node.pool.role.is_controller]

    @property
    def controllers(self) -> list[Node]:
        return [node for node in self.nodes if node.pool.role.is_controller]

    def bootstrap(self, port: int | None = None) -> str:
        port = port or self.spec.listeners[0].port
        return ",".join(f"{node.host}:{port}" for node in self.brokers)

    def node(self, node_id: int) -> Node:
        return next(node for node in self.nodes if node.node_id == node_id)


def broker_secret(base: Path, files: Mapping[str, bytes]) -> Path:
    """The brokers' TLS Secret (`files`, as Certificates.brokers holds it) written under `base`
    as the kubelet mounts it (read-only for the pod's group); pass it as LocalKafka's tls_dir."""
    tls_dir = base / "tls"
    tls_dir.mkdir()
    for file_name, content in files.items():
        (tls_dir / file_name).write_bytes(content)
        (tls_dir / file_name).chmod(0o440)
    return tls_dir


@contextlib.contextmanager
def local_kafka(
    spec: ClusterSpec, cluster_id: str, base: Path, version: str, **kwargs: Any
) -> Iterator[LocalKafka]:
    cluster = LocalKafka(spec=spec, cluster_id=cluster_id, base=base, version=version, **kwargs)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.kafka.localkafka`: a local cluster in the foreground, for poking by hand
    (broker-image/dev/local-cluster.sh). It runs until SIGINT or SIGTERM, then stops every node."""
    parser = argparse.ArgumentParser(prog="local-cluster", description=main.__doc__)
    parser.add_argument("--controllers", type=int, default=3, help="1, 3 or 5 (default 3)")
    parser.add_argument(
        "--brokers", type=int, default=3, help="0 makes the controllers combined nodes"
    )
    parser.add_argument("--version", help="Kafka version (default: the model's default)")
    parser.add_argument("--dir", type=Path, help="where nodes keep data and logs (default: temp)")
    args = parser.parse_args(argv)
    pool = {"storage": {"type": "ephemeral"}, "jvm": {"heap": "384Mi"}}
    spec: dict[str, Any] = {"controllers": {"replicas": args.controllers, **pool}}
    if args.brokers:
        spec["brokers"] = {"replicas": args.brokers, **pool}
    else:
        spec["mode"] = "combined"
    if args.version:
        spec["kafka"] = {"version": args.version}
    cluster_spec = parse_cluster("demo", "default", spec)
    base = args.dir or Path(tempfile.mkdtemp(prefix="kopfka-local-"))
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with local_kafka(cluster_spec, new_cluster_id(), base, cluster_spec.version) as cluster:
        for node in cluster.nodes:
            print(
                f"{node.pod}  node id {node.node_id}  {node.host} ({node.address})  log {node.log}"
            )
        print(f"bootstrap: {cluster.bootstrap()}\nready; Ctrl-C stops every node", flush=True)
        while not stopping:
            signal.pause()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
