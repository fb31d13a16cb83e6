"""Benchmark: many KafkaClusters applied at once against the real control plane of the
integration tier (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok).

Measures, per cluster, the time from `kubectl apply` (and from the cluster's own creation) to all
children created and to status Ready=True (p50, p99, max); the operator's RSS (peak, and the
median over the steady window), from /proc, and its CPU seconds; the API requests it sends per
reconcile, while the clusters are made and in the steady window (counted on the wire by the
recording proxy of the integration tier, tests/support/apiproxy.py, against the reconciles its own
metrics count); and every write it sends during a steady window (goal: none). The operator runs
with its production intervals, so the periodic drift run reconciles every cluster every 60s
during the window. The clusters are production-shaped (resources, rack awareness, a pod template,
config). Last, with the operator stopped, kubectl applies the same KafkaClusters again (how long
kubectl alone takes to make them), and the same children are applied straight to the API server
(bench/apply_floor.py): the floor that "apply → all children created" is compared with. Every
process it starts is stopped; every wait has a deadline.

    python -m bench.integration [--clusters 50] [--shape 3+3] [--steady 300] [--output FILE]
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from bench import apply_floor
from kopfka.handlers.settings import HANDLER_WORKERS
from tests.integration.controlplane import ControlPlane
from tests.support.apiproxy import ApiProxy, Request
from tests.support.kube import Obj, TestKube, condition, condition_true
from tests.support.manifests import kafka_cluster
from tests.support.operator import KOPFKA, OperatorProcess, free_port
from tests.support.waiting import wait_for

REPO_ROOT = Path(__file__).resolve().parents[1]
NAMESPACES = 5
CHILD_KINDS = (
    ("v1", "ServiceAccount"),
    ("v1", "ConfigMap"),
    ("v1", "Service"),
    ("apps/v1", "StatefulSet"),
    ("policy/v1", "PodDisruptionBudget"),
)
READY_TIMEOUT = 900.0
# A kwok node takes 250 pods (hack/cluster.sh); the rest is headroom.
PODS_PER_NODE = 200
# Issue 8's goals for apply -> all children created, p99, by the number of clusters.
GOAL_P99 = {50: 2.0, 200: 5.0}
SETTLE_QUIET = 20.0
SETTLE_TIMEOUT = 300.0


def _spec(shape: str) -> dict[str, Any]:
    """Shaped like manifests/examples/kafkacluster-production.yaml, sized for kwok's nodes."""
    controllers, brokers = (int(part) for part in shape.split("+"))
    storage = {"type": "persistent-claim", "size": "1Gi"}
    resources = {"requests": {"cpu": "100m", "memory": "1Gi"}, "limits": {"memory": "1Gi"}}
    return {
        "mode": "dedicated",
        "kafka": {"config": {"min.insync.replicas": 2, "log.retention.hours": 168}},
        "controllers": {"replicas": controllers, "storage": dict(storage), "resources": resources},
        "brokers": {"replicas": brokers, "storage": dict(storage), "resources": resources},
        "rack": {"topologyKey": "topology.kubernetes.io/zone"},
        "template": {
            "pod": {
                "metadata": {
                    "labels": {"team": "payments"},
                    "annotations": {"example.com/owner": "payments"},
                },
                "tolerations": [
                    {
                        "key": "dedicated",
                        "operator": "Equal",
                        "value": "kafka",
                        "effect": "NoSchedule",
                    }
                ],
            }
        },
    }


def _timestamp(value: str) -> float:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(_percentile(values, 0.50), 2),
        "p99": round(_percentile(values, 0.99), 2),
        "max": round(max(values), 2),
        "min": round(min(values), 2),
    }


class RssSampler:
    """Samples the operator's RSS once a second from /proc/PID/status."""

    def __init__(self, operator: OperatorProcess) -> None:
        self.operator = operator
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                rss, _ = self.operator.memory_kib()
            except (RuntimeError, FileNotFoundError, ProcessLookupError):
                pass
            else:
                self.samples.append((time.time(), rss))
            self._stop.wait(1.0)

    def between(self, start: float, end: float) -> list[int]:
        return [rss for when, rss in self.samples if start <= when <= end]


