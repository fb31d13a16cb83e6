"""Benchmark: how many replicas does a rebalance move, against the fewest that balance needs?

Issue 13 asks, on one cluster and one set of topics, side by side: the replica moves kopfka's
planner (kopfka.rebalance.plan.place_replicas) makes, the moves Kafka's own tool proposes
(`kafka-reassign-partitions --generate`, the class ReassignPartitionsCommand run with the local
Kafka jars), each against the least number of moves any balanced placement needs (goal: kopfka's
ratio 1.0); then kopfka's plan carried out for real, timed, and checked.

Each round runs, on real Kafka started as the Kafka tier starts it (tests/kafka/localkafka.py):

1. A fresh cluster of 1 controller and 5 brokers (ids 0-4, no racks, small heaps). The topics
   (20 x 6 partitions, RF 3, min ISR 2 by default) are created with an explicit assignment on
   brokers 0-2 only (`--from-brokers 3`), as if brokers 3 and 4 had just been added, and filled
   with acks=all (each record acknowledged).
2. The assignment as Kafka reports it (KafkaPythonAdmin.topics) is planned over brokers 0-4;
   Kafka's --generate is asked for the same topics and broker list. Moves are counted the same
   way for both: per partition, the brokers of the new replica list that the partition did not
   have. `minimum_moves` comes from the replica counts alone (see `minimum_moves`), not from the
   planner.
3. The same comparison, planning only, for a second set of topics spread over brokers 0-3 (a
   scale-up from 4 brokers to 5): there a balanced placement can keep most replicas where they
   are, which is where a planner that ignores the current assignment pays. Those topics carry no
   data and are deleted before step 4.
4. kopfka's plan is carried out by `kopfka rebalance-apply` (the rebalance Job's command, the
   operator's wave size and throttle) under an acks=all idempotent producer writing to the first
   topic throughout; its wall time is the rebalance time. Afterwards: the replica lists must be
   the plan's targets, `imbalance_after` is the most minus the fewest replicas on a broker, and
   every topic is read back from the beginning: `lost` counts acknowledged records not read
   (must be 0).

Reports every round and the medians in bench/results/rebalance.json. Needs root; about 7 minutes a
round on 2 heavily shared cores. Every process it starts is stopped, also on failure or SIGTERM.

    python -m bench.rebalance [--rounds 3] [--topics 20] [--partitions 6] [--replicas 3]
                              [--from-brokers 3] [--records-per-topic 250] [--output FILE]
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from kafka import KafkaProducer
from kafka.admin import NewTopic

from bench.e2e import git_commit, python_command
from bench.kafka_throughput import PRODUCER_LOG4J, CpuMeter, machine
from kopfka.kafka.admin import KafkaPythonAdmin
from kopfka.model.cluster import parse_cluster
from kopfka.rebalance import wire
from kopfka.rebalance.plan import Broker, Partition, Plan, place_replicas
from kopfka.reconcile import new_cluster_id
from tests.kafka.clients import admin_client, consume_all, produce
from tests.kafka.conftest import KAFKA_VERSION, SMALL_POOL
from tests.kafka.localkafka import LocalKafka, _build, local_kafka, wait_for

REPO = Path(__file__).resolve().parents[1]
KOPFKA = Path(sys.executable).with_name("kopfka")
REASSIGN_COMMAND = "org.apache.kafka.tools.reassign.ReassignPartitionsCommand"
TOOL_HEAP = "-Xmx256m"
BROKERS = 5
SPEC = {
    "kafka": {"version": KAFKA_VERSION},
    "controllers": {"replicas": 1, **SMALL_POOL},
    "brokers": {"replicas": BROKERS, **SMALL_POOL},
}
# The waves and throttle the rebalance Job gets: the KafkaCluster's defaults (spec.rebalance).
DEFAULTS = parse_cluster("rebalance", "kafka", SPEC).rebalance
MIN_ISR = 2
RECORD_BYTES = 1024
SPREAD_FROM_BROKERS = 4  # the planning-only comparison: topics spread over brokers 0-3
LOAD_INTERVAL = 0.01  # the producer during the rebalance: about 100 records a second
TOOL_TIMEOUT = 180
REBALANCE_TIMEOUT = 1800
GOAL_RATIO = 1.0

Assignment = dict[tuple[str, int], tuple[int, ...]]


# -- counting: pure, unit-tested (tests/unit/test_bench_rebalance.py) ----------------------------


def minimum_moves(counts: Sequence[int]) -> int:
    """The fewest replica moves that make `counts` (replicas per broker, every staying broker
    listed, new ones as 0) balanced, with no racks and no broker leaving.

    Balanced: with T replicas on B brokers, q = T // B and r = T % B, exactly r brokers hold q + 1
    and the others q. Call S the surplus above the caps, sum of max(0, c - (q + 1)), and D the
    deficit below the floors, sum of max(0, q - c). The answer is max(S, D):

    - at least: a move takes one replica off one broker and puts one on another. Every replica
      above q + 1 must leave (S moves), every missing one below q must arrive (D moves). Beyond
      that, of the k brokers holding more than q only r may keep q + 1: k - r more must leave if
      k > r. Since the counts sum to q * B + r, D = S + k - r, so the bound is S + max(0, k - r)
      = max(S, D);
    - enough: take targets q + 1 for the (up to r) fullest brokers above q, q for the rest, and
      move one replica at a time from a broker above its target to one below. The first holds at
      least q + 1 replicas and the second at most q, so some partition is on the first and not on
      the second: moving it keeps every partition on distinct brokers, and each move removes one
      replica of surplus, which totals max(S, D) for these targets.

    With racks the rack rule can cost more moves; this benchmark's brokers have none.
    """
    if not counts:
        return 0
    floor, _ = divmod(sum(counts), len(counts))
    surplus = sum(max(0, count - (floor + 1)) for count in counts)
    deficit = sum(max(0, floor - count) for count in counts)
    return max(surplus, deficit)


def replicas_per_broker(
    assignment: Mapping[Any, Sequence[int]], brokers: Iterable[int]
) -> list[int]:
    """How many replicas each of `brokers` holds, in their order (0 for one holding none)."""
    held = Counter(broker for replicas in assignment.values() for broker in replicas)
    return [held[broker] for broker in brokers]


def spread(counts: Sequence[int]) -> int:
    """Most minus fewest: the imbalance."""
    return max(counts) - min(counts)


def moves_between(
    current: Mapping[tuple[str, int], Sequence[int]],
    proposed: Mapping[tuple[str, int], Sequence[int]],
) -> int:
    """Replicas placed on a broker that did not hold them: for each partition of `proposed`, its
    brokers that are not among the partition's current ones."""
    return sum(len(set(replicas) - set(current[key])) for key, replicas in proposed.items())


