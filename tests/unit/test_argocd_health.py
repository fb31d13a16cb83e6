"""The Argo CD health checks of manifests/argocd, run with the real lua5.1 (hack/lua.sh installs
it): on live objects the integration tier saved (tests/cases/argocd), on statuses made by kopfka's
own status functions, and on hand-made edge cases. A check never raises, whatever the object holds.
"""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kopfka.model import status
from kopfka.model.cluster import parse_cluster
from kopfka.topics import sync
from tests.support.lua import (
    CLUSTER_HEALTH,
    HEALTH_STATUSES,
    SCRIPTS,
    TOPIC_HEALTH,
    Health,
    SavedCase,
    health_of,
    lua_interpreter,
    run_health_check,
    saved_cases,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-01-01T00:00:00Z"
CASES = saved_cases()


def test_lua_is_installed() -> None:
    """Every test here needs lua5.1; this one says so first, and how to get it."""
    lua_interpreter()


def test_committed_argocd_cm_patch_is_generated_from_the_scripts() -> None:
    generator = runpy.run_path(str(REPO_ROOT / "hack" / "gen-argocd-cm.py"))
    committed = Path(generator["OUT"]).read_text()
    assert committed == generator["render"](), (
        "manifests/argocd/argocd-cm-patch.yaml is out of date: run "
        ".venv/bin/python hack/gen-argocd-cm.py"
    )


# --- live objects from the integration tier ---------------------------------------------------


def test_saved_cases_cover_every_state() -> None:
    covered = {(case.obj["kind"], case.status) for case in CASES}
    assert covered >= {
        ("KafkaCluster", "Healthy"),
        ("KafkaCluster", "Progressing"),
        ("KafkaCluster", "Degraded"),
        ("KafkaCluster", "Suspended"),
        ("KafkaTopic", "Progressing"),
        ("KafkaTopic", "Degraded"),
    }


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_saved_live_objects(case: SavedCase) -> None:
    health = health_of(case.obj)
    assert health.status == case.status, f"{case.what}: {health}"
    assert case.message_includes in health.message


# --- statuses from kopfka's own status functions ----------------------------------------------


def _cluster(
    status_: dict[str, Any] | None, *, generation: int = 3, paused: bool = False
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": "events",
        "namespace": "streaming",
        "generation": generation,
    }
    if paused:
        metadata["annotations"] = {"kopfka.dev/paused": "true"}
    obj: dict[str, Any] = {"apiVersion": "kopfka.dev/v1alpha1", "kind": "KafkaCluster"}
    obj["metadata"] = metadata
    if status_ is not None:
        obj["status"] = status_
    return obj


def _topic(status_: dict[str, Any] | None, *, generation: int = 2) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "kopfka.dev/v1alpha1",
        "kind": "KafkaTopic",
        "metadata": {"name": "orders", "namespace": "streaming", "generation": generation},
    }
    if status_ is not None:
        obj["status"] = status_
    return obj


@pytest.mark.parametrize("reason", sorted(status.RECONCILE_FAILURES))
def test_every_reconcile_failure_is_degraded(reason: str) -> None:
    failed = status.failed_status(
        reason=reason, message="what went wrong", previous={}, generation=3, now=NOW
    )
    assert health_of(_cluster(failed)) == Health("Degraded", f"{reason}: what went wrong")
    # The script knows the reason itself, not only through the Degraded condition.
    ready_only = {
        **failed,
        "conditions": [c for c in failed["conditions"] if c["type"] != "Degraded"],
    }
    assert health_of(_cluster(ready_only)) == Health("Degraded", f"{reason}: what went wrong")


SPEC = parse_cluster(
    "events", "streaming", {"brokers": {"replicas": 2}, "controllers": {"replicas": 1}}
)
HASHES = {"controller": "h-c", "broker": "h-b"}
PODS = ["events-controllers-0", "events-brokers-0", "events-brokers-1"]


