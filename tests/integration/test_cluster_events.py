"""The Events a KafkaCluster gets for people to read (kubectl describe, kubectl events), from the
real operator against the real control plane: a refused spec is said once as a Warning with the
same words as the condition, not again at every periodic reconcile, and a valid spec again says
nothing new about it."""

from __future__ import annotations

from tests.integration.test_operator_metrics import scrape
from tests.support.clusters import wait_condition, wait_ready
from tests.support.kube import Obj, TestKube, condition
from tests.support.manifests import DEDICATED, kafka_cluster
from tests.support.operator import TIER_DRIFT_INTERVAL
from tests.support.waiting import wait_for

# Periodic reconciles to wait for after the refusal: each would have repeated an Event that is
# posted per reconcile rather than per change.
DRIFT_RUNS = 3
DRIFT_TIMEOUT = 60 + 4 * DRIFT_RUNS * TIER_DRIFT_INTERVAL


def _events(kube: TestKube, namespace: str, reason: str) -> list[Obj]:
    return [
        event
        for event in kube.list("v1", "Event", namespace)
        if event["involvedObject"]["kind"] == "KafkaCluster"
        and event["involvedObject"]["name"] == "events"
        and event["reason"] == reason
    ]


def _drift_runs(url: str) -> float:
    return sum(
        count
        for (name, labels), count in scrape(url).items()
        if name == "kopfka_reconciles_total"
        and ("kind", "KafkaCluster") in labels
        and ("trigger", "drift") in labels
    )


def test_a_refused_spec_is_said_once_as_a_warning_event_with_the_conditions_words(
    kube: TestKube, metrics_url: str, namespace: str
) -> None:
    kube.apply(kafka_cluster("events", namespace, DEDICATED))
    wait_ready(kube, "events", namespace)
    assert _events(kube, namespace, "InvalidSpec") == []

    # Below the replication factor chosen at creation: the spec itself is refused.
    kube.merge_patch(
        "kopfka.dev/v1alpha1",
        "KafkaCluster",
        "events",
        namespace,
        {"spec": {"brokers": {"replicas": 1}}},
    )
    refused = wait_condition(
        kube, "KafkaCluster", "events", namespace, type="Degraded", status="True"
    )
    degraded = condition(refused, "Degraded")
    assert degraded is not None
    assert degraded["reason"] == "InvalidSpec"
    runs = _drift_runs(metrics_url)
    wait_for(
        lambda: _drift_runs(metrics_url) >= runs + DRIFT_RUNS,
        timeout=DRIFT_TIMEOUT,
        what=f"{DRIFT_RUNS} periodic reconciles of the refused spec",
    )
    said = _events(kube, namespace, "InvalidSpec")
    assert len(said) == 1, [event["message"] for event in said]
    assert said[0]["type"] == "Warning"
    assert said[0]["message"] == degraded["message"]
    assert "default.replication.factor is 3" in said[0]["message"]

    kube.merge_patch(
        "kopfka.dev/v1alpha1",
        "KafkaCluster",
        "events",
        namespace,
        {"spec": {"brokers": {"replicas": 3}}},
    )
    wait_ready(kube, "events", namespace)
    assert len(_events(kube, namespace, "InvalidSpec")) == 1
