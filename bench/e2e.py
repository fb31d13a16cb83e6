"""Benchmark: what does running Kafka as kopfka's pods cost, against the same Kafka processes bare?

The e2e tier proves that kopfka works on a real node; this measures what the pods, the operator and
Kubernetes cost next to Kafka started bare on the same host, in one run, side by side:

- apply -> Ready: `kubectl apply` of the e2e suite's production example fitted to the node (3
  controllers + 3 brokers, heap 384 MiB, RF 3, min ISR 2) until the KafkaCluster says Ready=True
  for its current generation, against `BenchKafka.start_timed` (bench/kafka_throughput.py) of the
  same spec rendered by this checkout: the broker image's entrypoint as bare processes, first
  spawn until every node's readiness probe passes. Ratio goal: <= 1.5.
- producer throughput: Kafka's ProducerPerformance (the bench-kafka invocation: acks=all, 1 KiB
  records, warm-up then measured records, topic of 6 partitions, RF 3, min ISR 2) from a client pod
  through the bootstrap Service, against the same tool on the host against the bare cluster.
  Ratio goal: >= 0.95.

kopfka is installed once per run with its chart, as release `kopfka-bench` in `kopfka-bench-system`
watching only `kopfka-bench` (never the e2e suite's or the demo's namespaces). Rounds alternate the
order (pods-bare, bare-pods, ...) so that drift on the machine favours neither side; each side
waits for the machine to go quiet first and records where the CPU went while it was measured.
Between rounds the pod cluster is removed fast (force-deleted pods, deleted claims: cleanup, not
measurement). Everything it starts is stopped or deleted, also on failure or Ctrl-C/SIGTERM;
every wait has a deadline. Needs root and the e2e node (`make bench-e2e` brings it up).

    python -m bench.e2e [--rounds 3] [--records 60000] [--warmup-records 30000]
                        [--quiet-timeout 300] [--others-timeout 600] [--output FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import difflib
import hashlib
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes
import yaml

from bench.kafka_throughput import (
    MIN_ISR,
    PARTITIONS,
    PRODUCER_HEAP,
    PRODUCER_LOG4J,
    PRODUCER_PROPS,
    PRODUCER_TIMEOUT,
    REPLICAS,
    STOP_SIGNALS,
    TOPIC,
    BenchKafka,
    _terminate,
    full_isr,
    machine,
    produce,
    producer_command,
    producer_result,
    running,
    wait_quiet,
)
from bench.node import other_operators, wait_alone
from e2e.suite.conftest import kubeconfig_path
from e2e.suite.kafka_client import POD as CLIENT_POD
from e2e.suite.kafka_client import KafkaClient
from e2e.suite.test_cluster_lifecycle import EXAMPLE, fit_to_node
from kopfka.model import names
from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.reconcile import new_cluster_id
from kopfka.render import config
from tests.kafka.clients import create_topic
from tests.kafka.localkafka import _build, wait_for
from tests.support.chart import CHART, HelmError, helm, tool
from tests.support.clusters import CLUSTER_LABEL, children
from tests.support.kube import Obj, TestKube, condition, status_summary

REPO = Path(__file__).resolve().parents[1]
RELEASE = "kopfka-bench"
OPERATOR_NAMESPACE = "kopfka-bench-system"
NAMESPACE = "kopfka-bench"
OUR_NAMESPACES = (NAMESPACE, OPERATOR_NAMESPACE)
# Pods of the node itself: their CPU is Kubernetes' cost, not someone else's work.
SYSTEM_NAMESPACES = ("kube-system", "local-path-storage")
PODS, BARE = "pods", "bare"
HELM_WAIT = "180s"
READY_TIMEOUT = 600.0
GONE_TIMEOUT = 180.0
ISR_TIMEOUT = 120.0
# The client pod's view of the broker image: Kafka's jars, and where the tool's log4j goes.
POD_LIBS = "/opt/kafka/libs"
POD_LOG4J = "/tmp/producer-log4j2.properties"
# The e2e node's processes (e2e/node.sh): pid files of the node daemons and of the control plane.
NODE_RUN = Path("/run/kopfka-e2e")
CGROUP_V1 = Path("/sys/fs/cgroup/cpuacct/kubepods")
CGROUP_V2 = Path("/sys/fs/cgroup/kubepods")
READY_GOAL, THROUGHPUT_GOAL = 1.5, 0.95


# -- where the CPU went ----------------------------------------------------------------------------


def _busy_seconds() -> float:
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _process_seconds(pid: int, *, children: bool = True) -> float:
    """CPU of a process and, with `children`, of the children it has reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = fields[11:15] if children else fields[11:13]  # utime, stime, cutime, cstime
    return sum(int(value) for value in ticks) / os.sysconf("SC_CLK_TCK")


def _command_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "(exited)"


