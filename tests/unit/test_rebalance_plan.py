"""The replica placement planner: where each partition's replicas go when brokers come and go.

Tables for the situations a user meets (scaling up and down, racks, a cluster already in place, a
scale-down that cannot be done), and property tests: on any cluster nothing is left on a leaving
broker, the replication factor and distinct brokers hold, replicas and leaders are balanced, racks
are respected when their sizes allow it, and the plan does not depend on input order; on small
clusters the plan is compared with an exhaustive search of every balanced placement (fewest
shared-rack pairs, then fewest moves) and of every choice of leaders (most even, then fewest
changes).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kopfka.rebalance.plan import (
    Broker,
    Kind,
    Move,
    Partition,
    Plan,
    place_replicas,
)

REPO = Path(__file__).resolve().parents[2]


def partitions(*replicas: tuple[int, ...], topic: str = "orders") -> list[Partition]:
    return [Partition(topic, index, r) for index, r in enumerate(replicas)]


def brokers(
    ids: Sequence[int], *, leaving: Sequence[int] = (), racks: dict[int, str] | None = None
) -> list[Broker]:
    racks = racks or {}
    return [Broker(i, rack=racks.get(i), leaving=i in leaving) for i in ids]


def replica_counts(plan: Plan, staying: Sequence[int]) -> list[int]:
    counts = Counter(b for p in plan.assignment for b in p.replicas)
    return [counts[b] for b in staying]


def leader_counts(plan: Plan, staying: Sequence[int]) -> list[int]:
    counts = Counter(p.replicas[0] for p in plan.assignment)
    return [counts[b] for b in staying]


def shared_rack_pairs(replicas: Sequence[int], rack_of: dict[int, str | None]) -> int:
    """Pairs of replicas in one rack; a broker without a rack is a rack of its own."""
    keys = Counter(rack_of[b] if rack_of[b] is not None else f"broker {b}" for b in replicas)
    return sum(n * (n - 1) // 2 for n in keys.values())


def moves_between(before: Sequence[Partition], after: Sequence[Partition]) -> int:
    return sum(len(set(a.replicas) - set(b.replicas)) for b, a in zip(before, after, strict=True))


def is_even(counts: Sequence[int]) -> bool:
    return max(counts) - min(counts) <= 1


# -- tables ----------------------------------------------------------------------------------


def test_scale_up_3_to_5_moves_just_what_the_new_brokers_need() -> None:
    current = partitions(*[(0, 1, 2), (1, 2, 0), (2, 0, 1)] * 3, (0, 1, 2))
    plan = place_replicas(current, brokers([0, 1, 2, 3, 4]))
    assert plan.kind is Kind.REASSIGN
    # 30 replicas over 5 brokers: 6 each, so the new brokers take 12 and nothing else moves.
    assert replica_counts(plan, [0, 1, 2, 3, 4]) == [6, 6, 6, 6, 6]
    assert plan.summary.moves == len(plan.moves) == 12
    assert {move.target for move in plan.moves} == {3, 4}
    assert leader_counts(plan, [0, 1, 2, 3, 4]) == [2, 2, 2, 2, 2]
    assert (plan.summary.imbalance_before, plan.summary.imbalance) == (10, 0)


def test_scale_down_5_to_3_moves_only_the_replicas_of_the_leaving_brokers() -> None:
    current = partitions(
        (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 0), (4, 0, 1), (0, 2, 4), (1, 3, 0), (2, 4, 1)
    )
    plan = place_replicas(current, brokers([0, 1, 2, 3, 4], leaving=[3, 4]))
    on_leaving = sum(b in (3, 4) for p in current for b in p.replicas)
    assert plan.summary.moves == on_leaving == 9
    assert {move.source for move in plan.moves} == {3, 4}
    assert replica_counts(plan, [0, 1, 2]) == [8, 8, 8]
    assert is_even(leader_counts(plan, [0, 1, 2]))
    assert [load.replicas_after for load in plan.summary.brokers if load.leaving] == [0, 0]


def test_three_zones_put_each_replica_of_a_partition_in_its_own_zone() -> None:
    zones = {0: "a", 1: "a", 2: "b", 3: "b", 4: "c", 5: "c"}
    # Balanced, but every partition has two replicas in one zone.
    current = partitions((0, 1, 2), (0, 1, 3), (1, 0, 4), (2, 3, 5), (4, 2, 5), (5, 3, 4))
    plan = place_replicas(current, brokers(range(6), racks=zones))
    assert all(shared_rack_pairs(p.replicas, {**zones}) == 0 for p in plan.assignment)
    assert replica_counts(plan, range(6)) == [3] * 6
    # One replica of each partition must move, and one each is enough.
    assert plan.summary.moves == 6


def test_fewer_zones_than_replicas_spread_each_partition_over_every_zone() -> None:
    zones = {0: "a", 1: "a", 2: "a", 3: "b", 4: "b", 5: "b"}
    current = partitions((0, 1, 2), (3, 4, 5), (0, 1, 3), (2, 4, 5))
    plan = place_replicas(current, brokers(range(6), racks=zones))
    for p in plan.assignment:
        assert sorted(Counter(zones[b] for b in p.replicas).values()) == [1, 2]
    assert replica_counts(plan, range(6)) == [2] * 6
    assert plan.summary.moves == 2  # the two partitions held in one zone move one replica each


def test_unequal_zones_keep_the_balance_and_share_zones_as_little_as_it_allows() -> None:
    zones = {0: "small", 1: "big", 2: "big", 3: "big", 4: "big", 5: "big"}
    current = partitions(*[(1, 2), (3, 4), (5, 1), (2, 3), (4, 5), (1, 3)])
    plan = place_replicas(current, brokers(range(6), racks=zones))
    assert replica_counts(plan, range(6)) == [2] * 6
    # Broker 0 takes its 2: those partitions span both zones, the other 4 cannot.
    assert sum(shared_rack_pairs(p.replicas, {**zones}) for p in plan.assignment) == 4
    assert plan.summary.moves == 2


def test_a_cluster_already_in_place_is_left_alone() -> None:
    zones = {0: "a", 1: "b", 2: "c"}
    current = partitions((0, 1, 2), (1, 2, 0), (2, 0, 1))
    plan = place_replicas(current, brokers([0, 1, 2], racks=zones))
    assert plan.kind is Kind.BALANCED
    assert (plan.reassignments, plan.moves) == ((), ())
    assert plan.assignment == tuple(current)
    assert plan.summary.moves == plan.summary.leader_changes == 0


def test_leaders_are_balanced_by_reordering_without_moving_data() -> None:
    current = partitions((0, 1, 2), (0, 2, 1), (0, 1, 2), (0, 2, 1), (0, 1, 2), (0, 2, 1))
    plan = place_replicas(current, brokers([0, 1, 2]))
    assert plan.kind is Kind.REASSIGN
    assert plan.moves == ()
    assert leader_counts(plan, [0, 1, 2]) == [2, 2, 2]
    assert plan.summary.leader_changes == 4
    assert all(set(r.current) == set(r.target) for r in plan.reassignments)
    # The replicas that are not the leader keep their order.
    for change in plan.reassignments:
        assert change.target[1:] == tuple(b for b in change.current if b != change.target[0])


def test_leaders_the_placement_cannot_balance_are_as_even_as_it_allows() -> None:
    # Broker 0 holds both single-replica partitions, so it leads both: one of the 5 brokers then
    # leads none, and the others one each (floor and ceil of 5/5 would be one each).
    current = partitions((0,), (0,), (2, 3), (1, 2), (0, 4, 2))
    plan = place_replicas(current, brokers(range(5)))
    assert replica_counts(plan, range(5)) == [2, 2, 2, 2, 1]
    loads = leader_counts(plan, range(5))
    assert loads[0] == 2
    assert sorted(loads) == [0, 1, 1, 1, 2]


def test_a_scale_down_below_the_replication_factor_is_refused_naming_the_partitions() -> None:
    current = [
        *partitions((0, 1, 2), (2, 3, 4)),
        *partitions((0, 1), topic="small"),
        *partitions((3, 4, 0), topic="audit"),
    ]
    plan = place_replicas(current, brokers(range(5), leaving=[2, 3, 4]))
    assert plan.kind is Kind.REFUSED
    assert plan.refused == ("audit-0", "orders-0", "orders-1")
    assert "3 partition(s) need more replicas than the 2 staying broker(s) can hold" in plan.message
    assert "audit-0, orders-0, orders-1" in plan.message
    assert (plan.reassignments, plan.moves) == ((), ())
    assert plan.assignment == tuple(sorted(current, key=lambda p: (p.topic, p.partition)))


def test_replicas_on_a_broker_no_longer_listed_move_like_those_on_a_leaving_one() -> None:
    plan = place_replicas(partitions((0, 7), (1, 0)), brokers([0, 1]))
    assert plan.assignment[0].replicas in {(0, 1), (1, 0)}
    assert plan.moves == (Move("orders", 0, 7, 1),)
    gone = [load for load in plan.summary.brokers if load.node_id == 7]
    assert [(g.leaving, g.replicas_before, g.replicas_after) for g in gone] == [(True, 1, 0)]


def test_a_higher_replication_factor_adds_only_the_new_replicas() -> None:
    current = partitions(*[(0, 1), (1, 2), (2, 0)] * 2)
    wanted = [Partition(p.topic, p.partition, p.replicas, factor=3) for p in current]
    plan = place_replicas(wanted, brokers([0, 1, 2]))
    assert plan.kind is Kind.REASSIGN
    assert [len(p.replicas) for p in plan.assignment] == [3] * 6
    # One new replica per partition, copied from nowhere else; the old ones stay.
    assert plan.summary.moves == len(plan.moves) == 6
    assert {move.source for move in plan.moves} == {None}
    assert all(
        set(p.replicas) <= set(a.replicas) for p, a in zip(current, plan.assignment, strict=True)
    )
    assert replica_counts(plan, [0, 1, 2]) == [6, 6, 6]
    assert plan.summary.leader_changes == 0


def test_a_lower_replication_factor_drops_replicas_and_moves_none() -> None:
    current = partitions(*[(0, 1, 2), (1, 2, 0), (2, 0, 1)] * 2)
    wanted = [Partition(p.topic, p.partition, p.replicas, factor=2) for p in current]
    plan = place_replicas(wanted, brokers([0, 1, 2]))
    assert [len(p.replicas) for p in plan.assignment] == [2] * 6
    assert plan.moves == ()
    assert plan.summary.moves == 0
    assert len(plan.reassignments) == 6
    assert replica_counts(plan, [0, 1, 2]) == [4, 4, 4]
    assert plan.summary.leader_changes == 0


def test_a_lower_replication_factor_drops_the_replica_that_shares_a_zone() -> None:
    racks = {0: "a", 1: "a", 2: "b", 3: "b"}
    current = partitions((0, 1, 2), (2, 3, 0), (1, 0, 3), (3, 2, 1))
    wanted = [Partition(p.topic, p.partition, p.replicas, factor=2) for p in current]
    plan = place_replicas(wanted, brokers([0, 1, 2, 3], racks=racks))
    assert plan.moves == ()
    for p in plan.assignment:
        assert sorted(racks[b] for b in p.replicas) == ["a", "b"], p


def test_a_lower_replication_factor_during_a_scale_down_drops_the_leaving_replicas() -> None:
    current = partitions((0, 1, 3), (1, 2, 3), (2, 0, 3))
    wanted = [Partition(p.topic, p.partition, p.replicas, factor=2) for p in current]
    plan = place_replicas(wanted, brokers([0, 1, 2, 3], leaving=[3]))
    assert plan.moves == ()
    assert [p.replicas for p in plan.assignment] == [(0, 1), (1, 2), (2, 0)]


def test_a_factor_above_the_staying_brokers_is_refused() -> None:
    current = [Partition("orders", 0, (0, 1), factor=4)]
    plan = place_replicas(current, brokers([0, 1, 2]))
    assert (plan.kind, plan.refused) == (Kind.REFUSED, ("orders-0",))


def test_no_partitions_make_a_balanced_plan() -> None:
    plan = place_replicas([], brokers([0, 1]))
    assert (plan.kind, plan.assignment, plan.summary.imbalance) == (Kind.BALANCED, (), 0)


@pytest.mark.parametrize(
    ("current", "listed"),
    [
        pytest.param(partitions((0, 1)), brokers([0, 1, 1]), id="broker listed twice"),
        pytest.param(partitions((0, 1)) * 2, brokers([0, 1]), id="partition listed twice"),
        pytest.param(partitions((0, 0)), brokers([0, 1]), id="broker twice in a partition"),
        pytest.param(partitions(()), brokers([0, 1]), id="no replica"),
    ],
)
def test_input_kafka_never_reports_is_an_error(
    current: list[Partition], listed: list[Broker]
) -> None:
    with pytest.raises(ValueError, match=r"twice|replicas"):
        place_replicas(current, listed)


def test_the_plan_is_the_same_under_different_string_hash_seeds() -> None:
    script = (
        "import json; from kopfka.rebalance.plan import Broker, Partition, place_replicas; "
        "racks = ['west', 'east', 'north']; "
        "ps = [Partition(t, i, tuple((i + k) % 6 for k in range(3))) "
        "for t in ('x', 'y', 'zz') for i in range(7)]; "
        "bs = [Broker(b, rack=racks[b % 3], leaving=b == 5) for b in range(8)]; "
        "print(json.dumps([p.replicas for p in place_replicas(ps, bs).assignment]))"
    )
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO / "operator")}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1
    assert json.loads(outputs.pop())


# -- properties on any cluster ---------------------------------------------------------------

RACK_NAMES = [None, "a", "b", "c"]


@st.composite
def clusters(
    draw: st.DrawFn, *, most_brokers: int, most_partitions: int, most_factor: int
) -> tuple[list[Partition], list[Broker]]:
    count = draw(st.integers(min_value=1, max_value=most_brokers), label="brokers")
    ids = [10 + i for i in range(count)]
    listed = [
        Broker(
            node_id,
            rack=draw(st.sampled_from(RACK_NAMES), label=f"rack of {node_id}"),
            # One broker in three leaves: enough refusals, more plans.
            leaving=draw(st.sampled_from([False, False, True]), label=f"{node_id} leaves"),
        )
        for node_id in ids
    ]
    current = []
    factors = st.integers(min_value=1, max_value=min(most_factor, count))
    for index in range(draw(st.integers(min_value=0, max_value=most_partitions), label="count")):
        factor = draw(factors)
        order = draw(st.permutations(ids), label=f"replicas of {index}")
        # One partition in three is asked for a replication factor of its own.
        wanted = draw(st.sampled_from([None, None, factors]), label=f"factor of {index}")
        current.append(
            Partition(
                draw(st.sampled_from(["a", "b"])),
                index,
                tuple(order[:factor]),
                factor=None if wanted is None else draw(wanted),
            )
        )
    return current, listed


def factor(p: Partition) -> int:
    """The replication factor a plan gives `p`."""
    return len(p.replicas) if p.factor is None else p.factor


def check_rules(current: Sequence[Partition], listed: Sequence[Broker], plan: Plan) -> None:
    """What every plan that is not refused keeps: nothing on leaving brokers, the replication
    factor on distinct brokers, balanced replicas, and the plan's own bookkeeping."""
    staying = [b.node_id for b in listed if not b.leaving]
    by_name = {p.name: p for p in current}
    before = sorted(current, key=lambda p: (p.topic, p.partition))
    assert [p.name for p in plan.assignment] == [p.name for p in before]
    for p in plan.assignment:
        assert set(p.replicas) <= set(staying)
        assert len(set(p.replicas)) == len(p.replicas) == factor(by_name[p.name])
    if plan.assignment:
        assert is_even(replica_counts(plan, staying))
    assert plan.summary.moves == len(plan.moves) == moves_between(before, plan.assignment)
    changed = [
        (a.topic, a.partition)
        for b, a in zip(before, plan.assignment, strict=True)
        if a.replicas != b.replicas
    ]
    assert [(r.topic, r.partition) for r in plan.reassignments] == changed
    assert (plan.kind is Kind.BALANCED) == (not changed)


