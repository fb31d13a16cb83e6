"""Where every partition's replicas should live, decided purely from the current assignment.

A rebalance gathers the assignment Kafka reports and the brokers with their racks, asks
`place_replicas`, and hands Kafka the reassignments the plan lists. The rules, which
docs/rebalance.md states for users as well:

Leaving. No replica stays on a broker that leaves, nor on a broker the input does not list (one
that is already gone).

Balance. Every staying broker, new ones included, holds floor(T/B) or ceil(T/B) replicas, where
T counts the replicas of all partitions and B the staying brokers.

Racks. A broker without a rack is a rack of its own. The planner makes the number of pairs of
replicas of one partition that share a rack, summed over all partitions, as small as it can be
while the balance holds. So when the racks allow every partition to have each of the R racks of
the staying brokers hold floor(r/R) or ceil(r/R) of its r replicas (with R >= r: no two replicas
in one rack), that is what every partition gets; racks with equal numbers of staying brokers always
allow it. Racks of unequal sizes may not, and then balance wins and the shared pairs are fewest.

Fewest moves. A move is one replica of one partition placed on a broker that did not hold it.
Among the placements that meet the three rules above, the plan has the fewest moves, so a cluster
that meets them already gets none. This is a min-cost flow (flow.py): source -> partitions that hold
the same staying brokers, as one node (capacity: their replicas) -> each rack (the i-th replica of
one partition in one rack costs (i - 1) * W, W more than any number of moves, so that fewer shared
pairs always win) -> each broker of the rack (cost 1 unless the partitions hold it already, at most
one replica per partition) -> sink (floor(T/B) per broker, and the remainder, one per broker,
through a pool). Grouping is exact: a flow from k partitions that hold the same brokers is split
among them by dealing its units, ordered by rack, round-robin, which gives each partition distinct
brokers, its share of every rack evenly, and the same cost the flow counted.

Preferred leaders. The first replica is the preferred leader; the plan reorders replicas for it,
which moves no data. Leaders are spread over the staying brokers as evenly as the placement allows:
their counts' sum of squares is least. Then no chain of partitions can pass a leadership on to a
broker with two fewer (that would lower the sum), which makes the highest count as low, and the
lowest as high, as any choice of leaders can (the unit tests check this by exhaustive search). So
each broker leads floor(P/B) or ceil(P/B) of the P partitions whenever the placement allows that,
and it usually does. Among such choices, the fewest partitions change leader. The other replicas
keep their order; new ones follow, by id.

Replication factors. A partition keeps its replication factor unless the input asks for another
(`Partition.factor`, when a KafkaTopic's spec changes it). Then the rules above place that many
replicas: a higher factor adds replicas (each one a move, with no broker it comes from), a lower
one drops replicas, which moves nothing; which replicas stay and where new ones go follows from the
same fewest moves, so dropping prefers replicas on leaving brokers and in crowded racks.

Refusals. A partition whose replication factor (the one asked for, else its own) exceeds the number
of staying brokers cannot be placed: the plan is refused (`Kind.REFUSED`), naming every such
partition, and nothing moves.

The plan is deterministic: the same partitions and brokers, in any order, give the same plan.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import zip_longest

from kopfka.rebalance.flow import Network


@dataclass(frozen=True)
class Broker:
    """A broker of the cluster; a new one is a broker that stays and holds nothing yet."""

    node_id: int
    rack: str | None = None
    leaving: bool = False


@dataclass(frozen=True)
class Partition:
    """One partition and its replicas, the preferred leader first; `factor`, when set, is the
    replication factor it should have instead of its current one."""

    topic: str
    partition: int
    replicas: tuple[int, ...]
    factor: int | None = None

    @property
    def name(self) -> str:
        return f"{self.topic}-{self.partition}"


@dataclass(frozen=True)
class Move:
    """A replica of a partition placed on a broker that did not hold it: moved from `source`,
    or new (`source` None) when the partition's replication factor grows."""

    topic: str
    partition: int
    source: int | None
    target: int


