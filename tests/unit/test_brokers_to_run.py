"""How many brokers the StatefulSet keeps (live/rebalance.py brokers_to_run): the spec's count,
except that the brokers a scale-down removes stay until a rebalance has drained all of them."""

from __future__ import annotations

from typing import Any

import pytest

from kopfka.live.rebalance import brokers_to_run
from kopfka.model.cluster import ClusterSpec, parse_cluster


def spec(brokers: int) -> ClusterSpec:
    return parse_cluster("events", "streaming", {"brokers": {"replicas": brokers}})


def status(**rebalance: Any) -> dict[str, Any]:
    return {"rebalance": rebalance}


@pytest.mark.parametrize(
    ("wanted", "running", "previous", "kept"),
    [
        (3, 0, {}, 3),  # a new cluster
        (3, 3, {}, 3),  # steady
        (5, 3, {}, 5),  # a scale-up goes ahead at once
        (3, 5, {}, 5),  # a scale-down waits for the drain
        (3, 5, status(leaving=[3, 4]), 5),
        (3, 5, status(drained=[4]), 5),  # one of the two is not drained yet
        (3, 5, status(drained=[3, 4]), 3),
        (4, 5, status(drained=[3, 4]), 4),  # asked for fewer to go than were drained
        (3, 5, status(drained=[5, 6]), 5),  # drained brokers of another scale-down
    ],
)
def test_the_statefulset_shrinks_only_once_every_leaving_broker_is_drained(
    wanted: int, running: int, previous: dict[str, Any], kept: int
) -> None:
    assert brokers_to_run(spec(wanted), running, previous) == kept


def test_combined_nodes_keep_the_spec_count() -> None:
    combined = parse_cluster(
        "solo", "streaming", {"mode": "combined", "controllers": {"replicas": 3}}
    )
    assert brokers_to_run(combined, 5, {}) == 3
