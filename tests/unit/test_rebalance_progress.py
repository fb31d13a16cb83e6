"""How far a rebalance is (rebalance/progress.py): partitions at their target, in order, count as
done; the others still have to copy, onto each target broker, what their largest replica holds
beyond what that broker has."""

from __future__ import annotations

from kopfka.rebalance.progress import Progress, progress
from kopfka.rebalance.wire import Target

MOVES = [Target("orders", 0, (3, 1, 2)), Target("orders", 1, (4, 2, 0))]


def test_partitions_at_their_target_are_done_and_leave_nothing_to_copy() -> None:
    replicas = {("orders", 0): (3, 1, 2), ("orders", 1): (4, 2, 0)}
    sizes = {("orders", 0): {3: 100, 1: 100, 2: 100}, ("orders", 1): {4: 50, 2: 50, 0: 50}}
    assert progress(MOVES, replicas, sizes) == Progress(done=2, bytes_left=0)


def test_a_replica_being_added_still_has_to_copy_what_it_lacks() -> None:
    # Kafka lists the adding replica beside the old ones while it catches up.
    replicas = {("orders", 0): (0, 1, 2, 3), ("orders", 1): (4, 2, 0)}
    sizes = {("orders", 0): {0: 1000, 1: 1000, 2: 990, 3: 250}, ("orders", 1): {4: 7, 2: 7, 0: 7}}
    # Broker 3 lacks 750, broker 2 lacks 10; broker 1 is full.
    assert progress(MOVES, replicas, sizes) == Progress(done=1, bytes_left=760)


def test_the_right_brokers_in_another_order_are_not_done_yet_but_copy_nothing() -> None:
    replicas = {("orders", 0): (1, 3, 2), ("orders", 1): (4, 2, 0)}
    sizes = {("orders", 0): {1: 10, 3: 10, 2: 10}, ("orders", 1): {}}
    assert progress(MOVES, replicas, sizes) == Progress(done=1, bytes_left=0)


def test_a_partition_whose_topic_is_gone_counts_as_neither_done_nor_left() -> None:
    assert progress(MOVES, {("orders", 1): (4, 2, 0)}, {}) == Progress(done=1, bytes_left=0)