def initial_assignment(
    topics: Sequence[str], *, partitions: int, replicas: int, brokers: int
) -> Assignment:
    """Partitions laid over brokers 0 .. brokers-1 round-robin, each replica list `replicas`
    consecutive brokers from a start that turns with every partition (leaders spread too)."""
    assignment: Assignment = {}
    for index, (topic, partition) in enumerate(
        (topic, partition) for topic in topics for partition in range(partitions)
    ):
        assignment[topic, partition] = tuple((index + k) % brokers for k in range(replicas))
    return assignment


def parse_generate(stdout: str) -> tuple[Assignment, Assignment]:
    """The current and the proposed assignment from `--generate`'s output: it prints each as a
    JSON object on a line of its own, under a heading, current first."""
    documents = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    if len(documents) != 2:
        raise ValueError(f"expected two JSON assignments from --generate, got:\n{stdout}")
    current, proposed = (
        {(p["topic"], p["partition"]): tuple(p["replicas"]) for p in document["partitions"]}
        for document in documents
    )
    return current, proposed


def comparison(
    current: Assignment, kopfka_plan: Plan, generated: Assignment, brokers: Sequence[int]
) -> dict[str, Any]:
    """kopfka's plan and Kafka's proposal, each against the minimum, for one assignment."""
    before = replicas_per_broker(current, brokers)
    minimum = minimum_moves(before)
    planned = {(p.topic, p.partition): p.replicas for p in kopfka_plan.assignment}
    generate_moves = moves_between(current, generated)
    return {
        "partitions": len(current),
        "replicas": sum(before),
        "replicas_per_broker_before": before,
        "moves": len(kopfka_plan.moves),
        "minimum_moves": minimum,
        "ratio": _ratio(len(kopfka_plan.moves), minimum),
        "imbalance_planned": spread(replicas_per_broker(planned, brokers)),
        "leader_changes": kopfka_plan.summary.leader_changes,
        "reassign_generate_moves": generate_moves,
        "reassign_generate_ratio": _ratio(generate_moves, minimum),
        "reassign_generate_imbalance": spread(replicas_per_broker(generated, brokers)),
        "reassign_generate_replicas_per_broker": replicas_per_broker(generated, brokers),
    }


