"""Benchmark: does the broker config the operator renders cost producer throughput?

Runs two KRaft clusters of the same topology (3 controllers + 3 brokers, the DEDICATED spec of the
Kafka tier, rack included; same pod names, loopback addresses, ports, heap and JVM options), one
after the other, through the broker image's entrypoint as in `make test-kafka`:

- rendered: the ConfigMap files exactly as `render/` produces them for the spec;
- defaults: the same files with the cluster-settings section (from the line "# Cluster settings"
  on: the operator's defaults and spec.kafka.config) cut off, i.e. Kafka's own defaults.

Each start is timed (to all brokers registered and unfenced in DescribeCluster, to every node's
readiness probe passing). Each cluster then gets the same topic (6 partitions, RF 3,
min.insync.replicas 2) and Kafka's own ProducerPerformance (1 KiB records, unthrottled, acks=all):
warm-up records, then the measured ones, in one run. Rounds alternate A-B, B-A, A-B, ... so
that drift on the machine does not favour one side. Reports medians of records/s, MB/s and
latency per config, their ratio (goal: rendered >= 0.95 x defaults) and startup medians. Every
process it starts is stopped, also on failure or Ctrl-C/SIGTERM; every wait has a deadline.

    python -m bench.kafka_throughput [--rounds 3] [--records 60000] [--warmup-records 30000]
                                     [--quiet-timeout 60] [--output FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from kopfka.kafka.admin import KafkaPythonAdmin
from kopfka.model.cluster import parse_cluster
from kopfka.reconcile import new_cluster_id
from kopfka.render import config
from tests.kafka.clients import create_topic
from tests.kafka.conftest import DEDICATED, KAFKA_VERSION
from tests.kafka.localkafka import DATA_MOUNT, HOSTS, LocalKafka, Node, _build, wait_for
from tests.support.waiting import Timeout

REPO = Path(__file__).resolve().parents[1]
CLUSTER_NAME = "bench"
NAMESPACE = "kafka"
SETTINGS_MARKER = "# Cluster settings"
# Both clusters get these node addresses (127.43.250.N); LocalKafka itself picks 127.43.0-249.N.
ADDRESS_PREFIX = "127.43.250."
TOPIC = "bench"
PARTITIONS = 6
REPLICAS = 3
MIN_ISR = 2
RENDERED, DEFAULTS = "rendered", "defaults"
PRODUCER_PROPS = ("acks=all",)
PRODUCER_HEAP = "-Xmx512M"  # what Kafka's kafka-producer-perf-test.sh gives the tool
PRODUCER_LOG4J = """\
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stderr.ref = STDERR
"""
# The summary lines ProducerPerformance prints at the end: all records, then steady state.
SUMMARY = re.compile(
    r"(?P<records>\d+) (?P<steady>steady state )?records sent, "
    r"(?P<records_per_s>[\d.]+) records/sec "
    r"\((?P<mb_per_s>[\d.]+) MB/sec\), (?P<avg_latency_ms>[\d.]+) ms avg latency, "
    r"(?P<max_latency_ms>[\d.]+) ms max latency, (?P<p50_ms>\d+) ms 50th, (?P<p95_ms>\d+) ms 95th, "
    r"(?P<p99_ms>\d+) ms 99th, (?P<p999_ms>\d+) ms 99.9th"
)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
START_TIMEOUT = 180.0
PRODUCER_TIMEOUT = 600.0


def strip_cluster_settings(properties: str) -> str:
    """server.properties without the cluster-settings section: Kafka's defaults apply there."""
    lines = properties.splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if line.startswith(SETTINGS_MARKER))
    return "".join(lines[:cut]).rstrip("\n") + "\n"


def cluster_settings(properties: str) -> dict[str, str]:
    """The key=value lines of the cluster-settings section."""
    section = properties[properties.index(SETTINGS_MARKER) :].splitlines()[1:]
    return dict(line.split("=", 1) for line in section if "=" in line and line[0] != "#")