def run(args: argparse.Namespace) -> dict[str, Any]:
    spec = _spec(args.shape)
    names = [(f"bench-{index % NAMESPACES}", f"kc-{index:02d}") for index in range(args.clusters)]
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="kopfka-bench-integration-"))
    workdir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "benchmark": "integration",
        "command": " ".join(["python -m bench.integration", *sys.argv[1:]]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gib": round(
                os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1
            ),
            "python": platform.python_version(),
            # Other work on the machine skews the timings; the load says how busy it was.
            "load_average_1m_at_start": round(os.getloadavg()[0], 1),
        },
        "note": args.note,
        "clusters": args.clusters,
        "shape": f"{args.shape} (controllers+brokers), persistent-claim 1Gi each",
        "namespaces": NAMESPACES,
        "operator_timers": {"drift_interval_s": 60, "topic_recheck_s": 30},
    }
    nodes = args.nodes or _nodes_for(args.clusters, args.shape)
    result["kwok_nodes"] = nodes
    with ControlPlane(nodes=nodes) as control_plane:
        kube = TestKube(
            kubeconfig=control_plane.kubeconfig, kubectl=control_plane.bin_dir / "kubectl"
        )
        result["kubernetes"] = json.loads(kube.kubectl("version", "-o", "json"))["serverVersion"][
            "gitVersion"
        ]
        crds = [d for d in yaml.safe_load_all(_kopfka_crds()) if d]
        kube.apply(*crds)
        for crd in crds:
            # Not `kubectl wait`: it fails instead of waiting while the CRD has no conditions yet.
            wait_for(
                lambda name=crd["metadata"]["name"]: condition_true(
                    kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name),
                    "Established",
                ),
                timeout=60,
                what=f"CRD {crd['metadata']['name']} to be established",
            )
        for namespace in sorted({ns for ns, _ in names}):
            kube.kubectl("create", "namespace", namespace)

        proxy = ApiProxy(
            upstream_kubeconfig=control_plane.kubeconfig,
            workdir=workdir,
            env=control_plane.environ(),
        )
        proxy.start()
        env = control_plane.environ()
        env.update(KUBECONFIG=str(proxy.kubeconfig), PYTHONUNBUFFERED="1")
        env.pop("KOPFKA_DRIFT_INTERVAL", None)
        env.pop("KOPFKA_TOPIC_RECHECK_INTERVAL", None)
        log = workdir / "operator.log"
        log.unlink(missing_ok=True)
        port = free_port()
        metrics = f"http://127.0.0.1:{port}/metrics"
        operator = OperatorProcess(
            env=env,
            log_path=log,
            args=["--metrics-port", str(port)],
            program=as_in_the_image(workdir),
        )
        sampler = RssSampler(operator)
        try:
            operator.start()
            sampler.start()
            idle_rss, _ = operator.memory_kib()
            result["operator_rss_mib"] = {"idle_before_apply": round(idle_rss / 1024, 1)}
            cpu_before = operator_cpu_seconds(operator)
            result.update(_apply_and_measure(kube, proxy, names, spec, metrics=metrics))
            result["operator_cpu_seconds_until_all_ready"] = round(
                operator_cpu_seconds(operator) - cpu_before, 1
            )
            result.update(
                _steady_state(
                    kube,
                    proxy,
                    seconds=args.steady,
                    sampler=sampler,
                    operator=operator,
                    metrics=metrics,
                )
            )
        finally:
            sampler.stop()
            operator.stop()
        try:
            result.update(_floor(kube, proxy, len(names), spec))
        finally:
            proxy.stop()
            kube.close()
    result.update(_against_floor(result, args.clusters))
    result["machine"]["load_average_1m_at_end"] = round(os.getloadavg()[0], 1)
    result["operator_log"] = str(log)
    return result


def _against_floor(result: dict[str, Any], clusters: int) -> dict[str, Any]:
    goal = {"goal": {"apply_to_all_children_created_p99_s": GOAL_P99.get(clusters)}}
    if "error" in result["floor"]:
        return goal
    operator_p99 = result["apply_to_all_children_created_s"]["p99"]
    floor_p99 = result["floor"]["all_children_created_s"]["p99"]
    return {"children_p99_over_floor_p99": round(operator_p99 / floor_p99, 2), **goal}