def node_pids() -> dict[int, bool]:
    """The e2e node's own processes: containerd, kubelet, kube-proxy, the control plane (pid
    files of e2e/node.sh and kwokctl), with their children's CPU (iptables, ...); and this
    containerd's shims without: what a shim reaps are the processes run in containers by exec
    (probes, the producer), which the pods' cgroups count already (and runc, which is lost)."""
    files = list((NODE_RUN / "pids").glob("*.pid"))
    with contextlib.suppress(OSError):
        cache = Path((NODE_RUN / "cache").read_text().strip())
        files += (cache / "e2e/node/kwok/clusters/kopfka-e2e/pids").glob("*.pid")
    pids = {}
    for file in files:
        with contextlib.suppress(OSError, ValueError):
            pids[int(file.read_text().split()[0])] = True
    socket = str(NODE_RUN / "containerd").encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if b"containerd-shim" in argv[0] and any(socket in a for a in argv):
                pids[int(entry.name)] = False
    return pids


def pod_cgroups() -> dict[str, Path]:
    """Pod uid -> its CPU accounting cgroup on this node (cgroupfs driver, v1 or v2)."""
    root = CGROUP_V1 if CGROUP_V1.is_dir() else CGROUP_V2
    found = {}
    for parent in (root, root / "burstable", root / "besteffort"):
        for path in parent.glob("pod*"):
            found[path.name.removeprefix("pod")] = path
    return found


def _cgroup_seconds(path: Path) -> float | None:
    with contextlib.suppress(OSError):
        if (path / "cpuacct.usage").exists():
            return int((path / "cpuacct.usage").read_text()) / 1e9
        stat = dict(line.split() for line in (path / "cpu.stat").read_text().splitlines())
        return int(stat["usage_usec"]) / 1e6
    return None


def pod_processes(uid: str) -> list[int]:
    path = pod_cgroups().get(uid)
    pids: list[int] = []
    for procs in path.rglob("cgroup.procs") if path else ():
        with contextlib.suppress(OSError):
            pids += [int(pid) for pid in procs.read_text().split()]
    return pids


@dataclass
class _Sample:
    at: float
    busy: float
    own: float
    processes: dict[int, float]
    pods: dict[str, float]


class CpuAccount:
    """Where the machine's cores went over an interval, for both sides alike:

    - benchmark: what is measured (the bare JVMs, or this run's pods: Kafka, the client, the
      operator) plus this process and its children (kubectl, the bare side's producer);
    - kubernetes: the e2e node's daemons, control plane, shims and system pods, which the pod side
      needs (and which idle along during the bare side);
    - foreign: everything else, e.g. other people's builds or the e2e suite's or demo's pods
      (`other_pods_cpu_cores`), and kernel time no process is charged with.
    """

    def __init__(self, kube: TestKube, *, pids: Sequence[int] = ()) -> None:
        self.kube = kube
        self.start = self._sample(pids)

    def _sample(self, pids: Sequence[int]) -> _Sample:
        times = os.times()
        pods = {uid: _cgroup_seconds(path) for uid, path in pod_cgroups().items()}
        return _Sample(
            at=time.monotonic(),
            busy=_busy_seconds(),
            own=times.user + times.system + times.children_user + times.children_system,
            processes={
                pid: _process_seconds(pid, children=children)
                for pid, children in {**node_pids(), **dict.fromkeys(pids, True)}.items()
            },
            pods={uid: seconds for uid, seconds in pods.items() if seconds is not None},
        )

    def cores(self, *, pids: Sequence[int] = ()) -> dict[str, float]:
        """Average cores since construction; `pids` are the measured processes (the bare JVMs):
        those started meanwhile count whole."""
        end, start = self._sample(pids), self.start
        wall = end.at - start.at

        def used(now: dict[Any, float], then: dict[Any, float], keys: Any) -> float:
            return sum(max(0.0, now[key] - then.get(key, 0.0)) for key in keys if key in now)

        namespace_of = {
            pod["metadata"]["uid"]: pod["metadata"]["namespace"]
            for pod in self.kube.list("v1", "Pod")
        }
        ours = [uid for uid in end.pods if namespace_of.get(uid) in OUR_NAMESPACES]
        system = [uid for uid in end.pods if namespace_of.get(uid) in SYSTEM_NAMESPACES]
        others = [uid for uid in end.pods if uid not in ours and uid not in system]
        measured = used(end.processes, start.processes, pids) + used(end.pods, start.pods, ours)
        benchmark = measured + (end.own - start.own)
        node = [pid for pid in end.processes if pid not in pids]
        kubernetes_seconds = used(end.processes, start.processes, node) + used(
            end.pods, start.pods, system
        )
        busy = end.busy - start.busy
        by_process: dict[str, float] = {"system pods": used(end.pods, start.pods, system)}
        for pid in node:
            by_process[_command_name(pid)] = by_process.get(_command_name(pid), 0.0) + used(
                end.processes, start.processes, [pid]
            )
        return {
            "cpu_busy_cores": round(busy / wall, 2),
            "measured_cpu_cores": round(measured / wall, 2),
            "benchmark_cpu_cores": round(benchmark / wall, 2),
            "kubernetes_cpu_cores": round(kubernetes_seconds / wall, 2),
            "foreign_cpu_cores": round(max(0.0, busy - benchmark - kubernetes_seconds) / wall, 2),
            "other_pods_cpu_cores": round(used(end.pods, start.pods, others) / wall, 2),
            "kubernetes_cpu_cores_by_process": {
                name: round(seconds / wall, 2)
                for name, seconds in sorted(by_process.items(), key=lambda item: -item[1])
                if seconds / wall >= 0.005
            },
        }


# -- the two sides' JVMs and settings --------------------------------------------------------------