@dataclass
class BenchKafka(LocalKafka):
    """LocalKafka with fixed node addresses and, for `defaults`, the cluster settings cut off."""

    defaults: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        for index, node in enumerate(self.nodes, start=1):
            node.address = node.env["KOPFKA_BIND_ADDRESS"] = f"{ADDRESS_PREFIX}{index}"
        written = sorted((self.base / "config").glob("*/server.properties"))
        assert len(written) == len(self.spec.pools), written
        for properties in written:
            text = properties.read_text()
            assert SETTINGS_MARKER in text, f"{properties} has no cluster-settings section"
            if self.defaults:
                properties.write_text(strip_cluster_settings(text))

    def start_timed(self, *, timeout: float = START_TIMEOUT) -> dict[str, Any]:
        """What LocalKafka.start does, timing how long until the brokers are registered (a
        separate thread polls DescribeCluster) and until each node's readiness probe passes."""
        if os.geteuid() != 0:
            raise RuntimeError("this benchmark needs root (mount namespaces, /etc/hosts)")
        stale = [line for line in HOSTS.read_text().splitlines() if self.nodes[0].host in line]
        if stale:
            raise RuntimeError(
                f"{HOSTS} already names {self.nodes[0].host} (left by a killed run? remove the "
                f"lines marked 'kopfka-kafka-tier'): {stale}"
            )
        DATA_MOUNT.mkdir(parents=True, exist_ok=True)
        self._add_hosts()
        started = time.monotonic()
        for node in self.nodes:
            self.start_node(node)
        meter = CpuMeter(self.jvm_pids())
        registered: dict[str, Any] = {}
        done = threading.Event()
        poller = threading.Thread(
            target=self._poll_registered, args=(started, registered, done, timeout), daemon=True
        )
        poller.start()
        ready_at: dict[str, float] = {}

        def all_ready() -> bool:
            for node in self.nodes:
                if node.pod in ready_at or not self._check_alive(node):
                    continue
                if node.probe_ready():
                    ready_at[node.pod] = time.monotonic() - started
            return len(ready_at) == len(self.nodes)

        try:
            wait_for("every node ready", all_ready, timeout=timeout)
            poller.join(timeout=max(1.0, timeout - (time.monotonic() - started)))
        finally:
            done.set()
        if "seconds" not in registered:
            raise TimeoutError(f"brokers not registered: {registered.get('error')}")
        return {
            "brokers_registered_s": round(registered["seconds"], 2),
            "all_ready_s": round(max(ready_at.values()), 2),
            "controllers_ready_s": round(max(ready_at[n.pod] for n in self.controllers), 2),
            "brokers_ready_s": round(max(ready_at[n.pod] for n in self.brokers_only), 2),
            **meter.cores(),
        }

    def _poll_registered(
        self, started: float, out: dict[str, Any], done: threading.Event, timeout: float
    ) -> None:
        expected = {node.node_id for node in self.brokers}
        admin: list[KafkaPythonAdmin] = []

        def registered() -> bool:
            if done.is_set():
                raise AssertionError("stopped")
            if not admin:
                # kafka-python blocks for 30 s in a bootstrap that starts while no broker
                # listens, and does not notice one that comes up meanwhile: connect first.
                if not any(self._listening(node) for node in self.brokers):
                    return False
                admin.append(KafkaPythonAdmin(self.bootstrap(), timeout_ms=5000))
            if admin[0].cluster().broker_ids >= expected:
                out["seconds"] = time.monotonic() - started
                return True
            return False

        try:
            wait_for("brokers registered", registered, timeout=timeout)
        except (AssertionError, TimeoutError) as error:  # waiting.Timeout is an AssertionError
            out["error"] = str(error)
        finally:
            for client in admin:
                with contextlib.suppress(Exception):
                    client.close()

    def _listening(self, node: Node) -> bool:
        try:
            socket.create_connection((node.host, self.spec.listeners[0].port), timeout=0.5).close()
        except OSError:
            return False
        return True

    def jvm_pids(self) -> list[int]:
        return [node.process.pid for node in self.nodes if node.process is not None]