# kopf imports these Kubernetes clients when it finds them (to log in the way they would); the
# operator image has neither, but this venv has both as dev dependencies: some 18 MiB of RSS.
NOT_IN_THE_IMAGE = ("kubernetes", "pykube")


def as_in_the_image(workdir: Path) -> list[str]:
    """`kopfka` as the operator image runs it: without the modules of NOT_IN_THE_IMAGE."""
    launcher = workdir / "kopfka-as-in-the-image.py"
    launcher.write_text(
        "import sys\n"
        f"sys.modules.update(dict.fromkeys({NOT_IN_THE_IMAGE!r}))\n"
        "from kopfka.cli import main\n"
        "sys.exit(main())\n"
    )
    return [sys.executable, str(launcher)]


def _nodes_for(clusters: int, shape: str) -> int:
    pods = clusters * sum(int(part) for part in shape.split("+"))
    return max(3, math.ceil(pods / PODS_PER_NODE))


def _kopfka_crds() -> str:
    return subprocess.run(
        [str(KOPFKA), "crds"], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def operator_cpu_seconds(operator: OperatorProcess) -> float:
    """User and system CPU seconds of the operator process so far, from /proc/PID/stat."""
    fields = Path(f"/proc/{operator.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reconciles(metrics: str) -> Counter[str]:
    """KafkaCluster reconciles and status refreshes so far, by what started them, as the
    operator's own metrics count them."""
    with urllib.request.urlopen(metrics, timeout=10) as response:
        text = response.read().decode()
    counts: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "kopfka_reconciles_total" and labels.get("kind") == "KafkaCluster":
                counts[labels["trigger"]] += int(sample.value)
    return counts


def calls(proxy: ApiProxy, *, since: float, until: float) -> list[Request]:
    """The operator's API requests in [since, until], watches left out (one stream each, for
    minutes; the lists that start them are counted)."""
    return [
        request
        for request in proxy.requests(since=since)
        if request.time <= until and "watch=" not in request.path
    ]


def per_reconcile(requests: list[Request], runs: Counter[str]) -> dict[str, Any]:
    """Requests per reconcile: in all, reads and writes, and by verb and resource."""
    count = sum(runs.values())
    if not count:
        return {"reconciles": 0}
    by_kind = Counter(_call_kind(r.method, r.path) for r in requests)
    writes = sum(r.is_write for r in requests)
    return {
        "reconciles": count,
        "reconciles_by_trigger": dict(runs),
        "requests": round(len(requests) / count, 2),
        "reads": round((len(requests) - writes) / count, 2),
        "writes": round(writes / count, 2),
        "by_kind": {
            kind: round(n / count, 2) for kind, n in sorted(by_kind.items(), key=lambda kv: -kv[1])
        },
    }


def _floor(kube: TestKube, proxy: ApiProxy, clusters: int, spec: dict[str, Any]) -> dict[str, Any]:
    """The same children applied straight to the API server, the operator stopped; and the
    same KafkaClusters applied by kubectl with no operator at work (into the same namespaces:
    nothing reconciles them, and their children's names are free)."""
    names = [(f"floor-{index % NAMESPACES}", f"kc-{index:02d}") for index in range(clusters)]
    for namespace in sorted({ns for ns, _ in names}):
        kube.kubectl("create", "namespace", namespace)
    started = time.time()
    kube.apply(*[kafka_cluster(name, namespace, spec) for namespace, name in names])
    alone = {"kubectl_apply_seconds_operator_stopped": round(time.time() - started, 2)}
    try:
        seconds = apply_floor.apply_all(proxy.kubeconfig, names, spec, threads=HANDLER_WORKERS)
    except Exception as error:  # the operator's figures still count; say why there is no floor
        return {**alone, "floor": {"error": f"{type(error).__name__}: {str(error)[:500]}"}}
    return {
        **alone,
        "floor": {
            "what": (
                "the same children applied by server-side apply, one cluster per task on "
                f"{HANDLER_WORKERS} threads (the operator's handler threads), straight to the API "
                "server through the same proxy, the operator stopped; seconds from the first "
                "write until each cluster's last child was written"
            ),
            "all_children_created_s": _summary(seconds),
        },
    }


def _apply_and_measure(
    kube: TestKube,
    proxy: ApiProxy,
    names: list[tuple[str, str]],
    spec: dict[str, Any],
    *,
    metrics: str,
) -> dict[str, Any]:
    manifests = [kafka_cluster(name, namespace, spec) for namespace, name in names]
    runs_before = reconciles(metrics)
    applied_at = time.time()
    kube.apply(*manifests)
    apply_seconds = time.time() - applied_at

    def all_ready() -> list[Obj] | None:
        found = kube.list("kopfka.dev/v1alpha1", "KafkaCluster")
        ready = [c for c in found if (condition(c, "Ready") or {}).get("status") == "True"]
        return found if len(ready) == len(names) else None

    def progress() -> str:
        found = kube.list("kopfka.dev/v1alpha1", "KafkaCluster")
        ready = sum((condition(c, "Ready") or {}).get("status") == "True" for c in found)
        return f"{ready}/{len(names)} Ready"

    clusters = wait_for(
        all_ready,
        timeout=READY_TIMEOUT,
        what="every KafkaCluster to be Ready",
        describe=progress,
        interval=1.0,
    )
    all_ready_seconds = time.time() - applied_at
    runs = reconciles(metrics) - runs_before
    requests = calls(proxy, since=applied_at, until=applied_at + all_ready_seconds)

    children: dict[tuple[str, str], list[float]] = {}
    for api_version, kind in CHILD_KINDS:
        for obj in kube.list(api_version, kind, labels={"app.kubernetes.io/managed-by": "kopfka"}):
            key = (obj["metadata"]["namespace"], obj["metadata"]["labels"]["kopfka.dev/cluster"])
            children.setdefault(key, []).append(_timestamp(obj["metadata"]["creationTimestamp"]))
    pods_ready: dict[tuple[str, str], list[float]] = {}
    for pod in kube.list("v1", "Pod", labels={"app.kubernetes.io/managed-by": "kopfka"}):
        key = (pod["metadata"]["namespace"], pod["metadata"]["labels"]["kopfka.dev/cluster"])
        ready_pod = next(c for c in pod["status"].get("conditions") or [] if c["type"] == "Ready")
        pods_ready.setdefault(key, []).append(_timestamp(ready_pod["lastTransitionTime"]))
    # ServiceAccount, ConfigMaps, Services, StatefulSets, PodDisruptionBudgets, as rendered.
    expected = len(apply_floor.children("expected", "expected", spec))
    to_children: list[float] = []
    created_to_children: list[float] = []
    to_pods_ready: list[float] = []
    to_ready: list[float] = []
    status_lag: list[float] = []
    for cluster in clusters:
        key = (cluster["metadata"]["namespace"], cluster["metadata"]["name"])
        made = children.get(key, [])
        if len(made) != expected:
            raise AssertionError(f"{key}: {len(made)} children, not {expected}")
        to_children.append(max(made) - applied_at)
        created_to_children.append(max(made) - _timestamp(cluster["metadata"]["creationTimestamp"]))
        ready = condition(cluster, "Ready")
        assert ready is not None
        to_ready.append(_timestamp(ready["lastTransitionTime"]) - applied_at)
        to_pods_ready.append(max(pods_ready[key]) - applied_at)
        status_lag.append(to_ready[-1] - to_pods_ready[-1])
    writes = proxy.writes(since=applied_at)
    return {
        "kubectl_apply_seconds": round(apply_seconds, 2),
        "apply_to_all_children_created_s": _summary(to_children),
        # From each KafkaCluster's own creation: without the time kubectl took to make the ones
        # before it (`kubectl_apply_seconds`, which grows when the operator keeps the API server
        # busy meanwhile). Both timestamps are whole seconds.
        "cluster_created_to_all_children_created_s": _summary(created_to_children),
        "apply_to_all_pods_ready_s": _summary(to_pods_ready),
        "apply_to_ready_s": _summary(to_ready),
        "status_ready_after_last_pod_ready_s": _summary(status_lag),
        "apply_to_last_ready_observed_s": round(all_ready_seconds, 1),
        "timestamp_resolution_s": 1,
        "writes_until_all_ready": len(writes),
        "writes_until_all_ready_by_kind": dict(
            Counter(_call_kind(w.method, w.path) for w in writes)
        ),
        "requests_per_reconcile_until_all_ready": per_reconcile(requests, runs),
    }


def _call_kind(method: str, path: str) -> str:
    parts = path.split("?", maxsplit=1)[0].strip("/").split("/")
    resource = parts[-1]
    if "namespaces" in parts:
        index = parts.index("namespaces")
        tail = parts[index + 2 :]
        resource = "/".join([tail[0], *tail[2:]]) if len(tail) > 1 else tail[0]
    return f"{method} {resource}"


def _steady_state(
    kube: TestKube,
    proxy: ApiProxy,
    *,
    seconds: float,
    sampler: RssSampler,
    operator: OperatorProcess,
    metrics: str,
) -> dict[str, Any]:
    # Settled: the operator has sent no write for SETTLE_QUIET seconds (pod events of the last
    # clusters may still be arriving when the last one turns Ready).
    def quiet() -> bool:
        last = proxy.writes(since=time.time() - SETTLE_QUIET)
        return not last

    settle_start = time.time()
    wait_for(quiet, timeout=SETTLE_TIMEOUT, what="the operator to stop writing", interval=1.0)
    settled_after = time.time() - settle_start

    start = time.time()
    runs_before = reconciles(metrics)
    cpu_before = operator_cpu_seconds(operator)
    versions_before = _versions(kube)
    end = start + seconds
    # The steady window is the measurement itself: its length is the benchmark's parameter.
    while time.time() < end:
        time.sleep(min(5.0, end - time.time()))
        if operator.process is None or operator.process.poll() is not None:
            raise RuntimeError("the operator exited during the steady window")
    runs = reconciles(metrics) - runs_before
    cpu = operator_cpu_seconds(operator) - cpu_before
    writes = proxy.writes(since=start)
    requests = calls(proxy, since=start, until=end)
    versions_after = _versions(kube)
    changed = sorted(key for key, rv in versions_after.items() if versions_before.get(key) != rv)
    rss = sampler.between(start, end)
    _, peak = operator.memory_kib()
    return {
        "settle_seconds": round(settled_after, 1),
        "steady_window_s": seconds,
        "steady_writes": len(writes),
        "steady_writes_detail": [str(w) for w in writes[:50]],
        "steady_objects_changed": len(changed),
        "steady_objects_changed_detail": changed[:50],
        "steady_objects_compared": len(versions_before),
        "steady_drift_reconciles": runs["drift"],
        "steady_requests_per_reconcile": per_reconcile(requests, runs),
        "steady_operator_cpu_seconds": round(cpu, 1),
        "operator_rss_mib_steady_median": round(statistics.median(rss) / 1024, 1),
        "operator_rss_mib_peak": round(peak / 1024, 1),
        "clusters_ready_at_end": sum(
            (condition(c, "Ready") or {}).get("status") == "True"
            for c in kube.list("kopfka.dev/v1alpha1", "KafkaCluster")
        ),
    }


def _versions(kube: TestKube) -> dict[str, str]:
    versions = {}
    for api_version, kind in (*CHILD_KINDS, ("kopfka.dev/v1alpha1", "KafkaCluster")):
        for obj in kube.list(api_version, kind):
            metadata = obj["metadata"]
            if metadata["namespace"].startswith("bench-"):
                key = f"{kind} {metadata['namespace']}/{metadata['name']}"
                versions[key] = metadata["resourceVersion"]
    return versions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clusters", type=int, default=50)
    parser.add_argument("--shape", default="3+3", help="controllers+brokers per cluster")
    parser.add_argument(
        "--nodes",
        type=int,
        help="kwok nodes (default: enough for PODS_PER_NODE pods each, 3 or more)",
    )
    parser.add_argument("--steady", type=float, default=300.0, help="steady window, seconds")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "bench/results/integration.json")
    parser.add_argument("--note", default="", help="recorded in the results, e.g. local changes")
    parser.add_argument(
        "--workdir", help="operator log and proxy records (default: a new temporary directory)"
    )
    args = parser.parse_args(argv)
    started = time.time()
    result = run(args)
    result["total_seconds"] = round(time.time() - started, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
