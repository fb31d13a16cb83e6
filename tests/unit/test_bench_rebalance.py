"""The counting of the rebalance benchmark (bench/rebalance.py): its minimum number of moves
against an exhaustive search over every balanced placement of small clusters, and how it reads
Kafka's --generate output."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

import pytest

from bench.rebalance import (
    initial_assignment,
    minimum_moves,
    moves_between,
    parse_generate,
    replicas_per_broker,
)

Layout = tuple[frozenset[int], ...]


def fewest_moves_by_search(current: Layout, brokers: int) -> int:
    """Every placement of the partitions (same factor, distinct brokers) whose counts are
    balanced, and the fewest replicas any of them puts on a broker that did not hold them."""
    total = sum(len(replicas) for replicas in current)
    floor, ceil = total // brokers, -(-total // brokers)
    best = total
    choices = [
        [frozenset(c) for c in itertools.combinations(range(brokers), len(replicas))]
        for replicas in current
    ]
    for placement in itertools.product(*choices):
        counts = [sum(broker in replicas for replicas in placement) for broker in range(brokers)]
        if min(counts) >= floor and max(counts) <= ceil:
            moves = sum(len(new - old) for old, new in zip(current, placement, strict=True))
            best = min(best, moves)
    return best


def random_layouts(seed: int, count: int) -> list[tuple[Layout, int]]:
    rng = random.Random(seed)
    found = []
    for _ in range(count):
        brokers = rng.randint(2, 5)
        factor = rng.randint(1, min(3, brokers))
        partitions = rng.randint(1, 4 if brokers <= 4 else 3)
        # Sometimes only a prefix of the brokers holds anything: brokers just added.
        held = rng.randint(factor, brokers)
        layout = tuple(frozenset(rng.sample(range(held), factor)) for _ in range(partitions))
        found.append((layout, brokers))
    return found


def counts_of(layout: Layout, brokers: int) -> list[int]:
    return [sum(broker in replicas for replicas in layout) for broker in range(brokers)]


@pytest.mark.parametrize(("layout", "brokers"), random_layouts(seed=13, count=150))
def test_minimum_moves_is_what_an_exhaustive_search_finds(layout: Layout, brokers: int) -> None:
    assert minimum_moves(counts_of(layout, brokers)) == fewest_moves_by_search(layout, brokers)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([], 0),
        ([4, 4, 4], 0),
        ([5, 4, 3], 1),  # ceil 4: one replica above it; floor 4: one missing below it
        ([5, 5, 2], 2),  # 12 on 3: 4 each, the last broker needs two
        ([120, 120, 120, 0, 0], 144),  # the benchmark's default: 3 brokers -> 5, 360 replicas
        ([90, 90, 90, 90, 0], 72),  # its planning-only case: 4 brokers -> 5
        ([3, 3, 0], 2),  # 6 on 3: 2 each
        ([3, 3, 1, 0], 2),  # 7 on 4: three hold 2, one holds 1
        ([2, 2, 2, 0], 1),  # 6 on 4: two may keep 2, so only one of three moves
    ],
)
def test_minimum_moves_of_known_counts(counts: Sequence[int], expected: int) -> None:
    assert minimum_moves(counts) == expected


def test_initial_assignment_uses_only_the_first_brokers_evenly() -> None:
    assignment = initial_assignment(["a", "b"], partitions=6, replicas=3, brokers=4)

    assert len(assignment) == 12
    assert all(len(set(replicas)) == 3 for replicas in assignment.values())
    assert replicas_per_broker(assignment, range(5)) == [9, 9, 9, 9, 0]
    leaders = [replicas[0] for replicas in assignment.values()]
    assert sorted(set(leaders)) == [0, 1, 2, 3]


def test_moves_between_counts_new_brokers_only() -> None:
    current = {("t", 0): (0, 1, 2), ("t", 1): (1, 2, 0)}
    proposed = {("t", 0): (2, 0, 1), ("t", 1): (3, 4, 0)}

    assert moves_between(current, proposed) == 2


GENERATE_OUTPUT = """\
Current partition replica assignment
{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[0,1,2],"log_dirs":["any","any","any"]}]}

Proposed partition reassignment configuration
{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[3,4,0],"log_dirs":["any","any","any"]}]}
"""


def test_parse_generate_reads_current_then_proposed() -> None:
    current, proposed = parse_generate(GENERATE_OUTPUT)

    assert current == {("t", 0): (0, 1, 2)}
    assert proposed == {("t", 0): (3, 4, 0)}


def test_parse_generate_refuses_output_without_both_assignments() -> None:
    with pytest.raises(ValueError, match="two JSON assignments"):
        parse_generate("Current partition replica assignment\n")