ANY_CLUSTER = clusters(most_brokers=12, most_partitions=40, most_factor=4)


@settings(max_examples=200, deadline=None)
@given(case=ANY_CLUSTER)
def test_any_cluster_is_refused_exactly_when_a_partition_outnumbers_the_staying_brokers(
    case: tuple[list[Partition], list[Broker]],
) -> None:
    current, listed = case
    plan = place_replicas(current, listed)
    staying = sum(not b.leaving for b in listed)
    too_big = sorted((p.topic, p.partition) for p in current if factor(p) > staying)
    assert (plan.kind is Kind.REFUSED) == bool(too_big)
    assert plan.refused == tuple(f"{t}-{i}" for t, i in too_big)


@settings(max_examples=300, deadline=None)
@given(case=ANY_CLUSTER)
def test_any_plan_empties_leaving_brokers_gives_the_factors_asked_and_balances_replicas(
    case: tuple[list[Partition], list[Broker]],
) -> None:
    current, listed = case
    plan = place_replicas(current, listed)
    if plan.kind is not Kind.REFUSED:
        check_rules(current, listed, plan)
        assert plan.summary.imbalance <= 1


@settings(max_examples=150, deadline=None)
@given(case=ANY_CLUSTER, data=st.data())
def test_any_plan_is_the_same_for_its_input_in_any_order(
    case: tuple[list[Partition], list[Broker]], data: st.DataObject
) -> None:
    current, listed = case
    shuffled = data.draw(st.permutations(current), label="partitions in another order")
    others = data.draw(st.permutations(listed), label="brokers in another order")
    assert place_replicas(shuffled, others) == place_replicas(current, listed)