class CpuMeter:
    """CPU used on the machine by processes other than this benchmark's, over an interval.

    The machine is shared (2 cores): other builds and tests eat into the brokers' CPU. Busy time
    from /proc/stat, minus the benchmark's own JVMs (/proc/PID/stat) and its finished children
    (the producer tool, via os.times), gives the cores that something else used meanwhile.
    """

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.start = self._sample()

    def _sample(self) -> tuple[float, float, float]:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
        user, nice, system, _idle, _iowait, irq, softirq, steal = fields
        ticks = os.sysconf("SC_CLK_TCK")
        busy = (user + nice + system + irq + softirq + steal) / ticks
        own = sum(self._process_seconds(pid, ticks) for pid in self.pids)
        times = os.times()
        own += times.user + times.system + times.children_user + times.children_system
        return time.monotonic(), busy, own

    @staticmethod
    def _process_seconds(pid: int, ticks: int) -> float:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return 0.0
        fields = stat[stat.rindex(")") + 2 :].split()
        # utime, stime, and cutime, cstime: the entrypoint's storage-format JVM is a child
        return sum(int(value) for value in fields[11:15]) / ticks

    def cores(self) -> dict[str, float]:
        """Average cores busy since construction: all, and all but ours."""
        now, busy, own = self._sample()
        wall = now - self.start[0]
        total = (busy - self.start[1]) / wall
        foreign = max(0.0, total - (own - self.start[2]) / wall)
        return {"cpu_busy_cores": round(total, 2), "foreign_cpu_cores": round(foreign, 2)}


def wait_quiet(max_cores: float, timeout: float) -> dict[str, Any]:
    """Wait (up to `timeout` s) until other processes use less than `max_cores` over a 2 s
    window, so that a run does not start in the middle of someone else's build."""
    meter = [CpuMeter([])]
    last: dict[str, float] = {}

    def quiet() -> bool:
        if time.monotonic() - meter[0].start[0] < 2:
            return False
        last.update(meter[0].cores())
        meter[0] = CpuMeter([])
        return last["foreign_cpu_cores"] < max_cores

    began = time.monotonic()
    try:
        wait_for(f"other processes below {max_cores} cores", quiet, timeout=timeout)
        was_quiet = True
    except (Timeout, TimeoutError):
        was_quiet = False
    return {
        "quiet_before_start": was_quiet,
        "waited_for_quiet_s": round(time.monotonic() - began, 1),
        "foreign_cpu_cores_before_start": last.get("foreign_cpu_cores"),
    }


def full_isr(bootstrap: str) -> bool:
    admin = KafkaPythonAdmin(bootstrap)
    try:
        topic = admin.topics([TOPIC])[TOPIC]
        return len(topic.partitions) == PARTITIONS and all(
            len(p.isr) == REPLICAS for p in topic.partitions
        )
    finally:
        admin.close()


def producer_command(
    libs: Path | str, log4j: Path | str, bootstrap: str, *, records: int, warmup: int, size: int
) -> list[str]:
    """The ProducerPerformance command line: `warmup` records first (its own --warmup-records,
    left out of the steady-state line), then `records` measured ones. `libs` and `log4j` are
    paths where the command runs (bench/e2e.py runs it in a client pod)."""
    return [
        "java", PRODUCER_HEAP, f"-Dlog4j2.configurationFile={log4j}",
        "-cp", f"{libs}/*", "org.apache.kafka.tools.ProducerPerformance",
        "--topic", TOPIC, "--num-records", str(records + warmup), "--record-size", str(size),
        "--throughput", "-1", "--warmup-records", str(warmup),
        # --producer-props is deprecated in 4.x; --command-property takes the same list
        "--command-property", f"bootstrap.servers={bootstrap}", *PRODUCER_PROPS,
    ]  # fmt: skip


