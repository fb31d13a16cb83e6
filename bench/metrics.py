"""Benchmark: what does the Prometheus JMX exporter cost a Kafka broker? (issue 14)

Every Kafka pod runs the exporter as a Java agent in the Kafka JVM when `spec.metrics.enabled`
(the default). This runs two clusters of the same spec, one with metrics on and one with them off
(1 controller + 3 brokers, 384 MiB heaps as in the Kafka tier), started as the Kafka tier starts
them (bench/kafka_throughput.BenchKafka: the broker image's entrypoint, the rendered ConfigMaps,
the exporter and its rules passed exactly as a pod gets them). Each gets the same topic (6
partitions, RF 3, min.insync.replicas 2) and the same ProducerPerformance run as
bench/kafka_throughput.py (1 KiB records, unthrottled, acks=all, warm-up records first). While the
producer runs, every node's `/metrics` is fetched every --scrape-interval seconds, as Prometheus
would (the chart's monitors scrape controllers too; the default 5 s is six times as often as the
Prometheus Operator's default 30 s); each scrape is timed and its size kept. Rounds alternate
with-without, without-with, ... so that drift on the shared machine does not favour one side.

After the workload, per broker: resident memory (/proc/PID/status), then, through jcmd, the live
heap after a full GC (GC.class_histogram, which also gives the bytes held by the exporter's own
classes, io.prometheus.*), metaspace and loaded classes. Reports the ratio of median records/s
(goal: with >= 0.98 x without), the median per-broker memory differences (with - without, broker
N against broker N of the same round), and the scrapes' count, duration and size.

    python -m bench.metrics [--rounds 3] [--records 60000] [--warmup-records 30000]
                            [--scrape-interval 5] [--quiet-timeout 60] [--output FILE]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from bench.e2e import git_commit, python_command
from bench.kafka_throughput import (
    CLUSTER_NAME,
    MIN_ISR,
    NAMESPACE,
    PARTITIONS,
    PRODUCER_HEAP,
    PRODUCER_LOG4J,
    PRODUCER_PROPS,
    REPLICAS,
    TOPIC,
    BenchKafka,
    CpuMeter,
    _terminate,
    add_workload_arguments,
    full_isr,
    machine,
    noise_notes,
    produce,
    running,
    summarize,
    wait_quiet,
)
from kopfka.model.cluster import parse_cluster
from kopfka.reconcile import new_cluster_id
from tests.kafka.clients import create_topic
from tests.kafka.conftest import KAFKA_VERSION, SMALL_POOL
from tests.kafka.localkafka import Node, _build, wait_for

REPO = Path(__file__).resolve().parents[1]
WITH, WITHOUT = "with_metrics", "without_metrics"
GOAL = 0.98
MIB = 1024 * 1024
SCRAPE_TIMEOUT = 10.0  # Prometheus' default scrape_timeout, capped by the interval as there
JCMD_TIMEOUT = 60.0
EXPORTER_PACKAGE = "io.prometheus."
# /proc/PID/status lines kept, in kB there.
STATUS_KB = ("VmRSS", "RssAnon", "RssFile")
# GC.class_histogram: rows "   1:   13034   794104  [B (java.base@17.0.15)", then
# "Total   58950   2816496".
HISTOGRAM_ROW = re.compile(r"^\s*\d+:\s+(?P<instances>\d+)\s+(?P<bytes>\d+)\s+(?P<name>\S+)", re.M)
HISTOGRAM_TOTAL = re.compile(r"^Total\s+\d+\s+(?P<bytes>\d+)", re.M)
HEAP_USED = re.compile(r"heap\s+total \d+K, used (?P<kib>\d+)K")
METASPACE_USED = re.compile(r"Metaspace\s+used (?P<kib>\d+)K")
# What is compared per broker, with - without; all but threads and classes in MiB.
MEMORY_KEYS = (
    "rss_mib",
    "rss_anon_mib",
    "live_heap_mib",
    "exporter_objects_mib",
    "metaspace_mib",
    "loaded_classes",
    "threads",
)


def cluster_spec(*, metrics: bool) -> dict[str, Any]:
    """The KafkaCluster spec of both sides; only spec.metrics.enabled differs."""
    return {
        "controllers": {"replicas": 1, **SMALL_POOL},
        "brokers": {"replicas": 3, **SMALL_POOL},
        "metrics": {"enabled": metrics},
    }


# -- scraping ----------------------------------------------------------------------------------


def count_series(body: bytes) -> int:
    """Samples in a text exposition: the lines that are neither comments nor blank."""
    return sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))


def scrape_once(node: Node, *, timeout: float) -> dict[str, Any]:
    """One GET of the node's /metrics, timed to the last byte of the body."""
    began = time.monotonic()
    try:
        with urllib.request.urlopen(node.metrics_url, timeout=timeout) as response:
            body = response.read()
    except OSError as error:  # a timeout too
        return {"pod": node.pod, "ok": False, "error": str(error)}
    return {
        "pod": node.pod,
        "ok": True,
        "seconds": time.monotonic() - began,
        "bytes": len(body),
        "series": count_series(body),
    }


