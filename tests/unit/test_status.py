"""Status from pods: Ready only when every node is ready and current; conditions keep their
transition times while unchanged; live-object comparison ignores what the API server adds."""

from __future__ import annotations

from typing import Any

import pytest

from kopfka.k8s.drift import contains
from kopfka.model import status
from kopfka.model.cluster import parse_cluster
from kopfka.model.conditions import Condition, merge_conditions

SPEC = parse_cluster(
    "events", "streaming", {"brokers": {"replicas": 2}, "controllers": {"replicas": 1}}
)
HASHES = {"controller": "h-c", "broker": "h-b"}


def pod(name: str, *, ready: bool = True, restart_hash: str | None = None) -> dict[str, Any]:
    role_hash = HASHES["controller" if "controllers" in name else "broker"]
    return {
        "metadata": {
            "name": name,
            "annotations": {"kopfka.dev/restart-hash": restart_hash or role_hash},
            "labels": {"app.kubernetes.io/version": "4.4.0"},
        },
        "spec": {"nodeName": "node-1"},
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


ALL = ["events-controllers-0", "events-brokers-0", "events-brokers-1"]


def compute(pods: list[dict[str, Any]], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    return status.cluster_status(
        SPEC,
        cluster_id="cid",
        restart_hashes=HASHES,
        pods=pods,
        previous=previous or {},
        generation=3,
        now="2026-01-01T00:00:00Z",
    )


def condition(result: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in result["conditions"] if c["type"] == kind)


@pytest.mark.parametrize(
    ("pods", "ready", "reconciling_reason", "message_part"),
    [
        ([pod(n) for n in ALL], "True", "Reconciled", "3/3 nodes ready"),
        ([pod(n) for n in ALL[:2]], "False", "PodsStarting", "waiting for events-brokers-1"),
        (
            [pod(ALL[0]), pod(ALL[1], ready=False), pod(ALL[2])],
            "False",
            "PodsStarting",
            "2/3 nodes ready; waiting for events-brokers-0",
        ),
        (
            # Serving, but the change is only half in effect: never Ready=True.
            [pod(ALL[0]), pod(ALL[1], restart_hash="old"), pod(ALL[2])],
            "False",
            "RestartPending",
            "3/3 nodes ready; the previous configuration still runs on events-brokers-0",
        ),
    ],
    ids=["all-ready", "pod-missing", "pod-not-ready", "pod-outdated"],
)
def test_conditions_follow_the_pods(
    pods: list[dict[str, Any]], ready: str, reconciling_reason: str, message_part: str
) -> None:
    result = compute(pods)
    assert condition(result, "Ready")["status"] == ready
    assert message_part in condition(result, "Ready")["message"]
    assert condition(result, "Reconciling")["reason"] == reconciling_reason
    assert condition(result, "Degraded")["status"] == "False"


def test_node_facts_and_rollout() -> None:
    result = compute([pod(ALL[0]), pod(ALL[1], restart_hash="old"), pod(ALL[2])])
    assert [(n["nodeId"], n["role"], n["upToDate"]) for n in result["nodes"]] == [
        (9000, "controller", True),
        (0, "broker", False),
        (1, "broker", True),
    ]
    assert result["rollout"]["pending"] == ["events-brokers-0"]
    assert result["readyBrokers"] == 2
    assert result["kafkaVersion"] == "4.4.0"
    assert result["observedGeneration"] == 3


def test_same_observation_gives_the_same_status() -> None:
    first = compute([pod(n) for n in ALL])
    again = status.cluster_status(
        SPEC,
        cluster_id="cid",
        restart_hashes=HASHES,
        pods=[pod(n) for n in ALL],
        previous=first,
        generation=3,
        now="2026-02-02T00:00:00Z",
    )
    assert again == first


def test_transition_time_changes_only_with_status() -> None:
    before = merge_conditions(
        [], [Condition("Ready", status=False, reason="A", message="a")], now="t1", generation=1
    )
    same = merge_conditions(
        before, [Condition("Ready", status=False, reason="B", message="b")], now="t2", generation=2
    )
    flipped = merge_conditions(
        same, [Condition("Ready", status=True, reason="C", message="c")], now="t3", generation=2
    )
    assert [c["lastTransitionTime"] for c in (before[0], same[0], flipped[0])] == ["t1", "t1", "t3"]


def test_failed_status_keeps_observed_facts() -> None:
    observed = compute([pod(n) for n in ALL])
    failed = status.failed_status(
        reason="InvalidSpec", message="bad", previous=observed, generation=4, now="t"
    )
    assert failed["nodes"] == observed["nodes"]
    assert condition(failed, "Ready")["reason"] == "InvalidSpec"
    assert condition(failed, "Degraded")["status"] == "True"


def test_a_reconcile_failure_of_this_generation_is_kept_over_fresh_observations() -> None:
    observed = compute([pod(n) for n in ALL])
    failed = status.failed_status(
        reason="ApplyFailed", message="refused", previous=observed, generation=4, now="t"
    )
    assert status.reconcile_failed(failed, 4)
    assert not status.reconcile_failed(failed, 5)  # a newer spec gets its own reconcile
    assert not status.reconcile_failed(observed, 4)
    fresh = compute([pod(n) for n in ALL[:2]], previous=failed)
    kept = status.with_failure_kept(fresh, failed)
    assert condition(kept, "Ready")["reason"] == "ApplyFailed"
    assert kept["nodes"] == fresh["nodes"]


def test_paused_status_observes_and_says_paused() -> None:
    observed = compute([pod(n) for n in ALL[:2]])
    paused = status.paused_status(previous=observed, generation=9, now="t")
    assert condition(paused, "Reconciling")["reason"] == "Paused"
    assert condition(paused, "Ready")["status"] == "False"
    assert paused["nodes"] == observed["nodes"]
    assert paused["observedGeneration"] == observed["observedGeneration"]


def test_failed_status_takes_only_known_reasons() -> None:
    with pytest.raises(ValueError, match="Oops"):
        status.failed_status(reason="Oops", message="m", previous={}, generation=1, now="t")


@pytest.mark.parametrize(
    ("live", "desired", "expected"),
    [
        ({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": 2}}, True),
        ({"a": 1}, {"a": 2}, False),
        ({"a": [{"x": 1, "y": 2}]}, {"a": [{"x": 1}]}, True),
        ({"a": [{"x": 1}, {"x": 2}]}, {"a": [{"x": 1}]}, False),
        ({}, {"a": None}, False),
    ],
)
def test_live_object_contains_desired(live: Any, desired: Any, expected: bool) -> None:
    assert contains(live, desired) is expected


def _with(pods: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return status.cluster_status(
        SPEC,
        cluster_id="cid",
        restart_hashes=HASHES,
        pods=pods,
        previous={},
        generation=3,
        now="2026-01-01T00:00:00Z",
        **extra,
    )


def test_the_rolls_step_is_what_reconciling_says_and_blocked_is_its_own_reason() -> None:
    outdated = [pod(ALL[0]), pod(ALL[1], restart_hash="old"), pod(ALL[2])]
    rolling = _with(
        outdated,
        roll={"pending": [ALL[1]], "step": {"kind": "Wait", "message": "waiting for b-0"}},
    )
    assert (condition(rolling, "Reconciling")["reason"], rolling["rollout"]["pending"]) == (
        "Rolling",
        [ALL[1]],
    )
    assert condition(rolling, "Reconciling")["message"] == "waiting for b-0"
    assert condition(rolling, "Ready")["reason"] == "RestartPending"
    blocked = _with(
        outdated, roll={"pending": [ALL[1]], "step": {"kind": "Blocked", "message": "m"}}
    )
    assert condition(blocked, "Reconciling")["reason"] == "RollBlocked"


def test_live_settings_on_their_way_show_in_reconciling_and_a_refusal_in_degraded() -> None:
    pods = [pod(n) for n in ALL]
    pending = _with(pods, live={"digest": "d"}, problems=[("LiveSettingsPending", "applying x")])
    assert (condition(pending, "Reconciling")["status"], pending["liveSettings"]) == (
        "True",
        {"digest": "d"},
    )
    assert condition(pending, "Reconciling")["reason"] == "LiveSettingsPending"
    assert condition(pending, "Ready")["status"] == "True"
    refused = _with(pods, problems=[("LiveSettingRefused", "Kafka refused x")])
    assert condition(refused, "Degraded")["status"] == "True"
    assert condition(refused, "Degraded")["message"] == "Kafka refused x"
    assert condition(refused, "Reconciling")["reason"] == "Reconciled"
    # A roll under way is what Reconciling says; pending live settings show once it is done.
    rolling = _with(
        [pod(ALL[0]), pod(ALL[1], restart_hash="old"), pod(ALL[2])],
        roll={"pending": [ALL[1]], "step": {"kind": "Restart", "message": "restarting"}},
        problems=[("LiveSettingsPending", "applying x")],
    )
    assert condition(rolling, "Reconciling")["reason"] == "Rolling"


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("LiveSettingRefused", "Degraded"),
        ("MetadataVersionRefused", "Degraded"),
        ("LiveSettingsPending", "Reconciling"),
        ("MetadataVersionPending", "Reconciling"),
    ],
)
def test_each_reason_of_work_inside_kafka_goes_to_its_own_condition(reason: str, kind: str) -> None:
    found = _with([pod(n) for n in ALL], problems=[(reason, "what Kafka said")])
    assert (condition(found, kind)["status"], condition(found, kind)["reason"]) == ("True", reason)
    assert condition(found, kind)["message"] == "what Kafka said"
    other = "Reconciling" if kind == "Degraded" else "Degraded"
    assert condition(found, other)["status"] == "False"
    assert condition(found, "Ready")["status"] == "True"