def producer_result(
    out: subprocess.CompletedProcess[str], *, records: int, warmup: int, wall: float
) -> dict[str, Any]:
    """The steady-state figures of a finished ProducerPerformance run; raises unless every
    record was acknowledged."""
    lines = {bool(m["steady"]): m.groupdict() for m in SUMMARY.finditer(out.stdout)}
    if out.returncode != 0 or False not in lines or (warmup > 0) not in lines:
        raise RuntimeError(
            f"ProducerPerformance failed ({out.returncode}):\n{out.stdout[-2000:]}"
            f"\n{out.stderr[-2000:]}"
        )
    steady, total = lines[warmup > 0], lines[False]
    if int(steady["records"]) != records or int(total["records"]) != records + warmup:
        raise RuntimeError(
            f"only {total['records']} of {records + warmup} records were acknowledged (the rest "
            f"failed, e.g. delivery.timeout.ms on an overloaded machine):\n{out.stdout[-2000:]}"
        )
    result: dict[str, Any] = {
        key: float(value) for key, value in steady.items() if key not in ("records", "steady")
    }
    result["records"] = records
    result["warmup_records"] = warmup
    result["records_per_s_incl_warmup"] = float(total["records_per_s"])
    result["tool_wall_s"] = round(wall, 2)
    return result


def produce(
    libs: Path, log4j: Path, bootstrap: str, *, records: int, warmup: int, size: int
) -> dict[str, Any]:
    """One ProducerPerformance run on this host; returns the steady-state figures."""
    command = producer_command(libs, log4j, bootstrap, records=records, warmup=warmup, size=size)
    began = time.monotonic()
    out = subprocess.run(
        command, capture_output=True, text=True, timeout=PRODUCER_TIMEOUT, check=False
    )
    return producer_result(out, records=records, warmup=warmup, wall=time.monotonic() - began)


@contextlib.contextmanager
def running(cluster: BenchKafka) -> Iterator[dict[str, Any]]:
    try:
        yield cluster.start_timed()
    finally:
        # A second Ctrl-C or SIGTERM must not cut the stop short and leave JVMs behind; the stop
        # itself is bounded (SIGTERM, 60 s, then SIGKILL).
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}
        try:
            cluster.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def one_run(
    which: str, round_number: int, *, work: Path, libs: Path, log4j: Path, args: argparse.Namespace
) -> tuple[dict[str, Any], dict[str, Any]]:
    spec = parse_cluster(CLUSTER_NAME, NAMESPACE, DEDICATED)
    base = work / f"{round_number}-{which}"
    cluster = BenchKafka(
        spec=spec,
        cluster_id=new_cluster_id(),
        base=base,
        version=KAFKA_VERSION,
        defaults=which == DEFAULTS,
    )
    quiet = wait_quiet(args.quiet_cores, args.quiet_timeout) if args.quiet_timeout > 0 else {}
    print(f"round {round_number} {which}: starting {quiet}", flush=True)
    with running(cluster) as startup:
        print(f"  startup {startup}", flush=True)
        bootstrap = cluster.bootstrap()
        create_topic(bootstrap, TOPIC, partitions=PARTITIONS, replicas=REPLICAS, min_isr=MIN_ISR)
        wait_for(f"{TOPIC} fully in sync", lambda: full_isr(bootstrap), timeout=60)
        meter = CpuMeter(cluster.jvm_pids())
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
        print(
            f"  {result['records_per_s']:.0f} records/s, {result['mb_per_s']:.2f} MB/s, "
            f"p50 {result['p50_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms; "
            f"other processes used {result['foreign_cpu_cores']} cores meanwhile",
            flush=True,
        )
    shutil.rmtree(base)  # only on success: a failed run leaves its logs behind
    run = {"round": round_number, **quiet, **result}
    return run, {"round": round_number, "config": which, **startup}


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def median(key: str) -> float:
        return round(float(statistics.median(run[key] for run in runs)), 2)

    return {
        "runs": runs,
        "median_records_per_s": median("records_per_s"),
        "median_mb_per_s": median("mb_per_s"),
        "median_avg_latency_ms": median("avg_latency_ms"),
        "median_p50_latency_ms": median("p50_ms"),
        "median_p99_latency_ms": median("p99_ms"),
        "median_foreign_cpu_cores": median("foreign_cpu_cores"),
        "min_records_per_s": min(run["records_per_s"] for run in runs),
        "max_records_per_s": max(run["records_per_s"] for run in runs),
    }