def jvm_flags(pid: int) -> dict[str, Any]:
    """What matters of a Kafka JVM's command line: its -X/-XX options and -D property names
    (their values are paths that differ between a pod and a bare process)."""
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    return {
        "options": [a for a in argv if a.startswith("-X") or a == "-server"],
        "properties": sorted(a.split("=", 1)[0] for a in argv if a.startswith("-D")),
        "agent": any(a.startswith("-javaagent:") for a in argv),
    }


def kafka_jvm(pids: Sequence[int]) -> int | None:
    for pid in pids:
        with contextlib.suppress(OSError):
            if b"kafka.Kafka" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"):
                return pid
    return None


def pod_jvms(pods: Sequence[Obj]) -> dict[str, dict[str, Any]]:
    """Role -> the Kafka JVM flags of the role's first pod (all pods of a role share them)."""
    found: dict[str, dict[str, Any]] = {}
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        role = pod["metadata"]["labels"][names.ROLE_LABEL]
        pid = kafka_jvm(pod_processes(pod["metadata"]["uid"]))
        if role not in found and pid is not None:
            found[role] = jvm_flags(pid)
    return found


def bare_jvms(cluster: BenchKafka) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for node in cluster.nodes:
        role = node.pool.role.value
        pid = kafka_jvm([node.process.pid] if node.process else [])
        if role not in found and pid is not None:
            found[role] = jvm_flags(pid)
    return found


def settings_differences(kube: TestKube, spec: ClusterSpec) -> list[str]:
    """Where the operator's ConfigMaps and StatefulSets (rendered by the operator image) differ
    from what this checkout renders for the bare side: config files and the JVM environment."""
    found = []
    for pool in spec.pools:
        ours = config.config_map(spec, pool)
        selector = {CLUSTER_LABEL: spec.name, names.ROLE_LABEL: pool.role.value}
        theirs = kube.list("v1", "ConfigMap", NAMESPACE, labels=selector)
        if len(theirs) != 1:
            found.append(f"{pool.role.value}: {len(theirs)} ConfigMaps in the cluster, not 1")
            continue
        for file_name, text in ours["data"].items():
            other = (theirs[0].get("data") or {}).get(file_name, "")
            if other != text:
                diff = difflib.unified_diff(text.splitlines(), other.splitlines(), lineterm="")
                found.append(f"{pool.role.value} {file_name}: " + " | ".join(list(diff)[2:12]))
        sts = kube.must_get(
            "apps/v1", "StatefulSet", names.pool_name(spec.name, pool.role), NAMESPACE
        )
        env = {
            e["name"]: e.get("value")
            for e in sts["spec"]["template"]["spec"]["containers"][0].get("env", [])
            if e["name"].startswith("KAFKA_")
        }
        heap = f"-Xms{pool.heap_mib}m -Xmx{pool.heap_mib}m"
        if env.get("KAFKA_HEAP_OPTS") != heap or env.get("KAFKA_JVM_OPTS"):
            found.append(f"{pool.role.value}: pod JVM env {env}, bare KAFKA_HEAP_OPTS={heap}")
    return found


def image_facts(client: KafkaClient, libs: Path) -> dict[str, Any]:
    """Java, scripts and jars of the broker image (in the client pod) against this host's."""
    host_java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    pod_java = client.exec("sh", "-c", "java -version 2>&1")
    scripts = ("kopfka-entrypoint",)
    sums = client.exec("sha256sum", *(f"/opt/kafka/bin/{s}" for s in scripts)).splitlines()
    pod_sums = {path: digest for digest, path in (line.split()[:2] for line in sums)}
    same_scripts = {
        script: pod_sums.get(f"/opt/kafka/bin/{script}")
        == hashlib.sha256((REPO / "broker-image/bin" / script).read_bytes()).hexdigest()
        for script in scripts
    }
    pod_jars = {jar for jar in client.exec("ls", POD_LIBS).split() if jar.endswith(".jar")}
    host_jars = {path.name for path in libs.glob("*.jar")}
    return {
        "pod_java": pod_java.splitlines()[0] if pod_java else "",
        "host_java": host_java.stderr.splitlines()[0] if host_java.stderr else "",
        "scripts_same_as_checkout": same_scripts,
        "jars_only_in_image": sorted(pod_jars - host_jars),
        "jars_only_on_host": sorted(host_jars - pod_jars),
    }


