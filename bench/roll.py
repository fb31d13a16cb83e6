"""Benchmark: how close is kopfka's rolling restart to the fastest a safe roll can be?

A safe roll restarts one node at a time and waits for each to be back and caught up, so it can
never be faster than the sum of the nodes' single restarts. This measures both on the e2e node,
in one run, on one cluster (the e2e suite's production example fitted to the node: 3 controllers +
3 brokers, RF 3, min ISR 2), under an acks=all idempotent producer at 100 records/s:

- single restarts: each node in turn restarted alone through kopfka (`kopfka.dev/roll` on its
  pod), from the annotation until kopfka records the node back and caught up (the same
  criterion the roll waits on: ready, and in the ISR of every partition it hosts, or caught up
  with the quorum);
- the roll: a new value of `kopfka.dev/roll` on the KafkaCluster, until kopfka records every node
  restarted and caught up.

`ratio` = roll / sum of the single restarts measured just before it (goal: <= 1.2). Each round
does both; the report gives the median. Also reported: what the producer had acknowledged, and
how much of it was lost or read twice (both must be 0), and the most nodes down at once (1).

`--by-rack` (`make bench-roll-by-rack`) measures rack-by-rack rolls (`spec.rack.rollByRack`)
instead, and needs the e2e node started with three zones (`KOPFKA_E2E_ZONES="zone-a zone-b
zone-c"`, docs/e2e.md): the same
example with 6 brokers, two in each zone, so that a rack holds two brokers and each partition one
replica in every rack. Each round measures the single restarts of all 9 nodes, then a roll one
node at a time, then a roll rack by rack, side by side; the result goes into the `rack_parallel`
part of the output file (the rest of it is kept).

kopfka is installed with its chart as the e2e benchmark installs it (release `kopfka-bench`,
watching only `kopfka-bench`); everything is removed at the end, also on failure. Needs the e2e
node (`make bench-roll` brings it up).

    python -m bench.roll [--rounds 3] [--by-rack] [--output FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bench.e2e import (
    NAMESPACE,
    READY_TIMEOUT,
    _with_signals_ignored,
    git_commit,
    install,
    node_kube,
    python_command,
    teardown,
    watch_ready,
)
from bench.kafka_throughput import _terminate
from e2e.suite.kafka_client import KafkaClient
from e2e.suite.test_cluster_lifecycle import EXAMPLE, PodWatch, fit_to_node
from kopfka.model import names
from tests.support.kube import TestKube
from tests.support.waiting import wait_for

TOPIC = "bench-roll"
PARTITIONS = 6
RATIO_GOAL = 1.2
SINGLE_TIMEOUT = 300.0
ROLL_TIMEOUT = 1200.0
# Status is read this often while a restart settles: the measured times are this exact.
POLL_SECONDS = 0.25


def _rollout(kube: TestKube, name: str) -> dict[str, Any]:
    cluster = kube.must_get(names.API_VERSION, names.CLUSTER_KIND, name, NAMESPACE)
    return dict((cluster.get("status") or {}).get("rollout") or {})


def _settled(rollout: dict[str, Any]) -> bool:
    return "restarting" not in rollout and "step" not in rollout and not rollout.get("pending")


def _timed(
    kube: TestKube, name: str, ask: list[str], done: Callable[[], bool], **wait: Any
) -> float:
    """Seconds from `kubectl <ask>` until `done()`, read every POLL_SECONDS."""
    began = time.monotonic()
    kube.kubectl(*ask)
    wait_for(done, describe=lambda: str(_rollout(kube, name)), interval=POLL_SECONDS, **wait)
    return time.monotonic() - began


def single_restart(kube: TestKube, name: str, pod: str) -> float:
    """Seconds from asking kopfka to restart `pod` until it records the node caught up."""
    before = kube.must_get("v1", "Pod", pod, NAMESPACE)["metadata"]["uid"]

    def done() -> bool:
        now = kube.get("v1", "Pod", pod, NAMESPACE)
        replaced = now is not None and now["metadata"]["uid"] != before
        return replaced and _settled(_rollout(kube, name))

    ask = ["annotate", "pod", pod, "-n", NAMESPACE, f"{names.ROLL_ANNOTATION}=bench"]
    what = f"kopfka to restart {pod} and see it caught up"
    return _timed(kube, name, ask, done, timeout=SINGLE_TIMEOUT, what=what)


def whole_roll(kube: TestKube, name: str, token: str) -> float:
    """Seconds from a new `kopfka.dev/roll` value until every node is restarted and caught up."""

    def done() -> bool:
        rollout = _rollout(kube, name)
        requested = rollout.get("requested") or {}
        finished = requested.get("token") == token and requested.get("remaining") == []
        return finished and _settled(rollout)

    ask = ["annotate", "--overwrite", "kafkacluster", name, "-n", NAMESPACE]
    ask.append(f"{names.ROLL_ANNOTATION}={token}")
    return _timed(kube, name, ask, done, timeout=ROLL_TIMEOUT, what=f"the roll {token} to finish")


def _watched(kube: TestKube, name: str, measure: Callable[[], float]) -> tuple[float, int]:
    """`measure()`'s seconds, and the most of the cluster's nodes down at once meanwhile."""
    watch = PodWatch(kube, NAMESPACE, name)
    watch.start()
    try:
        return round(measure(), 2), watch.most_down
    finally:
        watch.finish()


def _by_rack(kube: TestKube, name: str, *, on: bool) -> None:
    patch = {"spec": {"rack": {"rollByRack": on}}}
    kube.kubectl(
        "patch", "kafkacluster", name, "-n", NAMESPACE, "--type=merge", "-p", json.dumps(patch)
    )


def one_round(kube: TestKube, name: str, number: int, *, by_rack: bool) -> dict[str, Any]:
    pods = sorted(
        p["metadata"]["name"]
        for p in kube.list("v1", "Pod", NAMESPACE, labels={names.CLUSTER_LABEL: name})
    )
    # In the roll's own order: controllers, then brokers.
    pods.sort(key=lambda pod: "-controllers-" not in pod)
    singles = {pod: _watched(kube, name, lambda pod=pod: single_restart(kube, name, pod))[0]
               for pod in pods}  # fmt: skip
    token = f"bench-{number}-{int(time.time())}"
    roll, most_down = _watched(kube, name, lambda: whole_roll(kube, name, token))
    total = round(sum(singles.values()), 2)
    result = {
        "single_restarts_s": singles,
        "sum_single_restarts_s": total,
        "roll_s": roll,
        "ratio": round(roll / total, 3),
        "most_nodes_down": most_down,
    }
    if by_rack:
        _by_rack(kube, name, on=True)
        try:
            rack_roll, rack_down = _watched(
                kube, name, lambda: whole_roll(kube, name, f"{token}-by-rack")
            )
        finally:
            _by_rack(kube, name, on=False)
        result |= {
            "rack_roll_s": rack_roll,
            "rack_ratio": round(rack_roll / total, 3),
            "rack_roll_vs_roll": round(rack_roll / roll, 3),
            "most_nodes_down_by_rack": rack_down,
        }
    shown = {key: value for key, value in result.items() if key != "single_restarts_s"}
    print(f"round {number}: {json.dumps(shown)}", file=sys.stderr)
    return result


def zones(kube: TestKube) -> list[str]:
    """The zones of the e2e node's nodes."""
    return sorted(
        {
            (node["metadata"].get("labels") or {}).get("topology.kubernetes.io/zone", "")
            for node in kube.list("v1", "Node", None)
        }
    )