@dataclass
class Scraper:
    """Prometheus' part, for as long as the `with` block runs: every node scraped every
    `interval` seconds on its own schedule (a thread per node, the first scrape at the start),
    with a timeout of at most the interval. As in Prometheus, a scrape that overruns its slot
    makes the node skip the slots it missed rather than be scraped back to back."""

    nodes: list[Node]
    interval: float
    scrapes: list[dict[str, Any]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    @property
    def timeout(self) -> float:
        return min(self.interval, SCRAPE_TIMEOUT)

    def __enter__(self) -> Scraper:
        self._threads = [
            threading.Thread(target=self._loop, args=(node,), daemon=True) for node in self.nodes
        ]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)

    def _loop(self, node: Node) -> None:
        due = time.monotonic()
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            self.scrapes.append(scrape_once(node, timeout=self.timeout))  # list.append is atomic
            now = time.monotonic()
            while due <= now:
                due += self.interval


def scrape_summary(scrapes: list[dict[str, Any]], nodes: Iterable[Node]) -> dict[str, Any]:
    """Count, failures, and per role the median and largest duration and size of the scrapes."""
    roles = {node.pod: "broker" if node.pool.role.is_broker else "controller" for node in nodes}
    summary: dict[str, Any] = {
        "scrapes": len(scrapes),
        "failed": sum(1 for scrape in scrapes if not scrape["ok"]),
        "errors": sorted({scrape["error"] for scrape in scrapes if not scrape["ok"]}),
    }
    for role in sorted(set(roles.values())):
        done = [s for s in scrapes if s["ok"] and roles[s["pod"]] == role]
        if not done:
            continue
        seconds = [s["seconds"] for s in done]
        summary[role] = {
            "scrapes": len(done),
            "median_seconds": round(statistics.median(seconds), 3),
            "max_seconds": round(max(seconds), 3),
            "median_bytes": int(statistics.median(s["bytes"] for s in done)),
            "median_series": int(statistics.median(s["series"] for s in done)),
        }
    return summary