# -- the pod side ----------------------------------------------------------------------------------


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """A second Ctrl-C or SIGTERM must not cut a cleanup short; every cleanup step is bounded."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def ready_now(obj: Obj) -> bool:
    ready = condition(obj, "Ready")
    generation = obj["metadata"].get("generation")
    status = obj.get("status") or {}
    return (
        ready is not None
        and ready.get("status") == "True"
        and ready.get("observedGeneration", generation) == generation
        and status.get("observedGeneration", generation) == generation
    )


def watch_ready(kube: TestKube, name: str, *, timeout: float) -> tuple[float, Obj]:
    """Watch the KafkaCluster (no polling load on a busy machine) until it is Ready for its
    current generation; returns when that was seen (time.monotonic) and the object."""
    api = kubernetes.client.CustomObjectsApi(kube.api_client)
    group, version = names.API_VERSION.split("/")
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        stream = kubernetes.watch.Watch()
        for event in stream.stream(
            api.list_namespaced_custom_object,
            group,
            version,
            NAMESPACE,
            names.CLUSTER_PLURAL,
            field_selector=f"metadata.name={name}",
            timeout_seconds=max(1, int(remaining)),
            _request_timeout=remaining + 10,
        ):
            if event["type"] != "DELETED" and ready_now(event["object"]):
                stream.stop()
                return time.monotonic(), event["object"]
    pods = kube.list("v1", "Pod", NAMESPACE, labels={CLUSTER_LABEL: name})
    states = {
        p["metadata"]["name"]: [
            s.get("state") for s in (p.get("status") or {}).get("containerStatuses") or []
        ]
        or p.get("status", {}).get("phase")
        for p in pods
    }
    raise TimeoutError(
        f"KafkaCluster {NAMESPACE}/{name} not Ready after {timeout:.0f} s: "
        f"{status_summary(kube.cluster(name, NAMESPACE))}; pods: {states}"
    )


def _stamp(value: str) -> float:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def pod_timeline(pods: Sequence[Obj], applied: float) -> dict[str, float]:
    """When the first pod was made, and the last one scheduled, started, Ready: where apply ->
    Ready went. Seconds after the apply; the API's stamps are whole seconds, so these are +-1 s
    (and never below 0)."""

    def after(stamps: list[str]) -> float:
        return round(max(0.0, max(_stamp(stamp) for stamp in stamps) - applied), 1)

    def last(kind: str) -> float:
        conditions = [c for p in pods for c in p["status"].get("conditions") or []]
        return after([c["lastTransitionTime"] for c in conditions if c["type"] == kind])

    statuses = [s for p in pods for s in p["status"].get("containerStatuses") or []]
    first = min(_stamp(p["metadata"]["creationTimestamp"]) for p in pods)
    return {
        "first_pod_created_s": round(max(0.0, first - applied), 1),
        "last_pod_scheduled_s": last("PodScheduled"),
        "last_container_started_s": after(
            [s["state"]["running"]["startedAt"] for s in statuses if "running" in s["state"]]
        ),
        "last_pod_ready_s": last("Ready"),
    }


def delete_cluster(kube: TestKube, name: str) -> float:
    """Remove a KafkaCluster and everything it had, fast, and wait until it is all gone (pods'
    processes included); returns the seconds it took. Cleanup, not measurement: the
    StatefulSets are deleted without their pods (else they would make them again, and garbage
    collection would stop the brokers gracefully, one by one), then the pods are force-deleted
    and the claims deleted."""
    began = time.monotonic()
    labels, selector = {CLUSTER_LABEL: name}, f"{CLUSTER_LABEL}={name}"
    uids = [p["metadata"]["uid"] for p in kube.list("v1", "Pod", NAMESPACE, labels=labels)]
    kube.kubectl("delete", "kafkacluster", name, "-n", NAMESPACE, "--ignore-not-found")
    kube.kubectl(
        "delete", "statefulsets", "-n", NAMESPACE, "-l", selector, "--cascade=orphan",
        "--ignore-not-found", "--wait=false",
    )  # fmt: skip
    wait_for(
        f"the StatefulSets of {name} to be deleted",
        lambda: not kube.list("apps/v1", "StatefulSet", NAMESPACE, labels=labels),
        timeout=GONE_TIMEOUT,
    )
    kube.kubectl(
        "delete", "pods", "-n", NAMESPACE, "-l", selector, "--grace-period=0", "--force",
        "--ignore-not-found", "--wait=false",
    )  # fmt: skip
    kube.kubectl("delete", "pvc", "-n", NAMESPACE, "-l", selector, "--wait=false")

    def gone() -> bool:
        volumes = [
            pv
            for pv in kube.list("v1", "PersistentVolume")
            if (pv["spec"].get("claimRef") or {}).get("namespace") == NAMESPACE
        ]
        return (
            not kube.list("v1", "Pod", NAMESPACE, labels=labels)
            and not kube.list("v1", "PersistentVolumeClaim", NAMESPACE, labels=labels)
            and not volumes
            and not children(kube, name, NAMESPACE)
            and not set(uids) & set(pod_cgroups())
        )

    wait_for(
        f"the pods (and their processes), claims, volumes and objects of {name} to be gone",
        gone,
        timeout=GONE_TIMEOUT,
    )
    return time.monotonic() - began


def teardown(kube: TestKube) -> None:
    """Everything this benchmark installs, gone: also what an interrupted run left."""
    if kube.get("v1", "Namespace", NAMESPACE) is not None:
        for cluster in kube.list(names.API_VERSION, "KafkaCluster", NAMESPACE):
            delete_cluster(kube, cluster["metadata"]["name"])
    try:
        helm(
            "uninstall", RELEASE, "--kubeconfig", str(kube.kubeconfig), "--namespace",
            OPERATOR_NAMESPACE, "--wait", "--timeout", HELM_WAIT,
        )  # fmt: skip
    except HelmError as error:
        if "not found" not in error.stderr:
            raise
    for namespace in OUR_NAMESPACES:
        kube.kubectl("delete", "namespace", namespace, "--ignore-not-found", "--wait=false")
    wait_for(
        f"namespaces {OUR_NAMESPACES} to be deleted",
        lambda: all(kube.get("v1", "Namespace", ns) is None for ns in OUR_NAMESPACES),
        timeout=GONE_TIMEOUT,
    )


def node_kube() -> TestKube:
    """A client of the e2e node, or the exit that says how to start it."""
    kubeconfig = kubeconfig_path()
    if not kubeconfig.is_file():
        raise SystemExit(f"no e2e node ({kubeconfig} is missing): start it with `make e2e-up`")
    return TestKube(kubeconfig=kubeconfig, kubectl=tool("kubectl"))


def install(kube: TestKube) -> None:
    """kopfka from its chart, watching only the benchmark's namespace (which must exist first)."""
    kube.kubectl("create", "namespace", NAMESPACE)
    helm(
        "upgrade", "--install", RELEASE, str(CHART), "--kubeconfig", str(kube.kubeconfig),
        "--namespace", OPERATOR_NAMESPACE, "--create-namespace", "--wait", "--timeout", HELM_WAIT,
        values={"watchNamespaces": [NAMESPACE]},
    )  # fmt: skip


