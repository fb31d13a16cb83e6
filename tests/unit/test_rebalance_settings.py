"""spec.rebalance: the wave size and replication throttle of rebalance Jobs, per KafkaCluster.

Defaults come from the schema; waveSize is bounded by the schema (refused at admission), the
throttle's positivity by the model; and no value of either restarts a node.
"""

from __future__ import annotations

from typing import Any

import pytest

from kopfka.model.cluster import ClusterSpec, Rebalance, parse_cluster
from kopfka.model.errors import SpecError
from kopfka.model.schema_dsl import QUANTITY_PATTERN
from kopfka.render import statefulset
from kopfka.render.cluster import render_cluster

DEDICATED: dict[str, Any] = {"brokers": {"replicas": 3}}
COMBINED: dict[str, Any] = {"mode": "combined", "controllers": {"replicas": 1}}
CLUSTER_ID = "q1Sh-9_ISia_zwGINzRvyQ"


def parse(spec: dict[str, Any]) -> ClusterSpec:
    return parse_cluster("events", "streaming", spec)


def with_rebalance(rebalance: Any, base: dict[str, Any] = DEDICATED) -> dict[str, Any]:
    return {**base, "rebalance": rebalance}


@pytest.mark.parametrize("base", [DEDICATED, COMBINED], ids=["dedicated", "combined"])
@pytest.mark.parametrize("rebalance", [None, {}], ids=["unset", "empty"])
def test_defaults_are_50_mib_per_second_and_10_partitions(
    base: dict[str, Any], rebalance: dict[str, Any] | None
) -> None:
    spec = parse(base if rebalance is None else with_rebalance(rebalance, base))
    assert spec.rebalance == Rebalance(throttle_bytes_per_second=50 * 2**20, wave_size=10)


@pytest.mark.parametrize(
    ("rebalance", "expected"),
    [
        ({"throttle": "50Mi"}, Rebalance(52_428_800, 10)),
        ({"throttle": "100M"}, Rebalance(100_000_000, 10)),
        ({"throttle": 10_485_760}, Rebalance(10_485_760, 10)),
        ({"throttle": "1"}, Rebalance(1, 10)),
        ({"throttle": "1.5Ki"}, Rebalance(1536, 10)),
        ({"throttle": "1e6"}, Rebalance(1_000_000, 10)),
        ({"throttle": "2Gi"}, Rebalance(2 * 2**30, 10)),
        ({"waveSize": 1}, Rebalance(52_428_800, 1)),
        ({"waveSize": 1000}, Rebalance(52_428_800, 1000)),
        ({"throttle": "10Mi", "waveSize": 50}, Rebalance(10_485_760, 50)),
    ],
    ids=[
        "mebibytes",
        "megabytes",
        "integer-bytes",
        "one-byte",
        "binary-fraction-whole",
        "exponent",
        "gibibytes",
        "wave-minimum",
        "wave-maximum",
        "both",
    ],
)
def test_valid_values(rebalance: dict[str, Any], expected: Rebalance) -> None:
    assert parse(with_rebalance(rebalance)).rebalance == expected


POSITIVE_WHOLE = "must be a positive whole number of bytes"
WHOLE_EXPONENT = "the exponent must be a whole number below 1000"


@pytest.mark.parametrize(
    ("rebalance", "problem"),
    [
        ({"throttle": "0"}, f"spec.rebalance.throttle '0' {POSITIVE_WHOLE}"),
        ({"throttle": 0}, f"spec.rebalance.throttle 0 {POSITIVE_WHOLE}"),
        ({"throttle": "0Mi"}, f"spec.rebalance.throttle '0Mi' {POSITIVE_WHOLE}"),
        ({"throttle": "-1Mi"}, f"spec.rebalance.throttle '-1Mi' {POSITIVE_WHOLE}"),
        ({"throttle": -5}, f"spec.rebalance.throttle -5 {POSITIVE_WHOLE}"),
        ({"throttle": "500m"}, f"spec.rebalance.throttle '500m' {POSITIVE_WHOLE}"),
        ({"throttle": "1.5"}, f"spec.rebalance.throttle '1.5' {POSITIVE_WHOLE}"),
        ({"throttle": "fast"}, f"spec.rebalance.throttle: should match '{QUANTITY_PATTERN}'"),
        ({"throttle": "50MiB"}, f"spec.rebalance.throttle: should match '{QUANTITY_PATTERN}'"),
        ({"throttle": "1e1000"}, f"spec.rebalance.throttle: '1e1000': {WHOLE_EXPONENT}"),
        ({"throttle": "10Ei"}, "spec.rebalance.throttle: '10Ei' is too large"),
        ({"throttle": True}, "spec.rebalance.throttle: must be an integer or a string, not true"),
        ({"waveSize": 0}, "spec.rebalance.waveSize: should be greater than or equal to 1"),
        ({"waveSize": -1}, "spec.rebalance.waveSize: should be greater than or equal to 1"),
        ({"waveSize": 1001}, "spec.rebalance.waveSize: should be less than or equal to 1000"),
        ({"waveSize": "10"}, 'spec.rebalance.waveSize: must be an integer, not "10"'),
        ({"waveSize": 2.5}, "spec.rebalance.waveSize: must be an integer, not 2.5"),
        ("fast", 'spec.rebalance: must be an object, not "fast"'),
    ],
    ids=[
        "zero-string",
        "zero-integer",
        "zero-with-suffix",
        "negative-string",
        "negative-integer",
        "fraction-of-a-byte",
        "fraction-of-bytes",
        "not-a-quantity",
        "unit-spelled-out",
        "exponent-too-large",
        "beyond-64-bits",
        "boolean",
        "wave-zero",
        "wave-negative",
        "wave-above-maximum",
        "wave-string",
        "wave-fraction",
        "section-not-an-object",
    ],
)
def test_rejected_values(rebalance: Any, problem: str) -> None:
    with pytest.raises(SpecError) as raised:
        parse(with_rebalance(rebalance))
    assert raised.value.problems == [problem]


@pytest.mark.parametrize("base", [DEDICATED, COMBINED], ids=["dedicated", "combined"])
@pytest.mark.parametrize(
    "rebalance",
    [{"throttle": "1Mi"}, {"throttle": 1}, {"waveSize": 1}, {"throttle": "1Gi", "waveSize": 1000}],
    ids=["slower", "slowest", "one-at-a-time", "fast-and-wide"],
)
def test_changing_rebalance_restarts_nothing(
    base: dict[str, Any], rebalance: dict[str, Any]
) -> None:
    before, after = parse(base), parse(with_rebalance(rebalance, base))
    assert before.rebalance != after.rebalance
    for old, new in zip(before.pools, after.pools, strict=True):
        assert statefulset.restart_hash(before, old, CLUSTER_ID) == statefulset.restart_hash(
            after, new, CLUSTER_ID
        )
    # Nothing the operator applies changes either: no write, no roll, no new config revision.
    assert render_cluster(before, CLUSTER_ID) == render_cluster(after, CLUSTER_ID)
