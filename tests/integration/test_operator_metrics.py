"""The operator's own Prometheus metrics, scraped from the running operator the way Prometheus
would: its reconciles counted with their outcome and timed, and the resources it watches counted
by their Ready status, matching what the API server holds."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

from tests.support.clusters import wait_condition, wait_ready
from tests.support.kube import TestKube, condition
from tests.support.manifests import kafka_cluster
from tests.support.waiting import wait_for

SCRAPE_TIMEOUT = 60.0
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def ready_counts(kube: TestKube, kind: str) -> dict[str, int]:
    """What the API server holds: `kind` objects by the status of their Ready condition."""
    counts = {"True": 0, "False": 0, "Unknown": 0}
    for body in kube.list("kopfka.dev/v1alpha1", kind):
        found = condition(body, "Ready")
        status = found["status"] if found else "Unknown"
        counts[status if status in counts else "Unknown"] += 1
    return counts


def matches_the_api_server(kube: TestKube, kind: str, url: str) -> Callable[[], bool]:
    def probe() -> bool:
        samples = scrape(url)
        wanted = ready_counts(kube, kind)
        return all(
            value(samples, "kopfka_resources", kind=kind, ready=ready) == count
            for ready, count in wanted.items()
        )

    return probe


def test_reconciles_are_counted_with_their_outcome_and_timed(
    kube: TestKube, metrics_url: str, namespace: str
) -> None:
    before = scrape(metrics_url)
    kube.apply(kafka_cluster("events", namespace))
    wait_ready(kube, "events", namespace)
    bad = kafka_cluster("broken", namespace)
    bad["spec"]["kafka"] = {"config": {"node.id": "1"}}
    kube.apply(bad)
    wait_condition(kube, "KafkaCluster", "broken", namespace, type="Ready", status="False")

    def total(samples: Samples, outcome: str) -> float:
        return sum(
            count
            for (name, labels), count in samples.items()
            if name == "kopfka_reconciles_total"
            and ("kind", "KafkaCluster") in labels
            and ("outcome", outcome) in labels
        )

    def changes_timed(samples: Samples) -> float:
        return value(
            samples,
            "kopfka_reconcile_duration_seconds_count",
            kind="KafkaCluster",
            trigger="change",
        ) - value(
            before, "kopfka_reconcile_duration_seconds_count", kind="KafkaCluster", trigger="change"
        )

    def counted() -> Samples | None:
        # A new cluster's first reconcile ends not ready (no pod yet); a status refresh after a
        # pod event, or a drift run, finds it ready. The change reconcile of each cluster is
        # timed once it ends, which may be after the other cluster's outcomes were counted.
        samples = scrape(metrics_url)
        grew = [
            total(samples, outcome) > total(before, outcome) for outcome in ("ready", "not_ready")
        ]
        return samples if all(grew) and changes_timed(samples) >= 2 else None

    samples = wait_for(
        counted,
        timeout=SCRAPE_TIMEOUT,
        what="both outcomes to be counted",
        describe=lambda: str(
            {k: v for k, v in scrape(metrics_url).items() if k[0] == "kopfka_reconciles_total"}
        ),
    )
    assert changes_timed(samples) >= 2
    assert value(samples, "kopfka_reconcile_duration_seconds_sum", kind="KafkaCluster",
                 trigger="change") > 0  # fmt: skip


def test_resources_by_ready_status_match_the_api_server_as_clusters_come_and_go(
    kube: TestKube, metrics_url: str, namespace: str
) -> None:
    kube.apply(kafka_cluster("events", namespace))
    wait_ready(kube, "events", namespace)
    wait_for(
        matches_the_api_server(kube, "KafkaCluster", metrics_url),
        timeout=SCRAPE_TIMEOUT,
        what="kopfka_resources to count the clusters as the API server has them",
        describe=lambda: f"{ready_counts(kube, 'KafkaCluster')} vs {scrape(metrics_url)}",
    )
    assert value(scrape(metrics_url), "kopfka_resources", kind="KafkaCluster", ready="True") >= 1
    kube.kubectl("delete", "kafkacluster", "events", "-n", namespace, "--wait=true")
    wait_for(
        matches_the_api_server(kube, "KafkaCluster", metrics_url),
        timeout=SCRAPE_TIMEOUT,
        what="kopfka_resources to drop the deleted cluster",
        describe=lambda: f"{ready_counts(kube, 'KafkaCluster')} vs {scrape(metrics_url)}",
    )