def topic_in_sync(client: KafkaClient) -> bool:
    lines = client.describe(TOPIC)
    if len(lines) != PARTITIONS:
        return False
    for line in lines:
        replicas = line.split("Replicas: ")[1].split()[0].split(",")
        isr = line.split("Isr: ")[1].split()[0].split(",")
        if len(replicas) != REPLICAS or sorted(isr) != sorted(replicas):
            return False
    return True


def produce_in_pod(
    kube: TestKube, bootstrap: str, *, records: int, warmup: int, size: int
) -> dict[str, Any]:
    """The bench-kafka ProducerPerformance command in the client pod, one blocking exec (no
    polling while it runs)."""
    command = producer_command(
        POD_LIBS, POD_LOG4J, bootstrap, records=records, warmup=warmup, size=size
    )
    argv = [
        str(kube.kubectl_path), "--kubeconfig", str(kube.kubeconfig),
        "exec", "-n", NAMESPACE, CLIENT_POD, "--", *command,
    ]  # fmt: skip
    began = time.monotonic()
    out = subprocess.run(
        argv, capture_output=True, text=True, timeout=PRODUCER_TIMEOUT, check=False
    )
    return producer_result(out, records=records, warmup=warmup, wall=time.monotonic() - began)


@dataclass
class Bench:
    kube: TestKube
    client: KafkaClient
    manifest: Obj
    spec: ClusterSpec
    libs: Path
    work: Path
    args: argparse.Namespace

    def load(self) -> dict[str, int]:
        a = self.args
        return {"records": a.records, "warmup": a.warmup_records, "size": a.record_size}

    def pods(self, round_number: int) -> dict[str, Any]:
        name, kube = self.spec.name, self.kube
        wait_alone(
            kube, self.args.others_timeout, own_namespace=OPERATOR_NAMESPACE, watched=NAMESPACE
        )
        quiet = self.quiet()
        print(f"round {round_number} pods: applying {quiet}", flush=True)
        try:
            meter = CpuAccount(kube)
            applied_wall, applied = time.time(), time.monotonic()
            kube.kubectl("apply", "-n", NAMESPACE, "-f", "-", stdin=yaml.safe_dump(self.manifest))
            ready_at, _ = watch_ready(kube, name, timeout=READY_TIMEOUT)
            startup: dict[str, Any] = {"apply_to_ready_s": round(ready_at - applied, 2)}
            startup.update(meter.cores())
            pods = kube.list("v1", "Pod", NAMESPACE, labels={CLUSTER_LABEL: name})
            startup.update(pod_timeline(pods, applied_wall))
            print(f"  apply -> Ready {startup}", flush=True)
            jvms, settings = pod_jvms(pods), settings_differences(kube, self.spec)
            self.client.create_topic(
                TOPIC, partitions=PARTITIONS, replicas=REPLICAS, min_isr=MIN_ISR
            )
            wait_for(
                f"{TOPIC} fully in sync", lambda: topic_in_sync(self.client), timeout=ISR_TIMEOUT
            )
            meter = CpuAccount(kube)
            result = produce_in_pod(kube, self.client.bootstrap, **self.load())
            result.update(meter.cores())
            self.print_throughput(result)
            others = other_operators(kube, own_namespace=OPERATOR_NAMESPACE, watched=NAMESPACE)
            if others:
                raise RuntimeError(f"another kopfka operator appeared during the round: {others}")
        finally:
            with signals_ignored():
                print(f"  removed in {delete_cluster(kube, name):.0f} s", flush=True)
        return {**quiet, "startup": startup, "produce": result, "jvm": jvms, "settings": settings}

    def bare(self, round_number: int) -> dict[str, Any]:
        base = self.work / f"{round_number}-bare"
        cluster = BenchKafka(
            spec=self.spec,
            cluster_id=new_cluster_id(),
            base=base,
            version=self.spec.version,
            racks=("zone-a",),  # the e2e node's one zone: every pod's broker.rack
        )
        quiet = self.quiet()
        print(f"round {round_number} bare: starting {quiet}", flush=True)
        meter = CpuAccount(self.kube)
        with running(cluster) as startup:
            startup.update(meter.cores(pids=cluster.jvm_pids()))
            print(f"  startup {startup}", flush=True)
            jvms = bare_jvms(cluster)
            bootstrap = cluster.bootstrap()
            create_topic(
                bootstrap, TOPIC, partitions=PARTITIONS, replicas=REPLICAS, min_isr=MIN_ISR
            )
            wait_for(f"{TOPIC} fully in sync", lambda: full_isr(bootstrap), timeout=ISR_TIMEOUT)
            meter = CpuAccount(self.kube, pids=cluster.jvm_pids())
            result = produce(
                self.libs, self.work / "producer-log4j2.properties", bootstrap, **self.load()
            )
            result.update(meter.cores(pids=cluster.jvm_pids()))
            self.print_throughput(result)
        shutil.rmtree(base)  # only on success: a failed run leaves the nodes' logs behind
        return {**quiet, "startup": startup, "produce": result, "jvm": jvms}

    def quiet(self) -> dict[str, Any]:
        a = self.args
        return wait_quiet(a.quiet_cores, a.quiet_timeout) if a.quiet_timeout > 0 else {}

    @staticmethod
    def print_throughput(result: dict[str, Any]) -> None:
        print(
            f"  {result['records_per_s']:.0f} records/s, {result['mb_per_s']:.2f} MB/s, "
            f"p50 {result['p50_ms']:.0f} ms; cores: busy {result['cpu_busy_cores']}, "
            f"kubernetes {result['kubernetes_cpu_cores']}, foreign {result['foreign_cpu_cores']}",
            flush=True,
        )