@settings(max_examples=150, deadline=None)
@given(case=ANY_CLUSTER)
def test_a_plan_carried_out_leaves_nothing_more_to_do(
    case: tuple[list[Partition], list[Broker]],
) -> None:
    current, listed = case
    plan = place_replicas(current, listed)
    if plan.kind is not Kind.REFUSED:
        remaining = [b for b in listed if not b.leaving]
        again = place_replicas(plan.assignment, remaining)
        assert (again.kind, again.assignment) == (Kind.BALANCED, plan.assignment)


@settings(max_examples=200, deadline=None)
@given(
    racks=st.integers(min_value=1, max_value=4),
    per_rack=st.integers(min_value=1, max_value=3),
    data=st.data(),
)
def test_racks_of_equal_size_give_every_partition_an_even_share_of_each_rack(
    racks: int, per_rack: int, data: st.DataObject
) -> None:
    """With R racks of equal size, each rack holds floor(r/R) or ceil(r/R) of every partition's r
    replicas: no two in one rack when R >= r. Brokers that leave may sit in any rack."""
    staying = [
        Broker(10 * rack + i, rack=f"zone-{rack}") for rack in range(racks) for i in range(per_rack)
    ]
    leaving = [
        Broker(100 + i, rack=f"zone-{i}", leaving=True)
        for i in range(data.draw(st.integers(min_value=0, max_value=3), label="leaving brokers"))
    ]
    ids = [b.node_id for b in staying + leaving]
    current = []
    for index in range(data.draw(st.integers(min_value=1, max_value=30), label="partitions")):
        factor = data.draw(st.integers(min_value=1, max_value=min(4, len(staying))))
        order = data.draw(st.permutations(ids), label=f"replicas of {index}")
        current.append(Partition("t", index, tuple(order[:factor])))
    plan = place_replicas(current, staying + leaving)
    check_rules(current, staying + leaving, plan)
    for p in plan.assignment:
        per_zone = Counter(b // 10 for b in p.replicas)
        shares = [per_zone[rack] for rack in range(racks)]
        assert max(shares) - min(shares) <= 1, (p, shares)


# -- exhaustive search on small clusters -------------------------------------------------------


def fewest(current: Sequence[Partition], listed: Sequence[Broker]) -> tuple[int, int]:
    """(shared-rack pairs, moves) of the best balanced placement, by trying every placement."""
    staying = [b.node_id for b in listed if not b.leaving]
    rack_of = {b.node_id: b.rack for b in listed}
    low, _ = divmod(sum(factor(p) for p in current), len(staying))
    best: tuple[int, int] | None = None
    options = [list(itertools.combinations(staying, factor(p))) for p in current]
    for choice in itertools.product(*options):
        counts = Counter(b for chosen in choice for b in chosen)
        if any(not low <= counts[b] <= low + 1 for b in staying):
            continue
        pairs = sum(shared_rack_pairs(chosen, rack_of) for chosen in choice)
        moves = sum(len(set(c) - set(p.replicas)) for c, p in zip(choice, current, strict=True))
        if best is None or (pairs, moves) < best:
            best = (pairs, moves)
    assert best is not None
    return best


def best_leaders(
    current: Sequence[Partition], placed: Sequence[Partition], staying: Sequence[int]
) -> tuple[tuple[int, int], int, int]:
    """For these replicas, by trying every choice of leaders: the least (sum of squares of the
    leader counts, leader changes), the least highest count, and the greatest lowest count."""
    best: tuple[int, int] | None = None
    highest, lowest = len(current), 0
    for leaders in itertools.product(*(p.replicas for p in placed)):
        counts = Counter(leaders)
        loads = [counts[b] for b in staying]
        changes = sum(leader != p.replicas[0] for leader, p in zip(leaders, current, strict=True))
        squares = sum(load * load for load in loads)
        if best is None or (squares, changes) < best:
            best = (squares, changes)
        highest, lowest = min(highest, max(loads)), max(lowest, min(loads))
    assert best is not None
    return best, highest, lowest


@settings(max_examples=400, deadline=None)
@given(case=clusters(most_brokers=5, most_partitions=4, most_factor=3))
def test_small_clusters_match_an_exhaustive_search_for_racks_moves_and_leaders(
    case: tuple[list[Partition], list[Broker]],
) -> None:
    current, listed = case
    plan = place_replicas(current, listed)
    if plan.kind is Kind.REFUSED or not current:
        return
    check_rules(current, listed, plan)
    rack_of = {b.node_id: b.rack for b in listed}
    ordered = sorted(current, key=lambda p: (p.topic, p.partition))
    pairs = sum(shared_rack_pairs(p.replicas, rack_of) for p in plan.assignment)
    assert (pairs, plan.summary.moves) == fewest(ordered, listed)
    staying = [b.node_id for b in listed if not b.leaving]
    (squares, changes), highest, lowest = best_leaders(ordered, plan.assignment, staying)
    loads = leader_counts(plan, staying)
    assert (sum(n * n for n in loads), plan.summary.leader_changes) == (squares, changes)
    assert (max(loads), min(loads)) == (highest, lowest)