def rack_manifest() -> dict[str, Any]:
    """The example with two brokers per zone of three: each rack two brokers, and with rack-aware
    placement every partition one replica per rack."""
    manifest = fit_to_node(yaml.safe_load(EXAMPLE.read_text()))
    manifest["spec"]["brokers"]["replicas"] = 6
    assert manifest["spec"]["rack"]["topologyKey"] == "topology.kubernetes.io/zone"
    return manifest


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--by-rack", action="store_true", help="measure rack-by-rack rolls (needs three zones)"
    )
    parser.add_argument("--output", type=Path, default=Path("bench/results/roll.json"))
    return parser.parse_args()


def main() -> int:
    args = arguments()
    signal.signal(signal.SIGTERM, _terminate)
    began = time.monotonic()
    kube = node_kube()
    if args.by_rack and len(zones(kube)) < 3:
        raise SystemExit(
            f"--by-rack needs the e2e node in three zones, it has {zones(kube)}: "
            'KOPFKA_E2E_ZONES="zone-a zone-b zone-c" make e2e-up'
        )
    manifest = rack_manifest() if args.by_rack else fit_to_node(yaml.safe_load(EXAMPLE.read_text()))
    name = manifest["metadata"]["name"]
    version = manifest["spec"]["kafka"]["version"]
    bootstrap = names.bootstrap_address(name, NAMESPACE, 9092)
    client = KafkaClient(kube, NAMESPACE, bootstrap=bootstrap)
    rounds: list[dict[str, Any]] = []
    try:
        with contextlib.ExitStack() as stack:
            teardown(kube)  # what an interrupted run left
            stack.callback(_with_signals_ignored, teardown, kube)
            install(kube)
            kube.kubectl("apply", "-n", NAMESPACE, "-f", "-", stdin=yaml.safe_dump(manifest))
            watch_ready(kube, name, timeout=READY_TIMEOUT)
            client.start(f"kopfka/kafka:{version}")
            client.create_topic(TOPIC, partitions=PARTITIONS, replicas=3, min_isr=2)
            producer = client.start_producing(TOPIC, count=10**7, value_prefix=1, throughput=100)
            try:
                rounds = [
                    one_round(kube, name, number, by_rack=args.by_rack)
                    for number in range(1, args.rounds + 1)
                ]
            finally:
                produced = producer.stop()
            values = client.consume_all(TOPIC, expected=len(produced.acked))
    finally:
        kube.close()
    counts = Counter(values)
    checked = {
        "acknowledged": len(produced.acked),
        "failed_sends": len(produced.failed),
        "lost": len(set(produced.acked) - set(counts)),
        "duplicates": sum(1 for count in counts.values() if count > 1),
    }
    command = f"{python_command()} -m bench.roll --rounds {args.rounds}"
    if args.by_rack:
        return _write_by_rack(args.output, rounds, checked, command, began)
    result: dict[str, Any] = {
        "what": __doc__.split("\n\n")[0],
        "cluster": "the e2e production example fitted to the node: 3 controllers + 3 brokers, "
        "RF 3, min ISR 2, acks=all idempotent producer at 100 records/s throughout",
        "roll_s": round(statistics.median(r["roll_s"] for r in rounds), 2),
        "sum_single_restarts_s": round(
            statistics.median(r["sum_single_restarts_s"] for r in rounds), 2
        ),
        "ratio": round(statistics.median(r["ratio"] for r in rounds), 3),
        "ratio_goal": RATIO_GOAL,
        **checked,
        "most_nodes_down": max(r["most_nodes_down"] for r in rounds),
        "rounds": rounds,
        "total_runtime_s": round(time.monotonic() - began, 1),
        "command": command,
        "git": git_commit(),
    }
    earlier = json.loads(args.output.read_text()) if args.output.is_file() else {}
    result["rack_parallel"] = earlier.get("rack_parallel") or {"skipped": "not measured yet"}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"roll {result['roll_s']} s vs sum of single restarts {result['sum_single_restarts_s']} s "
        f"(ratio {result['ratio']}, goal <= {RATIO_GOAL}); acknowledged {result['acknowledged']}, "
        f"lost {result['lost']}, duplicates {result['duplicates']} -> {args.output}"
    )
    return 0