# -- the report ------------------------------------------------------------------------------------


def git_commit() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True
        ).stdout

    changed = git("status", "--porcelain").splitlines()
    return {"commit": git("rev-parse", "HEAD").strip(), "dirty": bool(changed), "changed": changed}


def python_command() -> str:
    """The interpreter as typed from the repository (.venv/bin/python), else its full path."""
    path = Path(sys.executable)
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def median(values: Sequence[float]) -> float:
    return round(float(statistics.median(values)), 2)


def notes(rounds: list[dict[str, Any]], facts: dict[str, Any]) -> list[str]:
    cores = os.cpu_count() or 1
    found = [
        "Same spec on both sides: the e2e suite's fitted production example (3 controllers + 3 "
        "brokers, memory limit 768Mi so heap -Xms384m -Xmx384m, RF 3, min ISR 2, one rack "
        "zone-a), rendered by the operator image for the pods and by this checkout for the bare "
        "processes; both start through the broker image's entrypoint. The settings and JVM "
        "flags of every round are compared below ('settings' and 'jvm' per round).",
        "apply -> Ready includes what only the pod side has: the operator's reconcile, the API "
        "objects, a local-path volume per node (a helper pod each), scheduling, container "
        "start, the kubelet's readiness probe (every 5 s; the bare side asks the same probe "
        "agent's /ready 4 times a second) and the operator noticing and writing status. The "
        "bare time runs from the first process spawned to every node's probe passing (entrypoint, "
        "storage format and Kafka's start, as in the pods).",
        "Throughput: the pod producer runs in a client pod (the broker image's Java and jars), "
        "bootstraps through the ClusterIP Service (kube-proxy iptables) and then talks to the "
        "brokers' pod addresses over the node's bridge and veths, names from CoreDNS; the bare "
        "one runs on the host (its Java and jars) over loopback addresses from /etc/hosts. Same "
        "ProducerPerformance arguments, heap and logging; the figures are its steady-state line.",
        "Pods have a 768Mi memory limit and a 100m CPU request (cgroup shares), no CPU limit; "
        "the client pod requests the same 100m, so that on a busy node the kernel weighs the "
        "producer like each Kafka pod (cgroup weights go by pod, while on the bare side every "
        "thread competes on its own); "
        "bare processes have no limits. Volumes: a local PV (host directory) per pod and the "
        "pod's /tmp emptyDir, against directories under /tmp; all on the same disk.",
        f"{cores} cores are shared by the 6 Kafka JVMs, the producer, the node's daemons and "
        "control plane (which idle along during the bare side too) and whatever else runs; "
        "Kubernetes' own CPU while the pods are measured is part of their cost "
        "(kubernetes_cpu_cores). Both sides wait for the machine to be quiet before starting "
        "(--quiet-cores, --quiet-timeout), rounds alternate the order, and every measurement "
        "records foreign_cpu_cores (others' work, incl. other_pods_cpu_cores): treat rounds "
        "with much of it as noisy.",
        "Other work does not slow both sides alike: all pods share one cgroup (kubepods, "
        "cpu.shares 1024 per core: the weight of 2 busy threads here) that competes as a whole "
        "with the host's processes, while each bare JVM thread competes on its own; so foreign "
        "load costs the pod side more, and only quiet rounds compare the two fairly.",
    ]
    if facts["pod_java"] != facts["host_java"]:
        found.append(f"Java differs: pods {facts['pod_java']!r}, host {facts['host_java']!r}.")
    if not all(facts["scripts_same_as_checkout"].values()):
        found.append(
            f"The broker image's scripts differ from this checkout's: "
            f"{facts['scripts_same_as_checkout']} (rebuild it: make broker-image)."
        )
    if facts["jars_only_in_image"] or facts["jars_only_on_host"]:
        found.append(
            f"Jars differ: only in the image {facts['jars_only_in_image']}, only on the host "
            f"{facts['jars_only_on_host']}."
        )
    same = [
        r["round"] for r in rounds if not r[PODS]["settings"] and r[PODS]["jvm"] == r[BARE]["jvm"]
    ]
    if same:
        found.append(
            f"Checked in rounds {same}: the ConfigMaps' files (server.properties, log4j2.yaml) and "
            "KAFKA_HEAP_OPTS are what this checkout renders for the bare side, and the running "
            "Kafka JVMs of both sides have the same -X/-XX flags (e.g. "
            f"{' '.join(rounds[0][PODS]['jvm'].get('broker', {}).get('options', [])[:2])})."
        )
    kube_cores = {
        side: median([r[side]["produce"]["kubernetes_cpu_cores"] for r in rounds])
        for side in (PODS, BARE)
    }
    busiest = rounds[0][PODS]["produce"]["kubernetes_cpu_cores_by_process"]
    found.append(
        f"While producing, Kubernetes' own processes used {kube_cores[PODS]} cores with the pods "
        f"against {kube_cores[BARE]} idle during the bare side (medians; round 1 by process: "
        f"{busiest}). The pods' probes are HTTP requests from the kubelet to the probe agent in "
        "each JVM (no process started in the containers). On 2 cores that is CPU the brokers "
        "and the producer do not get."
    )
    for r in rounds:
        if r[PODS]["settings"]:
            found.append(f"Round {r['round']}: settings differ: {r[PODS]['settings']}")
        if r[PODS]["jvm"] != r[BARE]["jvm"]:
            found.append(
                f"Round {r['round']}: JVM flags differ: pods {r[PODS]['jvm']}, "
                f"bare {r[BARE]['jvm']}"
            )
    measured = [
        m for r in rounds for side in (PODS, BARE) for m in (r[side]["startup"], r[side]["produce"])
    ]
    foreign = max(m["foreign_cpu_cores"] for m in measured)
    if foreign > 0.25:
        found.append(
            f"Other work used up to {foreign} of {cores} cores during a measurement "
            "(foreign_cpu_cores): those figures are noisy."
        )
    noisy = sum(1 for r in rounds for s in (PODS, BARE) if r[s].get("quiet_before_start") is False)
    if noisy:
        found.append(
            f"{noisy} of {2 * len(rounds)} starts began while other processes were still busy "
            "(quiet_before_start false after --quiet-timeout)."
        )
    if len(rounds) > 1:
        ready = [r["ready_ratio"] for r in rounds]
        throughput = [r["throughput_ratio"] for r in rounds]
        found.append(
            f"Per-round ratios range {min(ready)}-{max(ready)} (ready) and "
            f"{min(throughput)}-{max(throughput)} (throughput): differences smaller than that "
            "spread are not resolved."
        )
    return found