def _pod(name: str, *, ready: bool = True, restart_hash: str | None = None) -> dict[str, Any]:
    current = HASHES["controller" if "controllers" in name else "broker"]
    return {
        "metadata": {
            "name": name,
            "annotations": {"kopfka.dev/restart-hash": restart_hash or current},
            "labels": {"app.kubernetes.io/version": "4.4.0"},
        },
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


@pytest.mark.parametrize(
    ("pods", "expected"),
    [
        ([_pod(name) for name in PODS], Health("Healthy", "3/3 nodes ready")),
        (
            [_pod(PODS[0]), _pod(PODS[1], ready=False)],
            Health(
                "Progressing",
                "PodsNotReady: 1/3 nodes ready; waiting for events-brokers-1, events-brokers-0",
            ),
        ),
        (
            [_pod(PODS[0]), _pod(PODS[1], restart_hash="old"), _pod(PODS[2])],
            Health(
                "Progressing",
                "RestartPending: 3/3 nodes ready; the previous configuration still runs on "
                "events-brokers-0 until they restart",
            ),
        ),
    ],
    ids=["all-ready", "pods-not-ready", "restart-pending"],
)
def test_cluster_status_from_pods(pods: list[dict[str, Any]], expected: Health) -> None:
    observed = status.cluster_status(
        SPEC,
        cluster_id="cid",
        restart_hashes=HASHES,
        pods=pods,
        previous={},
        generation=3,
        now=NOW,
    )
    assert health_of(_cluster(observed)) == expected


def test_paused_cluster_is_suspended() -> None:
    ready = status.cluster_status(
        SPEC,
        cluster_id="cid",
        restart_hashes=HASHES,
        pods=[_pod(name) for name in PODS],
        previous={},
        generation=3,
        now=NOW,
    )
    paused = status.paused_status(previous=ready, observed=ready, generation=4, now=NOW)
    # The spec changed while paused (generation 4, observed 3): still Suspended.
    health = health_of(_cluster(paused, generation=4, paused=True))
    assert health == Health(
        "Suspended",
        "reconciliation is paused by the annotation kopfka.dev/paused; "
        "last observed: AllNodesReady: 3/3 nodes ready",
    )
    # Paused before the operator ever reconciled it: no observedGeneration at all.
    first = status.paused_status(previous={}, generation=1, now=NOW)
    assert health_of(_cluster(first, generation=1, paused=True)).status == "Suspended"
    # The annotation is gone, the operator has not resumed yet.
    assert health_of(_cluster(paused, generation=3)) == Health(
        "Progressing", "waiting for the operator to resume reconciliation"
    )


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        *(
            (reason, "Degraded" if reason in sync.NEEDS_A_CHANGE else "Progressing")
            for reason in sorted(sync.TOPIC_REASONS - {"InSync", "Adopted"})
        ),
        ("SomethingNew", "Progressing"),
    ],
)
def test_topic_reasons(reason: str, expected: str) -> None:
    """Every reason kopfka sets on a KafkaTopic that is not Ready: Degraded exactly when a person
    must change something (sync.NEEDS_A_CHANGE), else Progressing."""
    reported = status.topic_status(
        ready=False, reason=reason, message="details", previous={}, generation=2, now=NOW
    )
    assert health_of(_topic(reported)) == Health(expected, f"{reason}: details")


def test_ready_topic_is_healthy() -> None:
    reported = status.topic_status(
        ready=True, reason="Created", message="12 partitions", previous={}, generation=2, now=NOW
    )
    assert health_of(_topic(reported)) == Health("Healthy", "12 partitions")


# --- hand-made edge cases ------------------------------------------------------------------------


def _ready(value: str, reason: str = "AllNodesReady", generation: int = 3) -> dict[str, Any]:
    return {
        "type": "Ready",
        "status": value,
        "reason": reason,
        "message": "msg",
        "observedGeneration": generation,
    }