@dataclass(frozen=True)
class Reassignment:
    """A partition whose replica list changes: new brokers, or only another order."""

    topic: str
    partition: int
    current: tuple[int, ...]
    target: tuple[int, ...]

    @property
    def added(self) -> tuple[int, ...]:
        return tuple(broker for broker in self.target if broker not in self.current)

    @property
    def removed(self) -> tuple[int, ...]:
        return tuple(broker for broker in self.current if broker not in self.target)

    @property
    def leader_changed(self) -> bool:
        return self.current[0] != self.target[0]


@dataclass(frozen=True)
class BrokerLoad:
    """How many replicas and preferred leaderships a broker holds before and after the plan."""

    node_id: int
    leaving: bool
    replicas_before: int
    replicas_after: int
    leaders_before: int
    leaders_after: int


@dataclass(frozen=True)
class Summary:
    moves: int
    leader_changes: int
    # Every broker listed, and every broker the replicas name that is not (those count as leaving).
    brokers: tuple[BrokerLoad, ...]

    @property
    def imbalance(self) -> int:
        """Most minus fewest replicas on a staying broker, after the plan."""
        return _spread(load.replicas_after for load in self.brokers if not load.leaving)

    @property
    def imbalance_before(self) -> int:
        return _spread(load.replicas_before for load in self.brokers if not load.leaving)

    @property
    def leader_imbalance(self) -> int:
        """Most minus fewest preferred leaderships on a staying broker, after the plan."""
        return _spread(load.leaders_after for load in self.brokers if not load.leaving)

    @property
    def leader_imbalance_before(self) -> int:
        return _spread(load.leaders_before for load in self.brokers if not load.leaving)


class Kind(StrEnum):
    BALANCED = "Balanced"  # every partition is in place: nothing to do
    REASSIGN = "Reassign"  # carry out `reassignments`
    REFUSED = "Refused"  # the staying brokers cannot hold `refused`; nothing moves


@dataclass(frozen=True)
class Plan:
    kind: Kind
    message: str
    # Every partition with its target replicas, by topic and partition (as they are, if refused).
    assignment: tuple[Partition, ...]
    # The partitions whose replica list changes, in the same order, and the moves they make.
    reassignments: tuple[Reassignment, ...]
    moves: tuple[Move, ...]
    summary: Summary
    # The partitions that cannot be placed (names like `orders-3`), when refused.
    refused: tuple[str, ...] = ()


def place_replicas(partitions: Iterable[Partition], brokers: Iterable[Broker]) -> Plan:
    """The placement of `partitions` on `brokers`; see the module's docstring for the rules.
    Raises ValueError for input Kafka never reports: a broker or partition listed twice, or a
    partition with no replica or with a broker twice."""
    current = sorted(partitions, key=lambda p: (p.topic, p.partition))
    listed = sorted(brokers, key=lambda b: b.node_id)
    _check(current, listed)
    staying = [broker for broker in listed if not broker.leaving]
    refused = tuple(p.name for p in current if _factor(p) > len(staying))
    if refused:
        message = (
            f"{len(refused)} partition(s) need more replicas than the {len(staying)} staying "
            f"broker(s) can hold: {_some(refused)}"
        )
        summary = _summary(current, current, listed)
        return Plan(Kind.REFUSED, message, tuple(current), (), (), summary, refused)
    if not current:
        return Plan(Kind.BALANCED, "there are no partitions", (), (), (), _summary([], [], listed))
    placed = _place(current, _racks(staying))
    leaders = _lead(current, placed, [broker.node_id for broker in staying])
    target = [
        Partition(p.topic, p.partition, _ordered(p.replicas, brokers_of, leader))
        for p, brokers_of, leader in zip(current, placed, leaders, strict=True)
    ]
    reassignments = tuple(
        Reassignment(before.topic, before.partition, before.replicas, after.replicas)
        for before, after in zip(current, target, strict=True)
        if before.replicas != after.replicas
    )
    moves = tuple(
        Move(change.topic, change.partition, source, destination)
        for change in reassignments
        for source, destination in zip_longest(change.removed, change.added)
        if destination is not None
    )
    summary = _summary(current, target, listed)
    if not reassignments:
        message = "every partition is in place"
        return Plan(Kind.BALANCED, message, tuple(target), (), (), summary)
    message = (
        f"{len(moves)} replica move(s) and {summary.leader_changes} leader change(s) in "
        f"{len(reassignments)} partition(s)"
    )
    return Plan(Kind.REASSIGN, message, tuple(target), reassignments, moves, summary)