def report(
    rounds: list[dict[str, Any]], facts: dict[str, Any], manifest: Obj, args: argparse.Namespace
) -> dict[str, Any]:
    apply_to_ready = median([r[PODS]["startup"]["apply_to_ready_s"] for r in rounds])
    bare_start = median([r[BARE]["startup"]["all_ready_s"] for r in rounds])
    pod_rps = median([r[PODS]["produce"]["records_per_s"] for r in rounds])
    bare_rps = median([r[BARE]["produce"]["records_per_s"] for r in rounds])
    ready_ratio = round(apply_to_ready / bare_start, 3)
    throughput_ratio = round(pod_rps / bare_rps, 3)
    return {
        "benchmark": "e2e-pods-vs-bare",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": shlex.join([python_command(), "-m", "bench.e2e", *sys.argv[1:]]),
        "git_commit": git_commit(),
        "machine": machine(),
        "kafka_version": manifest["spec"]["kafka"]["version"],
        "apply_to_ready_s": apply_to_ready,
        "bare_start_s": bare_start,
        "ready_ratio": ready_ratio,
        "pod_records_per_s": pod_rps,
        "bare_records_per_s": bare_rps,
        "throughput_ratio": throughput_ratio,
        "goal": {"ready_ratio": f"<= {READY_GOAL}", "throughput_ratio": f">= {THROUGHPUT_GOAL}"},
        "meets_goal": {
            "ready_ratio": ready_ratio <= READY_GOAL,
            "throughput_ratio": throughput_ratio >= THROUGHPUT_GOAL,
        },
        "median_paired_ratios": {
            "ready_ratio": median([r["ready_ratio"] for r in rounds]),
            "throughput_ratio": median([r["throughput_ratio"] for r in rounds]),
        },
        "measured": {
            "apply_to_ready_s": "kubectl apply until a watch sees the KafkaCluster Ready=True "
            "with observedGeneration current",
            "bare_start_s": "BenchKafka.start_timed all_ready_s: first node process spawned "
            "until every node's readiness probe passes",
            "records_per_s": "ProducerPerformance steady state (after --warmup-records), medians "
            "over rounds; ratios are ratios of the medians, paired ones per round",
        },
        "options": {key: str(value) for key, value in vars(args).items()},
        "rounds": rounds,
        "config": {
            "spec": manifest["spec"],
            "source": "manifests/examples/kafkacluster-production.yaml through "
            "e2e.suite.test_cluster_lifecycle.fit_to_node",
            "operator": {"release": RELEASE, "namespace": OPERATOR_NAMESPACE, "watches": NAMESPACE},
            "cluster_namespace": NAMESPACE,
            "topic": {
                "partitions": PARTITIONS,
                "replication_factor": REPLICAS,
                "min.insync.replicas": MIN_ISR,
            },
            "load": {
                "tool": "org.apache.kafka.tools.ProducerPerformance",
                "records": args.records,
                "warmup_records": args.warmup_records,
                "record_size_bytes": args.record_size,
                "throughput": -1,
                "producer_props": dict(prop.split("=", 1) for prop in PRODUCER_PROPS),
                "producer_jvm": PRODUCER_HEAP,
            },
            "images": facts,
        },
        "notes": notes(rounds, facts),
    }


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each with both sides")
    parser.add_argument("--records", type=int, default=60_000, help="measured records per run")
    parser.add_argument("--warmup-records", type=int, default=30_000, help="before those, same run")
    parser.add_argument("--record-size", type=int, default=1024)
    parser.add_argument(
        "--quiet-timeout",
        type=float,
        default=300,
        help="before each start, wait up to this long for other processes to go quiet (0: no); "
        "longer than bench-kafka's, since other work slows the pods more than bare processes",
    )
    parser.add_argument(
        "--quiet-cores", type=float, default=0.5, help="'quiet': others use fewer cores than this"
    )
    parser.add_argument(
        "--others-timeout",
        type=float,
        default=600,
        help="wait up to this long for other kopfka operators watching every namespace to go",
    )
    parser.add_argument("--output", type=Path, default=REPO / "bench/results/e2e.json")
    return parser.parse_args()