EDGE_CASES: list[tuple[str, dict[str, Any], Health]] = [
    (
        "no-metadata-no-status",
        {"kind": "KafkaCluster"},
        Health("Progressing", "waiting for the operator to report a status"),
    ),
    (
        "empty-status",
        _cluster({}),
        Health("Progressing", "waiting for the operator to report a status"),
    ),
    (
        "status-without-observed-generation",
        _cluster({"clusterId": "cid"}),
        Health("Progressing", "waiting for the operator to reconcile generation 3"),
    ),
    (
        "older-generation",
        _cluster({"observedGeneration": 2, "conditions": [_ready("True")]}),
        Health(
            "Progressing",
            "waiting for the operator to reconcile generation 3 (status describes generation 2)",
        ),
    ),
    (
        "empty-conditions",
        _cluster({"observedGeneration": 3, "conditions": []}),
        Health("Progressing", "waiting for the operator to report the Ready condition"),
    ),
    (
        "conditions-not-a-list",
        _cluster({"observedGeneration": 3, "conditions": "Ready"}),
        Health("Progressing", "waiting for the operator to report the Ready condition"),
    ),
    (
        "conditions-of-odd-types",
        _cluster({"observedGeneration": 3, "conditions": ["Ready", 7, None, [], {}]}),
        Health("Progressing", "waiting for the operator to report the Ready condition"),
    ),
    (
        "metadata-not-a-map",
        {"kind": "KafkaCluster", "metadata": "events", "status": {"conditions": [_ready("True")]}},
        Health("Healthy", "msg"),
    ),
    (
        "observed-generation-a-string",
        _cluster({"observedGeneration": "3", "conditions": [_ready("True")]}),
        Health("Progressing", "waiting for the operator to reconcile generation 3"),
    ),
    (
        "ready-of-an-older-generation",
        _cluster({"observedGeneration": 3, "conditions": [_ready("True", generation=2)]}),
        Health(
            "Progressing",
            "waiting for the operator to reconcile generation 3 (status describes generation 2)",
        ),
    ),
    (
        "ready-without-generation",
        _cluster({"observedGeneration": 3, "conditions": [{"type": "Ready", "status": "True"}]}),
        Health("Healthy", ""),
    ),
    (
        "unknown-reason",
        _cluster({"observedGeneration": 3, "conditions": [_ready("False", "BrandNew")]}),
        Health("Progressing", "BrandNew: msg"),
    ),
    (
        "ready-unknown",
        _cluster({"observedGeneration": 3, "conditions": [_ready("Unknown", "Probing")]}),
        Health("Unknown", "Ready is Unknown: Probing: msg"),
    ),
    (
        "ready-without-status",
        _cluster({"observedGeneration": 3, "conditions": [{"type": "Ready"}]}),
        Health("Unknown", "Ready is unset: "),
    ),
    (
        "degraded-with-an-unknown-reason",
        _cluster(
            {
                "observedGeneration": 3,
                "conditions": [
                    _ready("False", "BrandNew"),
                    {"type": "Degraded", "status": "True", "reason": "BrandNew", "message": "m"},
                ],
            }
        ),
        Health("Degraded", "BrandNew: m"),
    ),
    (
        "pause-requested-not-reported",
        _cluster({"observedGeneration": 3, "conditions": [_ready("True")]}, paused=True),
        Health("Progressing", "waiting for the operator to pause reconciliation"),
    ),
    (
        "pause-annotation-in-capitals",
        {
            **_cluster(
                {
                    "conditions": [
                        {"type": "Reconciling", "status": "False", "reason": "Paused"},
                    ]
                }
            ),
            "metadata": {"generation": 1, "annotations": {"kopfka.dev/paused": "TrUe"}},
        },
        Health("Suspended", ""),
    ),
    (
        "pause-annotation-false",
        {
            **_cluster(
                {
                    "observedGeneration": 3,
                    "conditions": [
                        _ready("True"),
                        {"type": "Reconciling", "status": "False", "reason": "Paused"},
                    ],
                }
            ),
            "metadata": {"generation": 3, "annotations": {"kopfka.dev/paused": "false"}},
        },
        Health("Progressing", "waiting for the operator to resume reconciliation"),
    ),
    (
        "message-with-any-characters",
        _cluster(
            {
                "observedGeneration": 3,
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "False",
                        "reason": "InvalidSpec",
                        "message": 'quote " backslash \\ newline \n nul \x00 é \u2028 \\065 ]]',
                    }
                ],
            }
        ),
        Health(
            "Degraded",
            'InvalidSpec: quote " backslash \\ newline \n nul \x00 é \u2028 \\065 ]]',
        ),
    ),
]


@pytest.mark.parametrize(
    ("obj", "expected"),
    [(obj, expected) for _, obj, expected in EDGE_CASES],
    ids=[name for name, _, _ in EDGE_CASES],
)
def test_cluster_edge_cases(obj: dict[str, Any], expected: Health) -> None:
    assert run_health_check(CLUSTER_HEALTH, obj) == expected


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({}, Health("Progressing", "waiting for the operator to report a status")),
        (
            _topic({"observedGeneration": 1}),
            Health(
                "Progressing",
                "waiting for the operator to reconcile generation 2 "
                "(status describes generation 1)",
            ),
        ),
        (
            _topic({"observedGeneration": 2, "conditions": []}),
            Health("Progressing", "waiting for the operator to report the Ready condition"),
        ),
        (
            _topic({"observedGeneration": 2, "conditions": [{"type": "Ready", "status": "?"}]}),
            Health("Unknown", "Ready is ?: "),
        ),
    ],
    ids=["empty", "older-generation", "empty-conditions", "ready-odd-status"],
)
def test_topic_edge_cases(obj: dict[str, Any], expected: Health) -> None:
    assert run_health_check(TOPIC_HEALTH, obj) == expected


# Keys and values a check looks at, so that random objects reach its every branch.
_WORDS = st.sampled_from(
    [
        "metadata",
        "generation",
        "annotations",
        "kopfka.dev/paused",
        "status",
        "observedGeneration",
        "conditions",
        "type",
        "reason",
        "message",
        "Ready",
        "Degraded",
        "Reconciling",
        "True",
        "False",
        "true",
        "Paused",
        "InvalidSpec",
        "Pending",
    ]
)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _WORDS
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_WORDS, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obj=st.dictionaries(_WORDS, _JSON, max_size=4), kind=st.sampled_from(sorted(SCRIPTS)))
def test_checks_never_raise(obj: dict[str, Any], kind: str) -> None:
    assert run_health_check(SCRIPTS[kind], obj).status in HEALTH_STATUSES
