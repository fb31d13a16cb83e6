"""The rolling-restart planner: which node restarts next, and when none may.

Tables for the rules a user relies on (order, min.insync.replicas, the quorum, resuming a recorded
restart), and a property test that plays whole rolls against a simulated cluster: every node
restarts exactly once (also when the operator stops between recording a restart and making it),
never two are down, no partition drops below min.insync.replicas, and the active controller goes
last among controllers.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kopfka.kafka.facts import QuorumFacts, QuorumMember
from kopfka.rollout.plan import (
    QUORUM_LAG_TOLERANCE,
    InFlight,
    KafkaHealth,
    Kind,
    Node,
    PartitionHealth,
    Restarted,
    Why,
    next_step,
)

OUTDATED = (Why.OUTDATED,)


def controller(node_id: int) -> Node:
    return Node(
        node_id=node_id, pod=f"c-{node_id}", controller=True, broker=False, uid=f"u{node_id}"
    )


def broker(node_id: int) -> Node:
    return Node(
        node_id=node_id, pod=f"b-{node_id}", controller=False, broker=True, uid=f"u{node_id}"
    )


def quorum(leader: int = 9000, lags: dict[int, int] | None = None) -> QuorumFacts:
    lags = lags or {}
    voters = tuple(
        QuorumMember(node_id=n, log_end_offset=5000 - lags.get(n, 0)) for n in (9000, 9001, 9002)
    )
    return QuorumFacts(
        leader_id=leader, leader_epoch=3, high_watermark=5000, voters=voters, observers=()
    )


def partition(
    replicas: tuple[int, ...], isr: tuple[int, ...] | None = None, min_isr: int = 2
) -> PartitionHealth:
    return PartitionHealth(
        topic="orders",
        partition=0,
        replicas=replicas,
        isr=replicas if isr is None else isr,
        min_isr=min_isr,
    )


def health(
    *partitions: PartitionHealth, leader: int = 9000, lags: dict[int, int] | None = None
) -> KafkaHealth:
    return KafkaHealth(partitions=partitions, quorum=quorum(leader, lags))


def cluster(**why: tuple[Why, ...]) -> list[Node]:
    """3 controllers and 3 brokers; `why` by pod name ("c_9000", "b_1") says which must restart."""
    nodes = [controller(n) for n in (9000, 9001, 9002)] + [broker(n) for n in (0, 1, 2)]
    return [replace(node, why=why.get(node.pod.replace("-", "_"), ())) for node in nodes]


def test_nothing_to_restart_is_idle_and_needs_no_kafka() -> None:
    step = next_step(cluster(), None, None)
    assert step.kind is Kind.IDLE
    assert not step.needs_kafka
    assert step.pending == ()


def test_a_ready_node_to_restart_needs_kafkas_view_first() -> None:
    step = next_step(cluster(b_1=OUTDATED), None, None)
    assert (step.kind, step.needs_kafka) == (Kind.BLOCKED, True)
    assert "b-1 must restart, but Kafka cannot be read" in step.message
    assert step.pending == ("b-1",)


def test_a_node_that_is_down_restarts_first_even_without_kafka() -> None:
    nodes = cluster(c_9001=OUTDATED, b_2=OUTDATED)
    nodes = [replace(n, ready=False) if n.pod == "b-2" else n for n in nodes]
    step = next_step(nodes, None, None)
    assert step.kind is Kind.RESTART
    assert [n.pod for n in step.nodes] == ["b-2"]
    assert "not ready, so it goes first" in step.message


def test_no_restart_while_another_node_is_down() -> None:
    nodes = cluster(b_1=OUTDATED)
    nodes = [replace(n, ready=False) if n.pod == "c-9002" else n for n in nodes]
    step = next_step(nodes, health(partition((0, 1, 2))), None)
    assert step.kind is Kind.WAIT
    assert "c-9002" in step.message
    assert "no restart while a node is down" in step.message


def test_controllers_go_before_brokers_and_the_active_controller_last() -> None:
    nodes = cluster(c_9000=OUTDATED, c_9001=OUTDATED, c_9002=OUTDATED, b_0=OUTDATED)
    step = next_step(nodes, health(partition((0, 1, 2)), leader=9001), None)
    assert step.kind is Kind.RESTART
    assert [n.pod for n in step.nodes] == ["c-9000"]
    nodes = cluster(c_9001=OUTDATED, b_0=OUTDATED)
    step = next_step(nodes, health(partition((0, 1, 2)), leader=9001), None)
    assert [n.pod for n in step.nodes] == ["c-9001"], "brokers wait for controllers"
    assert step.reason == Why.OUTDATED.value


def test_a_controller_waits_for_the_other_voters_to_catch_up() -> None:
    nodes = cluster(c_9000=OUTDATED)
    step = next_step(nodes, health(leader=9001, lags={9002: QUORUM_LAG_TOLERANCE + 1}), None)
    assert step.kind is Kind.BLOCKED
    assert "c-9000: only 1 of the other controllers are caught up" in step.message
    step = next_step(nodes, health(leader=9001, lags={9002: QUORUM_LAG_TOLERANCE}), None)
    assert step.kind is Kind.RESTART


def test_a_broker_that_would_take_a_partition_below_min_isr_is_held_and_the_partition_named() -> (
    None
):
    nodes = cluster(b_0=OUTDATED, b_1=OUTDATED)
    # b-0 is one of only two in sync (min 2): restarting it would leave one. b-1 is out of sync.
    kafka = health(partition((0, 1, 2), isr=(0, 2)))
    step = next_step(nodes, kafka, None)
    assert step.kind is Kind.RESTART
    assert [n.pod for n in step.nodes] == ["b-1"]
    nodes = cluster(b_0=OUTDATED)
    step = next_step(nodes, kafka, None)
    assert step.kind is Kind.BLOCKED
    assert "b-0: it would leave orders-0 (in sync: 0,2, min.insync.replicas 2)" in step.message


def test_a_partition_that_can_never_keep_min_isr_does_not_hold_a_roll() -> None:
    step = next_step(cluster(b_0=OUTDATED), health(partition((0,), min_isr=1)), None)
    assert step.kind is Kind.RESTART


def test_a_recorded_restart_not_yet_done_is_done_on_resume() -> None:
    nodes = cluster(b_1=OUTDATED)
    step = next_step(nodes, None, InFlight(pods=(Restarted("b-1", "u1"),), reason="r"))
    assert step.kind is Kind.RESTART
    assert [n.pod for n in step.nodes] == ["b-1"]
    assert not step.needs_kafka


def test_a_restarted_node_is_waited_for_until_ready_and_back_in_sync() -> None:
    in_flight = InFlight(pods=(Restarted("b-1", "old"),), reason="r")
    nodes = cluster(b_2=OUTDATED)
    coming = [replace(n, ready=False) if n.pod == "b-1" else n for n in nodes]
    assert next_step(coming, None, in_flight).kind is Kind.WAIT
    gone = [replace(n, exists=False, uid=None) if n.pod == "b-1" else n for n in nodes]
    assert "to be made again" in next_step(gone, None, in_flight).message
    unread = next_step(nodes, None, in_flight)
    assert (unread.kind, unread.needs_kafka) == (Kind.WAIT, True)
    behind = next_step(nodes, health(partition((0, 1, 2), isr=(0, 2))), in_flight)
    assert behind.kind is Kind.WAIT
    assert "not yet in sync for orders-0" in behind.message
    done = next_step(nodes, health(partition((0, 1, 2))), in_flight)
    assert done.settled
    assert done.kind is Kind.RESTART
    assert [n.pod for n in done.nodes] == ["b-2"]


def test_a_requested_roll_on_an_up_to_date_node_settles_with_its_restart() -> None:
    nodes = cluster(b_1=(Why.CLUSTER_REQUESTED,))
    in_flight = InFlight(pods=(Restarted("b-1", "old"),), reason=Why.CLUSTER_REQUESTED.value)
    step = next_step(nodes, health(partition((0, 1, 2))), in_flight)
    assert step.settled
    assert step.kind is Kind.IDLE
    assert step.pending == ()


def test_a_combined_node_passes_both_the_quorum_and_the_partition_checks() -> None:
    combined = [
        Node(node_id=n, pod=f"n-{n}", controller=True, broker=True, uid=f"u{n}", why=OUTDATED)
        for n in (0, 1, 2)
    ]
    kafka = KafkaHealth(
        partitions=(partition((0, 1, 2), isr=(1, 2)),),
        quorum=QuorumFacts(
            leader_id=1,
            leader_epoch=1,
            high_watermark=10,
            voters=tuple(QuorumMember(node_id=n, log_end_offset=10) for n in (0, 1, 2)),
            observers=(),
        ),
    )
    step = next_step(combined, kafka, None)
    # n-0 is out of sync (safe), and not the active controller: it goes first.
    assert step.kind is Kind.RESTART
    assert [n.pod for n in step.nodes] == ["n-0"]
    step = next_step(combined[1:], kafka, None)
    # n-2 would leave orders-0 with one in sync; n-1 is the leader and would too.
    assert step.kind is Kind.BLOCKED


@pytest.mark.parametrize("leader", [9000, 9001, 9002])
def test_a_whole_roll_of_a_healthy_cluster_restarts_each_node_once_in_order(leader: int) -> None:
    restarts = play_roll(
        cluster(**dict.fromkeys(("c_9000", "c_9001", "c_9002", "b_0", "b_1", "b_2"), OUTDATED)),
        leader=leader,
        min_isr=2,
        replicas=[(0, 1, 2)] * 3,
    )
    order = [pod for group in restarts for pod in group]
    controllers = [pod for pod in order if pod.startswith("c-")]
    assert order[:3] == controllers
    assert sorted(order) == sorted(set(order))
    assert controllers[-1] == f"c-{leader}"
    assert len(order) == 6


def play_roll(
    nodes: list[Node],
    *,
    leader: int,
    min_isr: int,
    replicas: list[tuple[int, ...]],
    crashes: frozenset[int] = frozenset(),
    racks: dict[int, str | None] | None = None,
) -> list[tuple[str, ...]]:
    """Run the planner against a simulated cluster until it is idle, and return the restarts in
    order (each the pods restarted together). A restart takes its nodes down (out of every ISR),
    the next pass finds them back, and the pass after that in sync. The simulation checks, at
    every restart, that no other node is down and no partition falls below min.insync.replicas
    (unless its replication factor cannot keep that at all). At the restarts numbered in
    `crashes`, the operator stops after recording the restart and after evicting the first half
    of its pods (none of a single one): the next pass must restart the rest of that very
    restart, and only once. `racks` (Kafka's broker.rack by node id) rolls rack by rack."""
    by_pod = {node.pod: node for node in nodes}
    isr = {index: set(r) for index, r in enumerate(replicas)}
    in_flight: InFlight | None = None
    order: list[tuple[str, ...]] = []
    down: tuple[str, ...] = ()
    crashed: tuple[str, ...] = ()

    def take_down(group: tuple[str, ...]) -> None:
        for pod in group:
            node = by_pod[pod]
            for in_sync in isr.values():
                in_sync.discard(node.node_id)
            by_pod[pod] = replace(node, ready=False, deleting=True)

    for _ in range(300):
        kafka = KafkaHealth(
            partitions=tuple(
                PartitionHealth("t", i, r, tuple(sorted(isr[i])), min_isr)
                for i, r in enumerate(replicas)
            ),
            quorum=quorum(leader=leader),
            racks=racks or {},
        )
        step = next_step(list(by_pod.values()), kafka, in_flight, by_rack=racks is not None)
        if step.settled:
            in_flight = None
        if step.kind is Kind.IDLE:
            return order
        if down:  # the restarted nodes come back, then catch up
            if not all(by_pod[pod].ready for pod in down):
                for pod in down:
                    node = by_pod[pod]
                    by_pod[pod] = replace(
                        node, ready=True, deleting=False, uid=f"{node.uid}+", why=()
                    )
            else:
                for pod in down:
                    node = by_pod[pod]
                    for index, r in enumerate(replicas):
                        if node.node_id in r:
                            isr[index].add(node.node_id)
                down = ()
            continue
        assert step.kind is Kind.RESTART, step
        group = tuple(node.pod for node in step.nodes)
        if crashed:  # resumed: the rest of the recorded restart, not another one
            assert group == crashed, (group, crashed)
            crashed = ()
            take_down(group)
            down = tuple(r.pod for r in in_flight.pods) if in_flight else group
            continue
        going = {by_pod[pod].node_id for pod in group}
        assert all(other.ready for other in by_pod.values() if other.pod not in group)
        for index, r in enumerate(replicas):
            if len(r) > min_isr and going & isr[index]:
                assert len(isr[index] - going) >= min_isr, (group, index, isr[index])
        order.append(group)
        in_flight = InFlight(
            pods=tuple(Restarted(pod, str(by_pod[pod].uid)) for pod in group),
            reason=step.reason,
            rack=step.rack,
        )
        if len(order) - 1 in crashes:
            evicted = group[: len(group) // 2]
            take_down(evicted)
            crashed = group[len(group) // 2 :]
            continue
        take_down(group)
        down = group
    raise AssertionError(f"the roll did not finish: {order}")


@settings(max_examples=150, deadline=None)
@given(
    brokers=st.integers(min_value=1, max_value=5),
    outdated=st.sets(st.integers(min_value=0, max_value=7)),
    leader=st.sampled_from([9000, 9001, 9002]),
    data=st.data(),
)
def test_any_roll_even_with_crashes_restarts_each_due_node_once_never_two_down_keeping_min_isr(
    brokers: int, outdated: set[int], leader: int, data: st.DataObject
) -> None:
    ids = list(range(brokers))
    factor = data.draw(st.integers(min_value=1, max_value=brokers), label="replication factor")
    min_isr = data.draw(st.integers(min_value=1, max_value=factor), label="min.insync.replicas")
    replicas = [
        tuple(data.draw(st.permutations(ids), label=f"replicas {i}")[:factor]) for i in range(4)
    ]
    nodes = [controller(n) for n in (9000, 9001, 9002)] + [broker(n) for n in ids]
    nodes = [replace(n, why=OUTDATED) if i in outdated else n for i, n in enumerate(nodes)]
    crashes = data.draw(st.frozensets(st.integers(min_value=0, max_value=7)), label="crashes")
    restarts = play_roll(nodes, leader=leader, min_isr=min_isr, replicas=replicas, crashes=crashes)
    assert all(len(group) == 1 for group in restarts)
    order = [group[0] for group in restarts]
    assert sorted(order) == sorted(n.pod for n in nodes if n.why)
    controllers = [pod for pod in order if pod.startswith("c-")]
    assert order[: len(controllers)] == controllers
    if f"c-{leader}" in controllers:
        assert controllers[-1] == f"c-{leader}"


def rack_cluster(per_rack: int) -> tuple[list[Node], dict[int, str | None]]:
    """3 controllers and `per_rack` outdated brokers in each of racks a, b and c."""
    brokers = [broker(n) for n in range(3 * per_rack)]
    racks: dict[int, str | None] = {b.node_id: "abc"[b.node_id % 3] for b in brokers}
    nodes = [controller(n) for n in (9000, 9001, 9002)] + brokers
    return [replace(n, why=OUTDATED) for n in nodes], racks


def test_by_rack_restarts_controllers_one_at_a_time_then_each_racks_brokers_together() -> None:
    nodes, racks = rack_cluster(per_rack=2)
    # Every partition has one replica in each rack: a whole rack down leaves two in sync.
    spread = [(0, 1, 2), (3, 4, 5), (1, 2, 3), (4, 5, 0)]
    restarts = play_roll(nodes, leader=9000, min_isr=2, replicas=spread, racks=racks)
    assert restarts == [
        ("c-9001",),
        ("c-9002",),
        ("c-9000",),
        ("b-0", "b-3"),
        ("b-1", "b-4"),
        ("b-2", "b-5"),
    ]


def test_by_rack_names_the_rack_and_its_pods_in_the_step() -> None:
    nodes, racks = rack_cluster(per_rack=2)
    brokers_only = [n for n in nodes if not n.controller]
    kafka = KafkaHealth(
        partitions=(partition((0, 1, 2)), partition((3, 4, 5))), quorum=quorum(), racks=racks
    )
    step = next_step(brokers_only, kafka, None, by_rack=True)
    assert step.kind is Kind.RESTART
    assert step.rack == "a"
    assert [n.pod for n in step.nodes] == ["b-0", "b-3"]
    assert step.message.startswith("restarting the brokers of rack a together (b-0, b-3)")


def test_a_rack_holding_two_replicas_of_a_partition_restarts_one_broker_at_a_time_saying_why() -> (
    None
):
    nodes, racks = rack_cluster(per_rack=2)
    brokers_only = [n for n in nodes if not n.controller]
    # Each rack holds two replicas of one partition (0 and 3 are in rack a, 1 and 4 in b, 2 and
    # 5 in c): with a whole rack down, that partition has one in sync.
    twice = (partition((0, 3, 1)), partition((1, 4, 2)), partition((2, 5, 0)))
    kafka = KafkaHealth(partitions=twice, quorum=quorum(), racks=racks)
    step = next_step(brokers_only, kafka, None, by_rack=True)
    assert step.kind is Kind.RESTART
    assert len(step.nodes) == 1
    assert step.rack is None
    assert "rack a cannot restart at once: they would leave orders-0" in step.message


def test_without_by_rack_brokers_in_racks_still_restart_one_at_a_time() -> None:
    nodes, racks = rack_cluster(per_rack=2)
    kafka = KafkaHealth(partitions=(partition((0, 1, 2)),), quorum=quorum(), racks=racks)
    step = next_step([n for n in nodes if not n.controller], kafka, None)
    assert [n.pod for n in step.nodes] == ["b-0"]


def test_a_rack_restart_stopped_halfway_resumes_the_rest_of_that_rack_only() -> None:
    nodes, _ = rack_cluster(per_rack=2)
    brokers_only = [n for n in nodes if not n.controller]
    recorded = InFlight(pods=(Restarted("b-0", "u0"), Restarted("b-3", "u3")), reason="r", rack="a")
    # b-0 went (it is down, its pod being made again); b-3 still runs its old pod.
    gone = [replace(n, exists=False, uid=None) if n.pod == "b-0" else n for n in brokers_only]
    step = next_step(gone, None, recorded, by_rack=True)
    assert step.kind is Kind.RESTART
    assert [n.pod for n in step.nodes] == ["b-3"]
    assert step.rack == "a"


@settings(max_examples=150, deadline=None)
@given(
    per_rack=st.integers(min_value=1, max_value=3),
    min_isr=st.integers(min_value=1, max_value=3),
    data=st.data(),
)
def test_any_rack_by_rack_roll_even_with_crashes_restarts_each_node_once_keeping_min_isr(
    per_rack: int, min_isr: int, data: st.DataObject
) -> None:
    nodes, racks = rack_cluster(per_rack=per_rack)
    ids = sorted(racks)
    # Some partitions span the racks, some may not: both must keep min.insync.replicas.
    replicas = [tuple(data.draw(st.permutations(ids), label=f"replicas {i}")[:3]) for i in range(4)]
    unracked = data.draw(st.sets(st.sampled_from(ids)), label="brokers without a rack")
    racks = {n: (None if n in unracked else rack) for n, rack in racks.items()}
    crashes = data.draw(st.frozensets(st.integers(min_value=0, max_value=8)), label="crashes")
    restarts = play_roll(
        nodes, leader=9000, min_isr=min_isr, replicas=replicas, crashes=crashes, racks=racks
    )
    order = [pod for group in restarts for pod in group]
    assert sorted(order) == sorted(n.pod for n in nodes)
    assert all(len(group) == 1 for group in restarts[:3])
    for group in restarts:
        assert len({racks.get(int(pod.split("-")[1])) for pod in group}) == 1 or len(group) == 1