def startup_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("brokers_registered_s", "all_ready_s", "controllers_ready_s", "brokers_ready_s")

    def medians(subset: list[dict[str, Any]]) -> dict[str, float]:
        return {
            f"median_{key}": round(statistics.median(r[key] for r in subset), 2) for key in keys
        }

    return {
        "measured_from": "first node process spawned (entrypoint, incl. storage format)",
        "brokers_registered": "DescribeCluster (KafkaPythonAdmin) lists all 3 brokers, unfenced",
        "all_ready": "the probe agent answers 200 on /ready (as to the kubelet) on all 6 nodes",
        "runs": runs,
        **medians(runs),
        "by_config": {
            which: medians([r for r in runs if r["config"] == which])
            for which in (RENDERED, DEFAULTS)
        },
    }


def notes(
    runs: list[dict[str, Any]], startups: list[dict[str, Any]], paired: list[float]
) -> list[str]:
    cores = os.cpu_count() or 1
    foreign = max(item["foreign_cpu_cores"] for item in [*runs, *startups])
    found = [
        f"{cores} cores shared by 6 broker/controller JVMs and the producer JVM, all freshly "
        "started (JIT still warming) and CPU-bound (cpu_busy_cores): absolute numbers are far "
        "below real hardware; only the ratio of identical processes, run in alternating order "
        "(A-B, B-A, ...), means something.",
        f"Per-round ratios range from {min(paired)} to {max(paired)}: a difference smaller than "
        "that spread is not resolved by this run.",
        "Unthrottled (--throughput -1), the producer's 32 MB buffer stays full, so latencies are "
        "mostly time queued in the producer (about buffer / throughput), not broker latency.",
        "The removed cluster settings change nothing on this produce path: the topic sets RF 3 "
        "and min.insync.replicas 2 itself, and the internal-topic settings equal Kafka's "
        "defaults except default.replication.factor (auto-created topics only); a ratio away "
        "from 1 is expected to be noise.",
    ]
    return found + noise_notes(runs, foreign, cores)


def noise_notes(runs: list[dict[str, Any]], foreign: float, cores: int) -> list[str]:
    """What a result file says about other processes that ran beside the measurement."""
    found = []
    noisy_starts = sum(1 for run in runs if run.get("quiet_before_start") is False)
    if noisy_starts:
        found.append(
            f"{noisy_starts} of {len(runs)} runs started although other processes were still busy "
            "(quiet_before_start false after --quiet-timeout)."
        )
    if foreign > 0.25:
        found.append(
            f"Other processes used up to {foreign} of {cores} cores during a measurement "
            "(foreign_cpu_cores per run): those runs are noisy."
        )
    return found


def machine() -> dict[str, Any]:
    meminfo = Path("/proc/meminfo").read_text()
    mem_kib = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))  # type: ignore[union-attr]
    cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    return {
        "cores": os.cpu_count(),
        "mem_gb": round(mem_kib / 1024 / 1024, 1),
        "cpu_model": cpu.group(1).strip() if cpu else platform.processor(),
        "kernel": platform.release(),
        "java": java.stderr.splitlines()[0] if java.stderr else "",
    }


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks that stop the nodes


