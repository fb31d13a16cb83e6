"""Which changes of a KafkaCluster's conditions become Events (model/status.py condition_events):
a problem that starts, a roll or rebalance that starts or is blocked; nothing for a steady status
or for progress within the same reason."""

from __future__ import annotations

from typing import Any

import pytest

from kopfka.model.status import Said, condition_events


def cond(type_: str, status: str, reason: str, message: str = "") -> dict[str, Any]:
    return {"type": type_, "status": status, "reason": reason, "message": message or reason}


HEALTHY = [
    cond("Ready", "True", "AllNodesReady"),
    cond("Reconciling", "False", "Reconciled"),
    cond("Degraded", "False", "AsExpected"),
]
REFUSED = [
    cond("Ready", "False", "InvalidSpec", "brokers.replicas 1 is too few"),
    cond("Reconciling", "False", "InvalidSpec", "brokers.replicas 1 is too few"),
    cond("Degraded", "True", "InvalidSpec", "brokers.replicas 1 is too few"),
]
ROLLING = [
    cond("Ready", "True", "AllNodesReady"),
    cond("Reconciling", "True", "Rolling", "restarting events-brokers-0"),
    cond("Degraded", "False", "AsExpected"),
]


@pytest.mark.parametrize(
    ("before", "after", "said"),
    [
        ([], [], []),
        (HEALTHY, HEALTHY, []),
        (
            HEALTHY,
            REFUSED,
            [Said(warning=True, reason="InvalidSpec", message="brokers.replicas 1 is too few")],
        ),
        (
            [],
            REFUSED,
            [Said(warning=True, reason="InvalidSpec", message="brokers.replicas 1 is too few")],
        ),
        (REFUSED, REFUSED, []),  # every periodic reconcile of the same refusal
        (REFUSED, HEALTHY, []),
        (
            HEALTHY,
            ROLLING,
            [
                Said(
                    warning=False,
                    reason="Rolling",
                    message="rolling restart: restarting events-brokers-0",
                )
            ],
        ),
        # The next node of the same roll: progress, not news.
        (
            ROLLING,
            [
                *ROLLING[:1],
                cond("Reconciling", "True", "Rolling", "restarting events-brokers-1"),
                ROLLING[2],
            ],
            [],
        ),
        (
            ROLLING,
            [
                ROLLING[0],
                cond("Reconciling", "True", "RollBlocked", "orders-0 would lose its ISR"),
                ROLLING[2],
            ],
            [
                Said(
                    warning=True,
                    reason="RollBlocked",
                    message="rolling restart blocked: orders-0 would lose its ISR",
                )
            ],
        ),
        # Another refusal while one is reported: said too.
        (
            REFUSED,
            [
                *REFUSED[:2],
                cond("Degraded", "True", "RebalanceRefused", "brokers 3, 4 cannot be removed"),
            ],
            [
                Said(
                    warning=True,
                    reason="RebalanceRefused",
                    message="brokers 3, 4 cannot be removed",
                )
            ],
        ),
        (
            HEALTHY,
            [
                HEALTHY[0],
                cond("Reconciling", "True", "Rebalancing", "12 replica move(s)"),
                HEALTHY[2],
            ],
            [Said(warning=False, reason="Rebalancing", message="12 replica move(s)")],
        ),
        # Pods starting or a restart pending are what Ready already says.
        (HEALTHY, [HEALTHY[0], cond("Reconciling", "True", "PodsStarting"), HEALTHY[2]], []),
    ],
)
def test_events_for_condition_changes(
    before: list[dict[str, Any]], after: list[dict[str, Any]], said: list[Said]
) -> None:
    assert condition_events(before, after) == said