def _ratio(moves: int, minimum: int) -> float | None:
    if minimum == 0:
        return 1.0 if moves == 0 else None
    return round(moves / minimum, 3)


# -- against Kafka -----------------------------------------------------------------------------


def create_topics(bootstrap: str, assignment: Assignment) -> None:
    by_topic: dict[str, dict[int, list[int]]] = {}
    for (topic, partition), replicas in assignment.items():
        by_topic.setdefault(topic, {})[partition] = list(replicas)
    with admin_client(bootstrap) as client:
        client.create_topics(
            [
                NewTopic(
                    topic,
                    replica_assignments=partitions,
                    topic_configs={"min.insync.replicas": str(MIN_ISR)},
                )
                for topic, partitions in sorted(by_topic.items())
            ]
        )
    admin = KafkaPythonAdmin(bootstrap)
    try:
        wait_for(
            "the topics with their assignment and leaders",
            lambda: read_assignment(admin, sorted(by_topic)) == assignment,
            timeout=120,
        )
    finally:
        admin.close()


def delete_topics(bootstrap: str, topics: Sequence[str]) -> None:
    with admin_client(bootstrap) as client:
        client.delete_topics(list(topics))


def read_assignment(admin: KafkaPythonAdmin, topics: Sequence[str]) -> Assignment:
    """The replica lists Kafka reports for `topics`, once every partition has a leader."""
    found = admin.topics(topics)
    assignment: Assignment = {}
    for name in topics:
        for p in found[name].partitions:
            if p.leader < 0:
                raise AssertionError(f"{name}-{p.partition} has no leader yet")
            assignment[name, p.partition] = p.replicas
    return assignment


def plan_from_kafka(bootstrap: str, topics: Sequence[str]) -> tuple[Assignment, Plan, list[int]]:
    """What the operator does: read the partitions and the brokers (with racks) from Kafka, plan."""
    admin = KafkaPythonAdmin(bootstrap)
    try:
        current = read_assignment(admin, topics)
        cluster = admin.cluster()
    finally:
        admin.close()
    brokers = [Broker(b.node_id, b.rack) for b in cluster.brokers]
    partitions = [Partition(topic, index, replicas) for (topic, index), replicas in current.items()]
    return current, place_replicas(partitions, brokers), sorted(b.node_id for b in brokers)


def generate_command(
    libs: Path, log4j: Path, bootstrap: str, topics_file: Path, brokers: Sequence[int]
) -> list[str]:
    return [
        "java", TOOL_HEAP, f"-Dlog4j2.configurationFile={log4j}", "-cp", f"{libs}/*",
        REASSIGN_COMMAND, "--bootstrap-server", bootstrap, "--generate",
        "--topics-to-move-json-file", str(topics_file),
        "--broker-list", ",".join(str(broker) for broker in brokers),
    ]  # fmt: skip


