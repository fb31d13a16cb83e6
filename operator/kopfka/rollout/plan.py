"""The next safe step of a rolling restart, decided purely from observed facts.

The executor (`rollout.execute`) gathers the facts (the cluster's pods, what Kafka reports, the
restart recorded in status), asks `next_step`, performs at most the one restart it names and
records it in status before it acts, so a restarted operator resumes where the last one stopped.
The rules, which docs/operations.md states for users as well:

What restarts. A node whose pod runs an outdated restart hash, or whose restart was asked for
(`kopfka.dev/roll` on the pod, or a new value of it on the KafkaCluster).

One at a time. A restart kopfka made is finished only when the new pod is ready and the node has
caught up: a broker is back in the ISR of every partition it hosts, a controller's log is within
`QUORUM_LAG_TOLERANCE` records of the quorum's high watermark. Until then nothing else restarts.

Order. Nodes that are already down (not ready) first: restarting them takes nothing away, and a pod
that crash-loops on an old configuration may need the new one to start. Otherwise, while any node is
down, nothing restarts (that would make two down). Then controllers, the active controller last,
then brokers; a combined node counts as a controller and must pass the broker check too.

Safety. A broker restarts only if every partition it is in sync for keeps at least
min.insync.replicas in-sync replicas without it. A partition whose replication factor is at most its
min.insync.replicas can never keep that through any restart, so it does not hold a roll up (as in
the reference operator; its producers with acks=all pause while the broker restarts). A controller
restarts only if the other voters that are caught up still form a majority of the quorum. Without
Kafka's view, only nodes that are down restart.

Rack by rack (`spec.rack.rollByRack`, off by default). Once the controllers are done, the brokers
due in one rack (Kafka's `broker.rack`) restart together when every partition keeps
min.insync.replicas in sync with all of them down, which holds when each partition's replicas
span the racks; the next rack waits until all of them are back and caught up. A rack that fails
that check, or a broker without a rack, restarts one broker at a time as above. Controllers always
restart one at a time: the quorum is few nodes, each quick to restart, and a whole rack of them
could be a majority.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from kopfka.kafka.facts import QuorumFacts

# Records a controller's metadata log may be behind the quorum's high watermark and still count
# as caught up (the leader appends a no-op record every 500 ms, so followers are rarely at 0).
QUORUM_LAG_TOLERANCE = 1000


class Why(StrEnum):
    """Why a node restarts, in the words Events and status use."""

    OUTDATED = "its pod runs an outdated configuration"
    POD_REQUESTED = "kopfka.dev/roll is set on its pod"
    CLUSTER_REQUESTED = "kopfka.dev/roll on the KafkaCluster asked for a roll"


@dataclass(frozen=True)
class Node:
    """One Kafka node as the pods show it."""

    node_id: int
    pod: str
    controller: bool
    broker: bool
    exists: bool = True
    uid: str | None = None
    ready: bool = True
    deleting: bool = False
    # Why it must restart, most important first; empty: it runs what the spec says.
    why: tuple[Why, ...] = ()

    @property
    def role(self) -> str:
        if self.controller and self.broker:
            return "combined node"
        return "controller" if self.controller else "broker"


@dataclass(frozen=True)
class PartitionHealth:
    topic: str
    partition: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    min_isr: int


@dataclass(frozen=True)
class KafkaHealth:
    """What Kafka reports that the safety checks need."""

    partitions: Sequence[PartitionHealth]
    quorum: QuorumFacts
    # Each broker's rack (`broker.rack`) by node id, as Kafka knows it.
    racks: Mapping[int, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Restarted:
    """A pod kopfka restarts, by the uid of the pod it replaces."""

    pod: str
    uid: str


@dataclass(frozen=True)
class InFlight:
    """The restart kopfka last started: one node, or the brokers of one rack."""

    pods: tuple[Restarted, ...]
    reason: str
    rack: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(restarted.pod for restarted in self.pods)


class Kind(StrEnum):
    IDLE = "Idle"  # nothing to restart
    RESTART = "Restart"  # restart `node` now
    WAIT = "Wait"  # a restart is settling, or a node is down: look again soon
    BLOCKED = "Blocked"  # a restart is due but not safe; `message` says what holds it


@dataclass(frozen=True)
class Step:
    kind: Kind
    message: str
    # The nodes to restart now (RESTART): one, or the brokers of one rack.
    nodes: tuple[Node, ...] = ()
    # The rack whose brokers restart together, when they do.
    rack: str | None = None
    reason: str = ""
    # The recorded restart has finished (the executor clears it from status).
    settled: bool = False
    # Pods that still have to restart (outdated or asked for).
    pending: tuple[str, ...] = field(default=())
    # The step was decided without Kafka's view, which would decide it: read Kafka and ask again.
    needs_kafka: bool = False


def next_step(
    nodes: Sequence[Node],
    health: KafkaHealth | None,
    in_flight: InFlight | None,
    *,
    by_rack: bool = False,
) -> Step:
    """The one thing to do next; `health` is None when Kafka could not be read, `by_rack` lets
    the brokers of one rack restart together."""
    pending = tuple(node.pod for node in nodes if node.why)
    settled = False
    done: tuple[str, ...] = ()
    if in_flight is not None:
        waiting = _in_flight_wait(nodes, health, in_flight)
        if waiting is not None:
            return replace(waiting, reason=in_flight.reason, pending=pending)
        settled = True
        # The nodes just restarted: whatever asked for their restart is done.
        done = in_flight.names
        pending = tuple(pod for pod in pending if pod not in done)
    due = [node for node in nodes if node.why and node.pod not in done]
    return replace(_choose(nodes, due, health, by_rack=by_rack), settled=settled, pending=pending)


def _in_flight_wait(
    nodes: Sequence[Node], health: KafkaHealth | None, in_flight: InFlight
) -> Step | None:
    """What keeps the recorded restart from being finished, or None when it is."""
    by_pod = {node.pod: node for node in nodes}
    # A node no longer in the spec (scaled away) has nothing to finish.
    recorded = [(by_pod[r.pod], r.uid) for r in in_flight.pods if r.pod in by_pod]
    undone = tuple(
        node for node, uid in recorded if node.exists and node.uid == uid and not node.deleting
    )
    if undone:
        # Recorded but not done (the operator stopped between the two): do it now.
        message = f"restarting {_pods(undone)}: {in_flight.reason}"
        return Step(Kind.RESTART, message, nodes=undone, rack=in_flight.rack)
    for node, uid in recorded:
        if not node.exists or node.uid == uid:
            return Step(Kind.WAIT, f"waiting for {node.pod} to be made again after its restart")
        if not node.ready:
            return Step(Kind.WAIT, f"waiting for the restarted {node.pod} to be ready")
    for node, _ in recorded:
        if health is None:
            return Step(
                Kind.WAIT, f"waiting to read Kafka to see {node.pod} catch up", needs_kafka=True
            )
        behind = _behind(node, health)
        if behind:
            return Step(Kind.WAIT, f"waiting for the restarted {node.pod} to catch up: {behind}")
    return None


def _behind(node: Node, health: KafkaHealth) -> str:
    """How the node is not yet caught up, or '' when it is."""
    if node.broker:
        lagging = [
            f"{p.topic}-{p.partition}"
            for p in health.partitions
            if node.node_id in p.replicas and node.node_id not in p.isr
        ]
        if lagging:
            return f"not yet in sync for {_some(lagging)}"
    if node.controller:
        lag = _quorum_lag(health.quorum, node.node_id)
        if lag is None or lag > QUORUM_LAG_TOLERANCE:
            return "its metadata log is not caught up with the quorum"
    return ""


def _quorum_lag(quorum: QuorumFacts, node_id: int) -> int | None:
    for voter in quorum.voters:
        if voter.node_id == node_id:
            return max(0, quorum.high_watermark - voter.log_end_offset)
    return None


def _choose(
    nodes: Sequence[Node], due: Sequence[Node], health: KafkaHealth | None, *, by_rack: bool
) -> Step:
    if not due:
        return Step(Kind.IDLE, "every node runs the current configuration")
    down = [node for node in due if not node.ready or not node.exists]
    restartable_down = [node for node in down if node.exists and not node.deleting]
    if restartable_down:
        node = restartable_down[0]
        return _restart(node, f"{node.pod} is not ready, so it goes first")
    others_down = [node.pod for node in nodes if not node.ready or not node.exists]
    if others_down:
        return Step(
            Kind.WAIT,
            f"waiting for {', '.join(others_down)} to be ready: no restart while a node is down",
        )
    if health is None:
        return Step(
            Kind.BLOCKED,
            f"{_some([node.pod for node in due])} must restart, but Kafka cannot be read to "
            "check that it is safe",
            needs_kafka=True,
        )
    controllers = sorted(
        (node for node in due if node.controller),
        key=lambda node: (node.node_id == health.quorum.leader_id, node.node_id),
    )
    brokers = [node for node in due if not node.controller]
    notes: list[str] = []
    if not controllers and by_rack:
        rack_step, notes = _rack_step(brokers, health)
        if rack_step is not None:
            return rack_step
    reasons = []
    for node in controllers or brokers:
        unsafe = _unsafe((node,), health)
        if not unsafe:
            return _restart(node, "; ".join(notes))
        reasons.append(f"{node.pod}: {unsafe}")
    return Step(Kind.BLOCKED, "no restart is safe yet; " + "; ".join(reasons + notes))


def _rack_step(brokers: Sequence[Node], health: KafkaHealth) -> tuple[Step | None, list[str]]:
    """The brokers of the first rack that may restart together, or why none may (notes)."""
    racks: dict[str, list[Node]] = {}
    for node in brokers:
        rack = health.racks.get(node.node_id)
        if rack is not None:
            racks.setdefault(rack, []).append(node)
    notes = []
    for rack, group in sorted(racks.items()):
        if len(group) < 2:
            continue  # one broker: the one-at-a-time path restarts it just as well
        unsafe = _unsafe(tuple(group), health)
        if not unsafe:
            reason = group[0].why[0].value
            message = f"restarting the brokers of rack {rack} together ({_pods(group)}): {reason}"
            return Step(Kind.RESTART, message, nodes=tuple(group), rack=rack, reason=reason), []
        notes.append(f"rack {rack} cannot restart at once: {unsafe}")
    return None, notes


def _restart(node: Node, note: str) -> Step:
    reason = node.why[0].value
    message = f"restarting {node.pod} ({node.role} {node.node_id}): {reason}"
    return Step(
        Kind.RESTART, f"{message}; {note}" if note else message, nodes=(node,), reason=reason
    )


def _unsafe(group: Sequence[Node], health: KafkaHealth) -> str:
    """Why restarting the group's nodes together now would break availability, or '' when it
    would not. A group with a controller is that controller alone (controllers restart one at a
    time)."""
    going = {node.node_id for node in group}
    if any(node.controller for node in group):
        voters = {voter.node_id for voter in health.quorum.voters}
        majority = len(voters) // 2 + 1
        caught_up = [
            voter
            for voter in voters - going
            if (lag := _quorum_lag(health.quorum, voter)) is not None
            and lag <= QUORUM_LAG_TOLERANCE
        ]
        if len(caught_up) < majority:
            return (
                f"only {len(caught_up)} of the other controllers are caught up, and the quorum "
                f"needs {majority} of {len(voters)}"
            )
    brokers = {node.node_id for node in group if node.broker}
    short = [
        f"{p.topic}-{p.partition} (in sync: {_ids(p.isr)}, min.insync.replicas {p.min_isr})"
        for p in health.partitions
        if brokers & set(p.isr)
        and len(p.replicas) > p.min_isr
        and len(set(p.isr) - brokers) < p.min_isr
    ]
    if short:
        it = "it" if len(group) == 1 else "they"
        return f"{it} would leave {_some(short)} below min.insync.replicas"
    return ""


def _pods(nodes: Sequence[Node]) -> str:
    return ", ".join(node.pod for node in nodes)


def _ids(ids: Sequence[int]) -> str:
    return ",".join(str(i) for i in ids)


def _some(items: Sequence[str], most: int = 3) -> str:
    shown = ", ".join(items[:most])
    return shown if len(items) <= most else f"{shown} and {len(items) - most} more"