def add_workload_arguments(parser: argparse.ArgumentParser) -> None:
    """The producer workload and the wait for a quiet machine, shared with bench.metrics."""
    parser.add_argument("--records", type=int, default=60_000, help="measured records per run")
    parser.add_argument("--warmup-records", type=int, default=30_000, help="before those, same run")
    parser.add_argument("--record-size", type=int, default=1024)
    parser.add_argument(
        "--quiet-timeout",
        type=float,
        default=60,
        help="before each start, wait up to this long for other processes to go quiet (0: no)",
    )
    parser.add_argument(
        "--quiet-cores", type=float, default=0.5, help="'quiet': others use fewer cores than this"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs per config")
    add_workload_arguments(parser)
    parser.add_argument("--output", type=Path, default=REPO / "bench/results/kafka.json")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _terminate)

    began = time.monotonic()
    libs = _build("hack/kafka-libs.sh", KAFKA_VERSION)
    spec = parse_cluster(CLUSTER_NAME, NAMESPACE, DEDICATED)
    broker_pool = next(pool for pool in spec.pools if pool.role.is_broker)
    broker_properties = config.server_properties(spec, broker_pool)
    order = [
        which
        for round_number in range(args.rounds)
        for which in ((RENDERED, DEFAULTS) if round_number % 2 == 0 else (DEFAULTS, RENDERED))
    ]
    results: dict[str, list[dict[str, Any]]] = {RENDERED: [], DEFAULTS: []}
    startups: list[dict[str, Any]] = []
    work = Path(tempfile.mkdtemp(prefix="kopfka-bench-kafka-"))
    log4j = work / "producer-log4j2.properties"
    log4j.write_text(PRODUCER_LOG4J)
    try:
        for index, which in enumerate(order):
            run, startup = one_run(
                which, index // 2 + 1, work=work, libs=libs, log4j=log4j, args=args
            )
            results[which].append(run)
            startups.append(startup)
    except BaseException:
        print(f"failed; node logs are under {work}", file=sys.stderr)
        raise
    shutil.rmtree(work)

    rendered, defaults = summarize(results[RENDERED]), summarize(results[DEFAULTS])
    ratio = round(rendered["median_records_per_s"] / defaults["median_records_per_s"], 3)
    paired = [
        round(a["records_per_s"] / b["records_per_s"], 3)
        for a, b in zip(results[RENDERED], results[DEFAULTS], strict=True)
    ]
    report = {
        "benchmark": "kafka-producer-throughput-rendered-vs-defaults",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench.kafka_throughput", *sys.argv[1:]]),
        "machine": machine(),
        "kafka_version": KAFKA_VERSION,
        "config": {
            "spec": DEDICATED,
            "topology": "3 controllers + 3 brokers (dedicated roles), one JVM each, one host",
            "rack": "yes: broker.rack from zone-a/b/c, in both configs (above the cut)",
            "order": order,
            "topic": {
                "partitions": PARTITIONS,
                "replication_factor": REPLICAS,
                "min.insync.replicas": MIN_ISR,
            },
            "load": {
                "tool": "org.apache.kafka.tools.ProducerPerformance",
                "records": args.records,
                "record_size_bytes": args.record_size,
                "throughput": -1,
                "producer_props": dict(prop.split("=", 1) for prop in PRODUCER_PROPS),
                "producer_jvm": PRODUCER_HEAP,
                "warmup_records": args.warmup_records,
                "warmup": "ProducerPerformance --warmup-records, same run; figures are its "
                "steady-state line",
            },
            "removed_for_defaults": cluster_settings(broker_properties),
            "rendered_broker_server_properties": broker_properties,
        },
        RENDERED: rendered,
        DEFAULTS: defaults,
        "ratio_rendered_over_defaults": ratio,
        "ratio_mb_per_s": round(rendered["median_mb_per_s"] / defaults["median_mb_per_s"], 3),
        # rendered / defaults within each round (the two runs next to each other in time), which
        # cancels drift between rounds; their spread shows how noisy one comparison is
        "paired_ratios_by_round": paired,
        "median_paired_ratio": round(statistics.median(paired), 3),
        "goal_ratio": 0.95,
        "meets_goal": ratio >= 0.95,
        "startup": startup_summary(startups),
        "total_runtime_s": round(time.monotonic() - began, 1),
        "notes": notes(results[RENDERED] + results[DEFAULTS], startups, paired),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"rendered {rendered['median_records_per_s']:.0f} records/s, "
        f"defaults {defaults['median_records_per_s']:.0f} records/s, ratio {ratio} "
        f"(per round {paired}); "
        f"startup: registered {report['startup']['median_brokers_registered_s']} s, "
        f"all ready {report['startup']['median_all_ready_s']} s; "
        f"total {report['total_runtime_s']} s -> {args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