def reassign_generate(
    bootstrap: str,
    topics: Sequence[str],
    brokers: Sequence[int],
    *,
    libs: Path,
    log4j: Path,
    work: Path,
) -> tuple[Assignment, Assignment]:
    """Kafka's own proposal for `topics` over `brokers`, and the current assignment it saw."""
    topics_file = work / "topics-to-move.json"
    topics_file.write_text(
        json.dumps({"version": 1, "topics": [{"topic": topic} for topic in topics]})
    )
    out = subprocess.run(
        generate_command(libs, log4j, bootstrap, topics_file, brokers),
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"--generate failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return parse_generate(out.stdout)


class LoadProducer:
    """An acks=all idempotent producer writing numbered records to one topic from a thread, as a
    client would during the rebalance; it remembers which records Kafka acknowledged."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            enable_idempotence=True,
            retries=2**31 - 1,
            delivery_timeout_ms=120_000,
        )
        self.acked: set[bytes] = set()
        self.failed = 0
        self.sent = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LoadProducer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.producer.flush(timeout=120)
        self.producer.close(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(LOAD_INTERVAL):
            value = f"load-{self.sent:09d}".encode()
            self.sent += 1
            future = self.producer.send(self.topic, value=value)
            future.add_callback(lambda _, value=value: self._acked(value))
            future.add_errback(lambda _: self._failed())

    def _acked(self, value: bytes) -> None:
        with self._lock:
            self.acked.add(value)

    def _failed(self) -> None:
        with self._lock:
            self.failed += 1


def rebalance_command(bootstrap: str, work_path: Path) -> list[str]:
    return [
        str(KOPFKA),
        "rebalance-apply",
        "--bootstrap-servers",
        bootstrap,
        "--work",
        str(work_path),
    ]


def carry_out(
    cluster: LocalKafka, plan: Plan, load_topic: str, work: Path
) -> tuple[float, LoadProducer, dict[str, Any], dict[str, float]]:
    """`kopfka rebalance-apply` on the plan's work, under the load producer: the wall seconds,
    the producer, the Job's summary line, and the CPU other processes used meanwhile."""
    work_path = work / "rebalance-work.json.gz"
    work_path.write_bytes(
        wire.work_file(
            wire.RebalanceWork.of(
                plan.reassignments,
                wave_size=cluster.spec.rebalance.wave_size,
                throttle=cluster.spec.rebalance.throttle_bytes_per_second,
            )
        )
    )
    bootstrap = cluster.bootstrap()
    with LoadProducer(bootstrap, load_topic) as load:
        wait_for("the load producer's first acknowledgement", lambda: load.acked, timeout=60)
        meter = CpuMeter([node.process.pid for node in cluster.nodes if node.process is not None])
        began = time.monotonic()
        done = subprocess.run(
            rebalance_command(bootstrap, work_path),
            capture_output=True,
            text=True,
            timeout=REBALANCE_TIMEOUT,
            check=False,
        )
        seconds = time.monotonic() - began
        cpu = meter.cores()
        time.sleep(2)  # records acknowledged after the last move, too
    if done.returncode != 0:
        raise RuntimeError(f"rebalance-apply failed ({done.returncode}):\n{done.stderr[-3000:]}")
    log = wire.read_rebalance_log(done.stdout)
    if log.summary is None:
        raise RuntimeError(f"rebalance-apply wrote no summary:\n{done.stdout[-3000:]}")
    summary = {"moves": log.summary.moves, "done": log.summary.done, "seconds": log.summary.seconds}
    return seconds, load, summary, cpu


def lost_records(bootstrap: str, expected: Mapping[str, set[bytes]]) -> int:
    """Acknowledged records of each topic that reading it from the beginning does not return."""
    lost = 0
    for topic, values in sorted(expected.items()):
        try:
            received = set(consume_all(bootstrap, topic, len(values), timeout=120))
        except AssertionError:  # waiting.Timeout: fewer came back than were acknowledged
            received = set(consume_all(bootstrap, topic, 0, timeout=30))
        lost += len(values - received)
    return lost


def one_round(
    number: int, *, libs: Path, log4j: Path, work: Path, args: argparse.Namespace
) -> dict[str, Any]:
    base = work / f"round-{number}"
    spec = parse_cluster("rebalance", "kafka", SPEC)
    print(f"round {number}: starting 1 controller + {BROKERS} brokers", flush=True)
    began = time.monotonic()
    with local_kafka(spec, new_cluster_id(), base / "cluster", KAFKA_VERSION) as cluster:
        bootstrap = cluster.bootstrap()
        print(f"  ready in {time.monotonic() - began:.0f} s", flush=True)
        topics = [f"scaled-{index:02d}" for index in range(args.topics)]
        initial = initial_assignment(
            topics, partitions=args.partitions, replicas=args.replicas, brokers=args.from_brokers
        )
        create_topics(bootstrap, initial)
        values = {
            topic: [
                f"{topic}-{i:07d}".encode().ljust(RECORD_BYTES, b".")
                for i in range(args.records_per_topic)
            ]
            for topic in topics
        }
        filled = time.monotonic()
        acked = sum(produce(bootstrap, topic, sent) for topic, sent in values.items())
        print(f"  {acked} records acknowledged in {time.monotonic() - filled:.0f} s", flush=True)

        current, plan, brokers = plan_from_kafka(bootstrap, topics)
        seen, generated = reassign_generate(
            bootstrap, topics, brokers, libs=libs, log4j=log4j, work=base
        )
        if seen != current:
            raise AssertionError("--generate saw another assignment than kopfka read")
        scaled = comparison(current, plan, generated, brokers)
        print(f"  scale-up {args.from_brokers} -> {BROKERS}: {_line(scaled)}", flush=True)

        spread_topics = [f"spread-{index:02d}" for index in range(args.topics)]
        create_topics(
            bootstrap,
            initial_assignment(
                spread_topics,
                partitions=args.partitions,
                replicas=args.replicas,
                brokers=SPREAD_FROM_BROKERS,
            ),
        )
        spread_current, spread_plan, _ = plan_from_kafka(bootstrap, spread_topics)
        _, spread_generated = reassign_generate(
            bootstrap, spread_topics, brokers, libs=libs, log4j=log4j, work=base
        )
        spread_from = comparison(spread_current, spread_plan, spread_generated, brokers)
        print(
            f"  planning only, {SPREAD_FROM_BROKERS} -> {BROKERS}: {_line(spread_from)}", flush=True
        )
        delete_topics(bootstrap, spread_topics)

        seconds, load, job, cpu = carry_out(cluster, plan, topics[0], base)
        admin = KafkaPythonAdmin(bootstrap)
        try:
            after = read_assignment(admin, topics)
        finally:
            admin.close()
        targets = {(p.topic, p.partition): p.replicas for p in plan.assignment}
        expected = {topic: set(sent) for topic, sent in values.items()}
        expected[topics[0]] |= load.acked
        lost = lost_records(bootstrap, expected)
    result = {
        "round": number,
        **scaled,
        "rebalance_seconds": round(seconds, 1),
        "rebalance_job_summary": job,
        "imbalance_after": spread(replicas_per_broker(after, brokers)),
        "replicas_per_broker_after": replicas_per_broker(after, brokers),
        "at_plan_targets": after == targets,
        "acked": acked + len(load.acked),
        "acked_during_rebalance": len(load.acked),
        "failed_sends_during_rebalance": load.failed,
        "lost": lost,
        **cpu,
        "planning_only_from_4_brokers": spread_from,
    }
    print(
        f"  rebalance {result['rebalance_seconds']} s, imbalance after "
        f"{result['imbalance_after']}, at targets {result['at_plan_targets']}, "
        f"acked {result['acked']}, lost {lost}",
        flush=True,
    )
    shutil.rmtree(base)  # only on success: a failed round leaves its node logs behind
    return result


def _line(found: Mapping[str, Any]) -> str:
    return (
        f"kopfka {found['moves']} moves, --generate {found['reassign_generate_moves']} "
        f"(imbalance {found['reassign_generate_imbalance']}), minimum {found['minimum_moves']}"
    )


def medians(rounds: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key in keys:
        values = [r[key] for r in rounds if r[key] is not None]
        middle = statistics.median(values) if values else None
        found[key] = round(middle, 3) if isinstance(middle, float) else middle
    return found


COMPARED = (
    "moves",
    "minimum_moves",
    "ratio",
    "reassign_generate_moves",
    "reassign_generate_ratio",
    "reassign_generate_imbalance",
    "imbalance_planned",
)


def report(rounds: list[dict[str, Any]], args: argparse.Namespace, total: float) -> dict[str, Any]:
    executed = medians(
        rounds,
        (*COMPARED, "imbalance_after", "rebalance_seconds", "acked", "lost", "foreign_cpu_cores"),
    )
    planning_only = medians([r["planning_only_from_4_brokers"] for r in rounds], COMPARED)
    return {
        "what": "Benchmark: replica moves of kopfka's rebalance plan and of Kafka's "
        "kafka-reassign-partitions --generate, against the fewest moves balance needs; kopfka's "
        "plan carried out under an acks=all producer",
        "cluster": f"local KRaft processes (tests/kafka/localkafka.py): 1 controller + {BROKERS} "
        "brokers (ids 0-4, no racks, heap 384Mi each), all on one host",
        "topics": {
            "count": args.topics,
            "partitions": args.partitions,
            "replication_factor": args.replicas,
            "min.insync.replicas": MIN_ISR,
            "created_on_brokers": list(range(args.from_brokers)),
            "records_per_topic": args.records_per_topic,
            "record_bytes": RECORD_BYTES,
        },
        "rebalance": {
            "command": "kopfka rebalance-apply (the rebalance Job's command, default --poll)",
            "wave_size": DEFAULTS.wave_size,
            "throttle_bytes_per_second": DEFAULTS.throttle_bytes_per_second,
            "load": f"acks=all idempotent producer on the first topic, one record every "
            f"{LOAD_INTERVAL * 1000:.0f} ms, from before the command starts until after it ends",
        },
        "moves_counted_as": "per partition, the brokers of the new replica list it did not have",
        "minimum_moves_from": "the replica counts per broker (bench/rebalance.py minimum_moves), "
        "not from the planner",
        **executed,
        "goal_ratio": GOAL_RATIO,
        "meets_goal": executed["ratio"] == GOAL_RATIO and executed["lost"] == 0,
        "all_at_plan_targets": all(r["at_plan_targets"] for r in rounds),
        "planning_only_from_4_brokers": {
            "what": f"the same comparison, planning only, for {args.topics} more topics of the "
            f"same shape spread over brokers 0-3 (a scale-up from 4 to {BROKERS}), no data; "
            "deleted before the rebalance",
            **planning_only,
        },
        "notes": notes(rounds, args),
        "rounds": rounds,
        "kafka_version": KAFKA_VERSION,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join([python_command(), "-m", "bench.rebalance", *sys.argv[1:]]),
        "git": git_commit(),
        "machine": machine(),
        "total_runtime_s": round(total, 1),
    }


def notes(rounds: Sequence[Mapping[str, Any]], args: argparse.Namespace) -> list[str]:
    found = []
    if args.from_brokers == args.replicas:
        found.append(
            f"Created with replication factor {args.replicas} on {args.from_brokers} brokers, "
            "every partition holds all of them, so any placement that gives the new brokers no "
            "more than their share moves the minimum: in this scale-up the moves of kopfka and "
            "of --generate can only differ by how far past balance --generate goes. The "
            "planning-only case (planning_only_from_4_brokers), where each partition holds 3 of "
            "4 brokers, is where a planner that ignores the current assignment moves more."
        )
    unbalanced = [
        r["round"]
        for r in rounds
        for case in (r, r["planning_only_from_4_brokers"])
        if case["reassign_generate_imbalance"] > 1
    ]
    if unbalanced:
        found.append(
            "--generate's proposal (rack-unaware: each topic laid round-robin from a random "
            "broker) leaves an imbalance above 1 in rounds "
            f"{sorted(set(unbalanced))} (reassign_generate_imbalance): it does not reach the "
            "balance the minimum is counted for, so its ratio flatters it."
        )
    foreign = max(r["foreign_cpu_cores"] for r in rounds)
    if foreign > 0.25:
        found.append(
            f"Other processes used up to {foreign} cores during a rebalance (foreign_cpu_cores, "
            "2-core machine): rebalance_seconds is noisy; the move counts are not."
        )
    return found


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through local_kafka, which stops the nodes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--topics", type=int, default=20)
    parser.add_argument("--partitions", type=int, default=6, help="per topic")
    parser.add_argument("--replicas", type=int, default=3, help="replication factor")
    parser.add_argument(
        "--from-brokers", type=int, default=3, help="the topics start on brokers 0 .. this-1"
    )
    parser.add_argument("--records-per-topic", type=int, default=250, help=f"of {RECORD_BYTES} B")
    parser.add_argument("--output", type=Path, default=REPO / "bench/results/rebalance.json")
    args = parser.parse_args()
    if not args.replicas <= args.from_brokers <= BROKERS:
        parser.error(f"--from-brokers must be between --replicas and {BROKERS}")
    signal.signal(signal.SIGTERM, _terminate)

    began = time.monotonic()
    libs = _build("hack/kafka-libs.sh", KAFKA_VERSION)
    work = Path(tempfile.mkdtemp(prefix="kopfka-bench-rebalance-"))
    log4j = work / "tool-log4j2.properties"
    log4j.write_text(PRODUCER_LOG4J)
    rounds = []
    try:
        for number in range(1, args.rounds + 1):
            rounds.append(one_round(number, libs=libs, log4j=log4j, work=work, args=args))
    except BaseException:
        print(f"failed; node logs are under {work}", file=sys.stderr)
        raise
    shutil.rmtree(work)
    found = report(rounds, args, time.monotonic() - began)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(found, indent=2) + "\n")
    print(
        f"kopfka {found['moves']} moves (ratio {found['ratio']}), --generate "
        f"{found['reassign_generate_moves']} (ratio {found['reassign_generate_ratio']}), minimum "
        f"{found['minimum_moves']}; rebalance {found['rebalance_seconds']} s, imbalance after "
        f"{found['imbalance_after']}, lost {found['lost']}; total {found['total_runtime_s']} s "
        f"-> {args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