def scraping_overall(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The scrape_summary of every run in one: totals, and per role the median of the runs'
    medians and the largest duration seen."""
    overall: dict[str, Any] = {
        "scrapes": sum(run["scrapes"] for run in runs),
        "failed": sum(run["failed"] for run in runs),
    }
    for role in ("broker", "controller"):
        per_run = [run[role] for run in runs if role in run]
        if not per_run:
            continue
        overall[role] = {
            "median_seconds": round(statistics.median(r["median_seconds"] for r in per_run), 3),
            "max_seconds": max(r["max_seconds"] for r in per_run),
            "median_bytes": int(statistics.median(r["median_bytes"] for r in per_run)),
            "median_series": int(statistics.median(r["median_series"] for r in per_run)),
        }
    return overall


# -- memory ------------------------------------------------------------------------------------


def parse_status(text: str) -> dict[str, int]:
    """The kB figures of STATUS_KB and the thread count from /proc/PID/status."""
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    values = {key: int(fields[key].split()[0]) for key in STATUS_KB}
    values["Threads"] = int(fields["Threads"])
    return values


def parse_histogram(text: str) -> dict[str, int]:
    """From GC.class_histogram: live bytes in all, those of the exporter's classes, and the
    number of java.lang.Class instances (the classes loaded)."""
    rows = [m.groupdict() for m in HISTOGRAM_ROW.finditer(text)]
    total = HISTOGRAM_TOTAL.search(text)
    if total is None or not rows:
        raise ValueError(f"not a class histogram: {text[:200]!r}")
    return {
        "live_bytes": int(total["bytes"]),
        "exporter_bytes": sum(
            int(row["bytes"]) for row in rows if row["name"].startswith(EXPORTER_PACKAGE)
        ),
        "classes": sum(int(row["instances"]) for row in rows if row["name"] == "java.lang.Class"),
    }


def parse_heap_info(text: str) -> dict[str, int]:
    """From GC.heap_info: heap and metaspace used, in KiB."""
    heap, metaspace = HEAP_USED.search(text), METASPACE_USED.search(text)
    if heap is None or metaspace is None:
        raise ValueError(f"not GC.heap_info output: {text[:200]!r}")
    return {"heap_used_kib": int(heap["kib"]), "metaspace_used_kib": int(metaspace["kib"])}


def jcmd(pid: int, command: str) -> str:
    out = subprocess.run(
        ["jcmd", str(pid), command],
        capture_output=True,
        text=True,
        timeout=JCMD_TIMEOUT,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"jcmd {pid} {command} failed: {out.stdout[-500:]}{out.stderr[-500:]}")
    return out.stdout


def broker_memory(node: Node) -> dict[str, Any]:
    """The broker JVM's memory after the workload. RSS first, as the workload left it; then the
    class histogram, whose full GC leaves only live objects, then metaspace."""
    assert node.process is not None
    pid = node.process.pid
    # The entrypoint execs the JVM (unshare and sh exec too), so the spawned pid is Kafka's.
    command = Path(f"/proc/{pid}/comm").read_text().strip()
    if command != "java":
        raise RuntimeError(f"{node.pod}: pid {pid} is {command!r}, not the Kafka JVM")
    status = parse_status(Path(f"/proc/{pid}/status").read_text())
    histogram = parse_histogram(jcmd(pid, "GC.class_histogram"))
    heap = parse_heap_info(jcmd(pid, "GC.heap_info"))
    return {
        "pod": node.pod,
        "rss_mib": round(status["VmRSS"] / 1024, 1),
        "rss_anon_mib": round(status["RssAnon"] / 1024, 1),
        "rss_file_mib": round(status["RssFile"] / 1024, 1),
        "threads": status["Threads"],
        "live_heap_mib": round(histogram["live_bytes"] / MIB, 1),
        "exporter_objects_mib": round(histogram["exporter_bytes"] / MIB, 2),
        "loaded_classes": histogram["classes"],
        "metaspace_mib": round(heap["metaspace_used_kib"] / 1024, 1),
    }


def memory_differences(rounds: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Per key of MEMORY_KEYS: with - without for each broker against the same broker (same pod
    name and node id) of the same round; their median, smallest and largest, and the medians of
    each side."""
    differences: dict[str, Any] = {}
    for key in MEMORY_KEYS:
        pairs = [
            (on[key], off[key])
            for run in rounds
            for on, off in zip(run[WITH]["brokers"], run[WITHOUT]["brokers"], strict=True)
        ]
        deltas = [on - off for on, off in pairs]
        differences[key] = {
            "median_with": round(statistics.median(on for on, _ in pairs), 2),
            "median_without": round(statistics.median(off for _, off in pairs), 2),
            "median_difference": round(statistics.median(deltas), 2),
            "min_difference": round(min(deltas), 2),
            "max_difference": round(max(deltas), 2),
            "pairs": len(pairs),
        }
    return differences


# -- the runs ----------------------------------------------------------------------------------


def one_run(
    variant: str,
    round_number: int,
    *,
    work: Path,
    libs: Path,
    log4j: Path,
    args: argparse.Namespace,
) -> dict[str, Any]:
    spec = parse_cluster(CLUSTER_NAME, NAMESPACE, cluster_spec(metrics=variant == WITH))
    base = work / f"{round_number}-{variant}"
    cluster = BenchKafka(spec=spec, cluster_id=new_cluster_id(), base=base, version=KAFKA_VERSION)
    quiet = wait_quiet(args.quiet_cores, args.quiet_timeout) if args.quiet_timeout > 0 else {}
    print(f"round {round_number} {variant}: starting {quiet}", flush=True)
    with running(cluster) as startup:
        print(f"  startup {startup}", flush=True)
        bootstrap = cluster.bootstrap()
        create_topic(bootstrap, TOPIC, partitions=PARTITIONS, replicas=REPLICAS, min_isr=MIN_ISR)
        wait_for(f"{TOPIC} fully in sync", lambda: full_isr(bootstrap), timeout=60)
        targets = cluster.nodes if spec.metrics.enabled else []
        meter = CpuMeter(cluster.jvm_pids())
        with Scraper(targets, args.scrape_interval) as scraper:
            result = produce(
                libs,
                log4j,
                bootstrap,
                records=args.records,
                warmup=args.warmup_records,
                size=args.record_size,
            )
        result.update(meter.cores())
        result["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
        brokers = [broker_memory(node) for node in cluster.brokers]
        scrapes = scrape_summary(scraper.scrapes, cluster.nodes)
        print(
            f"  {result['records_per_s']:.0f} records/s, p99 {result['p99_ms']:.0f} ms; "
            f"{scrapes['scrapes']} scrapes ({scrapes['failed']} failed); broker RSS "
            f"{[b['rss_mib'] for b in brokers]} MiB, live heap "
            f"{[b['live_heap_mib'] for b in brokers]} MiB; other processes used "
            f"{result['foreign_cpu_cores']} cores meanwhile",
            flush=True,
        )
    shutil.rmtree(base)  # only on success: a failed run leaves its logs behind
    return {
        "round": round_number,
        **quiet,
        **result,
        "startup": startup,
        "scraping": scrapes,
        "brokers": brokers,
    }


def notes(runs: list[dict[str, Any]], paired: list[float], interval: float) -> list[str]:
    cores = os.cpu_count() or 1
    foreign = max(run["foreign_cpu_cores"] for run in runs)
    found = [
        f"{cores} cores shared by 4 Kafka JVMs, the producer JVM and the scraper, all freshly "
        "started and CPU-bound: absolute numbers are far below real hardware; only the ratio of "
        "identical clusters, run in alternating order, means something.",
        f"Per-round ratios range from {min(paired)} to {max(paired)}: a difference smaller than "
        "that spread is not resolved by this run.",
        f"The with-metrics side is scraped every {interval:g} s on all 4 nodes by this process, "
        "on the same cores: its CPU (small: the bodies are read, not parsed) counts against that "
        "side, as a Prometheus on the same node would.",
        "Memory is compared broker against the same broker of the same round, after the "
        "workload. RSS includes the part of the 384 MiB heap (-Xms = -Xmx) that G1 has touched "
        "by then, which depends on the run's allocations; live heap (after the full GC of "
        "GC.class_histogram), metaspace, loaded classes and threads show where a difference "
        "lies. exporter_objects counts only objects of io.prometheus.* classes (not the "
        "strings, maps and buffers they hold): a lower bound of the exporter's heap.",
    ]
    return found + noise_notes(runs, foreign, cores)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs per side")
    add_workload_arguments(parser)
    parser.add_argument(
        "--scrape-interval", type=float, default=5.0, help="seconds between scrapes of a node"
    )
    parser.add_argument("--output", type=Path, default=REPO / "bench/results/metrics.json")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _terminate)
    if shutil.which("jcmd") is None:
        raise SystemExit("jcmd (from a JDK) is needed to read the brokers' heap")

    began = time.monotonic()
    load_at_start = os.getloadavg()
    libs = _build("hack/kafka-libs.sh", KAFKA_VERSION)
    order = [
        variant
        for round_number in range(args.rounds)
        for variant in ((WITH, WITHOUT) if round_number % 2 == 0 else (WITHOUT, WITH))
    ]
    rounds: list[dict[str, dict[str, Any]]] = [{} for _ in range(args.rounds)]
    work = Path(tempfile.mkdtemp(prefix="kopfka-bench-metrics-"))
    log4j = work / "producer-log4j2.properties"
    log4j.write_text(PRODUCER_LOG4J)
    try:
        for index, variant in enumerate(order):
            rounds[index // 2][variant] = one_run(
                variant, index // 2 + 1, work=work, libs=libs, log4j=log4j, args=args
            )
    except BaseException:
        print(f"failed; node logs are under {work}", file=sys.stderr)
        raise
    shutil.rmtree(work)

    runs = {variant: [run[variant] for run in rounds] for variant in (WITH, WITHOUT)}
    with_metrics, without_metrics = summarize(runs[WITH]), summarize(runs[WITHOUT])
    ratio = round(with_metrics["median_records_per_s"] / without_metrics["median_records_per_s"], 3)
    paired = [
        round(run[WITH]["records_per_s"] / run[WITHOUT]["records_per_s"], 3) for run in rounds
    ]
    memory = memory_differences(rounds)
    load_at_end = os.getloadavg()
    report = {
        "benchmark": "kafka-producer-throughput-metrics-on-vs-off",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join([python_command(), "-m", "bench.metrics", *sys.argv[1:]]),
        "git": git_commit(),
        "machine": machine(),
        "machine_load": {
            "loadavg_at_start": [round(value, 2) for value in load_at_start],
            "loadavg_at_end": [round(value, 2) for value in load_at_end],
            "note": "1, 5 and 15 minute load averages of the shared machine",
        },
        "kafka_version": KAFKA_VERSION,
        "config": {
            "spec": cluster_spec(metrics=True),
            "differs": "spec.metrics.enabled: true on one side, false on the other",
            "topology": "1 controller + 3 brokers (dedicated roles), one JVM each, one host",
            "order": order,
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
            "scraping": {
                "interval_s": args.scrape_interval,
                "timeout_s": min(args.scrape_interval, SCRAPE_TIMEOUT),
                "targets": "every node's /metrics (brokers and the controller), each on its own "
                "schedule, while the producer runs (warm-up included); the without-metrics side "
                "has none",
            },
        },
        WITH: with_metrics,
        WITHOUT: without_metrics,
        "with_metrics_records_per_s": with_metrics["median_records_per_s"],
        "without_metrics_records_per_s": without_metrics["median_records_per_s"],
        "ratio": ratio,
        "ratio_mb_per_s": round(
            with_metrics["median_mb_per_s"] / without_metrics["median_mb_per_s"], 3
        ),
        # with / without within each round (two runs next to each other in time)
        "paired_ratios_by_round": paired,
        "median_paired_ratio": round(statistics.median(paired), 3),
        "goal": GOAL,
        "meets_goal": ratio >= GOAL,
        "memory_per_broker": {
            "compared": "with - without, broker against the same broker of the same round, "
            "after the workload",
            **memory,
        },
        "scraping": scraping_overall([run["scraping"] for run in runs[WITH]]),
        "total_runtime_s": round(time.monotonic() - began, 1),
        "notes": notes(runs[WITH] + runs[WITHOUT], paired, args.scrape_interval),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    rss, heap = memory["rss_mib"], memory["live_heap_mib"]
    print(
        f"with metrics {report['with_metrics_records_per_s']:.0f} records/s, without "
        f"{report['without_metrics_records_per_s']:.0f} records/s, ratio {ratio} (per round "
        f"{paired}, goal {GOAL}); per broker RSS +{rss['median_difference']} MiB, live heap "
        f"+{heap['median_difference']} MiB; {report['scraping']['scrapes']} scrapes; "
        f"total {report['total_runtime_s']} s -> {args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