def _factor(partition: Partition) -> int:
    """The replication factor a partition is placed with: the one asked for, else its own."""
    return len(partition.replicas) if partition.factor is None else partition.factor


def _check(partitions: Sequence[Partition], brokers: Sequence[Broker]) -> None:
    ids = [broker.node_id for broker in brokers]
    if len(set(ids)) != len(ids):
        raise ValueError(f"a broker is listed twice: {ids}")
    names = [(p.topic, p.partition) for p in partitions]
    if len(set(names)) != len(names):
        raise ValueError("a partition is listed twice")
    for p in partitions:
        if not p.replicas or len(set(p.replicas)) != len(p.replicas):
            raise ValueError(f"{p.name} has replicas {list(p.replicas)}")
        if p.factor is not None and p.factor < 1:
            raise ValueError(f"{p.name} is asked for replication factor {p.factor}")


def _racks(staying: Sequence[Broker]) -> list[tuple[int, ...]]:
    """The staying brokers by rack: named racks by name, then each broker without a rack alone."""
    named: dict[str, list[int]] = {}
    alone: list[tuple[int, ...]] = []
    for broker in staying:
        if broker.rack is None:
            alone.append((broker.node_id,))
        else:
            named.setdefault(broker.rack, []).append(broker.node_id)
    return [tuple(named[rack]) for rack in sorted(named)] + alone


def _place(partitions: Sequence[Partition], racks: Sequence[tuple[int, ...]]) -> list[list[int]]:
    """The brokers each partition goes to, by the min-cost flow the module's docstring draws."""
    network = Network()
    source, sink, pool = network.node(), network.node(), network.node()
    broker_nodes = {broker: network.node() for rack in racks for broker in rack}
    total = sum(_factor(p) for p in partitions)
    quota, remainder = divmod(total, len(broker_nodes))
    for node in broker_nodes.values():
        network.arc(node, sink, quota, 0)
        network.arc(node, pool, 1, 0)
    network.arc(pool, sink, remainder, 0)
    shared_pair = total + 1  # outweighs every possible number of moves
    groups: dict[tuple[int, frozenset[int]], list[int]] = {}
    for index, p in enumerate(partitions):
        held = frozenset(broker for broker in p.replicas if broker in broker_nodes)
        groups.setdefault((_factor(p), held), []).append(index)
    dealt: list[tuple[list[int], list[tuple[int, int]]]] = []
    for (factor, held), members in groups.items():
        group = network.node()
        network.arc(source, group, len(members) * factor, 0)
        arcs = []
        for rack in racks:
            entry = group
            if len(rack) > 1:
                entry = network.node()
                for level in range(min(factor, len(rack))):
                    network.arc(group, entry, len(members), level * shared_pair)
            for broker in rack:
                cost = 0 if broker in held else 1
                arcs.append((broker, network.arc(entry, broker_nodes[broker], len(members), cost)))
        dealt.append((members, arcs))
    placed = network.min_cost_flow(source, sink)
    if placed != total:
        raise AssertionError(f"placed {placed} of {total} replicas: the flow network is wrong")
    brokers_of: list[list[int]] = [[] for _ in partitions]
    for members, arcs in dealt:
        units = [broker for broker, arc in arcs for _ in range(network.flow(arc))]
        for position, broker in enumerate(units):
            brokers_of[members[position % len(members)]].append(broker)
    return brokers_of