def run_rounds(bench: Bench, rounds: int) -> list[dict[str, Any]]:
    """Both sides per round, in alternating order; each round with its own ratios."""
    done: list[dict[str, Any]] = []
    for number in range(1, rounds + 1):
        order = (PODS, BARE) if number % 2 else (BARE, PODS)
        r: dict[str, Any] = {"round": number, "order": list(order)}
        for side in order:
            r[side] = bench.pods(number) if side == PODS else bench.bare(number)
        pods, bare = r[PODS], r[BARE]
        r["ready_ratio"] = round(
            pods["startup"]["apply_to_ready_s"] / bare["startup"]["all_ready_s"], 3
        )
        r["throughput_ratio"] = round(
            pods["produce"]["records_per_s"] / bare["produce"]["records_per_s"], 3
        )
        done.append(r)
    return done


def main() -> int:
    args = arguments()
    if os.geteuid() != 0:
        raise SystemExit("bench.e2e needs root (the bare side: mount namespaces, /etc/hosts)")
    signal.signal(signal.SIGTERM, _terminate)
    began = time.monotonic()
    kube = node_kube()
    manifest = fit_to_node(yaml.safe_load(EXAMPLE.read_text()))
    name = manifest["metadata"]["name"]
    spec = parse_cluster(name, NAMESPACE, manifest["spec"])
    libs = _build("hack/kafka-libs.sh", spec.version)
    work = Path(tempfile.mkdtemp(prefix="kopfka-bench-e2e-"))
    (work / "producer-log4j2.properties").write_text(PRODUCER_LOG4J)
    bootstrap = names.bootstrap_address(name, NAMESPACE, spec.listeners[0].port)
    client = KafkaClient(kube, NAMESPACE, bootstrap=bootstrap)
    try:
        with contextlib.ExitStack() as stack:
            teardown(kube)  # what an interrupted run left
            stack.callback(_with_signals_ignored, teardown, kube)
            install(kube)
            # The client pod weighs like a Kafka pod: with the e2e suite's smaller request the
            # kernel would give the producer half a broker pod's CPU share on a busy node.
            broker_cpu = manifest["spec"]["brokers"]["resources"]["requests"]["cpu"]
            client.start(f"kopfka/kafka:{spec.version}", cpu=broker_cpu)
            client.exec("sh", "-c", f'printf "%s" "$1" > {POD_LOG4J}', "sh", PRODUCER_LOG4J)
            facts = image_facts(client, libs)
            rounds = run_rounds(Bench(kube, client, manifest, spec, libs, work, args), args.rounds)
    except BaseException:
        print(f"failed; the bare nodes' logs (if any) are under {work}", file=sys.stderr)
        raise
    finally:
        kube.close()
    shutil.rmtree(work)

    result = report(rounds, facts, manifest, args)
    result["total_runtime_s"] = round(time.monotonic() - began, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"apply -> Ready {result['apply_to_ready_s']} s vs bare start {result['bare_start_s']} s "
        f"(ratio {result['ready_ratio']}, goal <= {READY_GOAL}); producer "
        f"{result['pod_records_per_s']:.0f} vs {result['bare_records_per_s']:.0f} records/s "
        f"(ratio {result['throughput_ratio']}, goal >= {THROUGHPUT_GOAL}); "
        f"total {result['total_runtime_s']} s -> {args.output}"
    )
    return 0


def _with_signals_ignored(cleanup: Any, *args: Any) -> None:
    with signals_ignored():
        cleanup(*args)


if __name__ == "__main__":
    sys.exit(main())