def _write_by_rack(
    output: Path,
    rounds: list[dict[str, Any]],
    checked: dict[str, int],
    command: str,
    began: float,
) -> int:
    """The rack-by-rack figures into the `rack_parallel` part of `output`, the rest kept."""

    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in rounds), 3)

    part = {
        "cluster": "the e2e production example fitted to the node with 6 brokers, on three e2e "
        "nodes in zones a, b, c: 3 controllers + 6 brokers (two per rack), RF 3, min ISR 2, "
        "acks=all idempotent producer at 100 records/s throughout",
        "roll_s": median("roll_s"),
        "rack_roll_s": median("rack_roll_s"),
        "sum_single_restarts_s": median("sum_single_restarts_s"),
        "ratio": median("ratio"),
        "rack_ratio": median("rack_ratio"),
        "rack_roll_vs_roll": median("rack_roll_vs_roll"),
        "ratio_goal": RATIO_GOAL,
        **checked,
        "most_nodes_down": max(r["most_nodes_down"] for r in rounds),
        "most_nodes_down_by_rack": max(r["most_nodes_down_by_rack"] for r in rounds),
        "rounds": rounds,
        "total_runtime_s": round(time.monotonic() - began, 1),
        "command": f"{command} --by-rack",
        "git": git_commit(),
    }
    result = json.loads(output.read_text()) if output.is_file() else {}
    result["rack_parallel"] = part
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"rack by rack {part['rack_roll_s']} s, one at a time {part['roll_s']} s, sum of single "
        f"restarts {part['sum_single_restarts_s']} s (rack ratio {part['rack_ratio']}); "
        f"acknowledged {part['acknowledged']}, lost {part['lost']}, duplicates "
        f"{part['duplicates']} -> {output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