def _lead(
    partitions: Sequence[Partition], placed: Sequence[Sequence[int]], staying: Sequence[int]
) -> list[int]:
    """The preferred leader of each partition. The first bounds tried, floor and ceil of an even
    share, widen until some choice of leaders fits them; any bounds that fit contain the counts of
    the most even choices, and within them the flow finds the most even with fewest changes."""
    groups: dict[tuple[tuple[int, ...], int | None], list[int]] = {}
    for index, (p, brokers_of) in enumerate(zip(partitions, placed, strict=True)):
        kept = p.replicas[0] if p.replicas[0] in brokers_of else None
        groups.setdefault((tuple(sorted(brokers_of)), kept), []).append(index)
    low, high = len(partitions) // len(staying), -(-len(partitions) // len(staying))
    widen = 1
    while True:
        leaders = _leaders_within(groups, staying, len(partitions), low, high)
        if leaders is not None:
            return leaders
        low, high, widen = max(0, low - widen), high + widen, widen * 2


def _leaders_within(
    groups: dict[tuple[tuple[int, ...], int | None], list[int]],
    staying: Sequence[int],
    count: int,
    low: int,
    high: int,
) -> list[int] | None:
    """The most even leaders with every broker leading `low` to `high` partitions, changing the
    fewest, or None if no choice fits. A broker's leaderships above `low` cost more each, which
    makes the least cost the least sum of squares."""
    network = Network()
    source, sink, pool = network.node(), network.node(), network.node()
    broker_nodes = {broker: network.node() for broker in staying}
    evenness = count + 1  # outweighs every possible number of leader changes
    for node in broker_nodes.values():
        network.arc(node, sink, low, 0)
        for step in range(1, high - low + 1):
            network.arc(node, pool, 1, step * evenness)
    network.arc(pool, sink, count - low * len(staying), 0)
    choices = []
    for (brokers_of, kept), members in groups.items():
        group = network.node()
        network.arc(source, group, len(members), 0)
        arcs = [
            (broker, network.arc(group, broker_nodes[broker], len(members), int(broker != kept)))
            for broker in brokers_of
        ]
        choices.append((members, arcs))
    if network.min_cost_flow(source, sink) < count:
        return None
    leaders = [0] * count
    for members, arcs in choices:
        chosen = [broker for broker, arc in arcs for _ in range(network.flow(arc))]
        for index, broker in zip(members, chosen, strict=True):
            leaders[index] = broker
    return leaders


def _ordered(current: Sequence[int], brokers_of: Sequence[int], leader: int) -> tuple[int, ...]:
    kept = [broker for broker in current if broker in brokers_of and broker != leader]
    added = sorted(broker for broker in brokers_of if broker not in current and broker != leader)
    return (leader, *kept, *added)


def _summary(
    before: Sequence[Partition], after: Sequence[Partition], brokers: Sequence[Broker]
) -> Summary:
    leaving = {broker.node_id: broker.leaving for broker in brokers}
    for p in before:
        for broker in p.replicas:
            leaving.setdefault(broker, True)  # not listed: already gone
    replicas_before, replicas_after = _replicas_per_broker(before), _replicas_per_broker(after)
    leaders_before = Counter(p.replicas[0] for p in before)
    leaders_after = Counter(p.replicas[0] for p in after)
    loads = tuple(
        BrokerLoad(
            node_id=broker,
            leaving=leaving[broker],
            replicas_before=replicas_before[broker],
            replicas_after=replicas_after[broker],
            leaders_before=leaders_before[broker],
            leaders_after=leaders_after[broker],
        )
        for broker in sorted(leaving)
    )
    pairs = list(zip(before, after, strict=True))
    moves = sum(len(set(new.replicas) - set(old.replicas)) for old, new in pairs)
    changes = sum(old.replicas[0] != new.replicas[0] for old, new in pairs)
    return Summary(moves=moves, leader_changes=changes, brokers=loads)


def _replicas_per_broker(partitions: Iterable[Partition]) -> Counter[int]:
    return Counter(broker for p in partitions for broker in p.replicas)


def _spread(counts: Iterable[int]) -> int:
    values = list(counts)
    return max(values) - min(values) if values else 0


def _some(items: Sequence[str], most: int = 5) -> str:
    shown = ", ".join(items[:most])
    return shown if len(items) <= most else f"{shown} and {len(items) - most} more"
