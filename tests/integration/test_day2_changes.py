"""Ordinary changes to a running cluster are carried out, never stuck on an API error (issue 8).

A live StatefulSet refuses changes to most of its spec (the API server answers 422); the volume
claim templates above all. What kopfka renders there must therefore never follow the spec.
"""

from __future__ import annotations

import json

from kopfka.model.cluster import parse_cluster
from kopfka.render.cluster import owned_by, render_cluster
from tests.support.clusters import wait_ready
from tests.support.kube import Obj, TestKube, status_summary
from tests.support.manifests import DEDICATED, kafka_cluster
from tests.support.operator import OperatorProcess
from tests.support.waiting import wait_for

UPDATE_TIMEOUT = 60.0
STATEFULSETS = ("events-controllers", "events-brokers")


def _images(kube: TestKube, namespace: str) -> dict[str, str]:
    return {
        name: kube.must_get("apps/v1", "StatefulSet", name, namespace)["spec"]["template"]["spec"][
            "containers"
        ][0]["image"]
        for name in STATEFULSETS
    }


def _apply_failures(cluster: Obj | None) -> list[Obj]:
    conditions = ((cluster or {}).get("status") or {}).get("conditions") or []
    return [item for item in conditions if item.get("reason") == "ApplyFailed"]


def test_kafka_version_change_updates_the_statefulsets(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    kube.apply(kafka_cluster("events", namespace, {**DEDICATED, "kafka": {"version": "4.3.1"}}))
    wait_ready(kube, "events", namespace)
    assert set(_images(kube, namespace).values()) == {"kopfka/kafka:4.3.1"}

    kube.kubectl(
        "patch",
        "kafkacluster",
        "events",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        json.dumps({"spec": {"kafka": {"version": "4.4.0"}}}),
    )

    def updated() -> bool:
        cluster = kube.cluster("events", namespace)
        if _apply_failures(cluster):
            return False
        return set(_images(kube, namespace).values()) == {"kopfka/kafka:4.4.0"}

    wait_for(
        updated,
        timeout=UPDATE_TIMEOUT,
        what="both StatefulSets to run kopfka/kafka:4.4.0 without an ApplyFailed condition",
        describe=lambda: (
            f"images {_images(kube, namespace)}; status "
            + status_summary(kube.cluster("events", namespace))
        ),
    )
    cluster = kube.cluster("events", namespace)
    assert _apply_failures(cluster) == []
    for name in STATEFULSETS:
        statefulset = kube.must_get("apps/v1", "StatefulSet", name, namespace)
        assert statefulset["metadata"]["labels"]["app.kubernetes.io/version"] == "4.4.0"
        template = statefulset["spec"]["template"]["metadata"]["labels"]
        assert template["app.kubernetes.io/version"] == "4.4.0"
        (claim,) = statefulset["spec"]["volumeClaimTemplates"]
        assert "app.kubernetes.io/version" not in claim["metadata"]["labels"]


def test_a_statefulset_made_by_an_older_kopfka_can_still_be_changed(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    """Older kopfka put the version label on claim templates; those templates stay as they are."""
    kube.apply(
        kafka_cluster(
            "events",
            namespace,
            {**DEDICATED, "kafka": {"version": "4.3.1"}},
            annotations={"kopfka.dev/paused": "true"},
        )
    )
    cluster = kube.cluster("events", namespace)
    assert cluster is not None
    spec = parse_cluster("events", namespace, cluster["spec"])
    old = render_cluster(spec, "MkU3OEVBNTcwNTJENDM2Qg")
    brokers = next(
        obj
        for obj in old
        if obj["kind"] == "StatefulSet" and obj["metadata"]["name"] == "events-brokers"
    )
    brokers["spec"]["volumeClaimTemplates"][0]["metadata"]["labels"][
        "app.kubernetes.io/version"
    ] = "4.3.1"
    kube.apply(owned_by(brokers, cluster))
    kube.merge_patch(
        "kopfka.dev/v1alpha1",
        "KafkaCluster",
        "events",
        namespace,
        {
            "metadata": {"annotations": {"kopfka.dev/paused": None}},
            "spec": {"kafka": {"version": "4.4.0"}},
        },
    )
    wait_for(
        lambda: (
            all(kube.get("apps/v1", "StatefulSet", name, namespace) for name in STATEFULSETS)
            and _images(kube, namespace) == dict.fromkeys(STATEFULSETS, "kopfka/kafka:4.4.0")
        ),
        timeout=UPDATE_TIMEOUT,
        what="both StatefulSets to run 4.4.0",
        describe=lambda: status_summary(kube.cluster("events", namespace)),
    )
    assert _apply_failures(kube.cluster("events", namespace)) == []
    live = kube.must_get("apps/v1", "StatefulSet", "events-brokers", namespace)
    labels = live["spec"]["volumeClaimTemplates"][0]["metadata"]["labels"]
    assert labels["app.kubernetes.io/version"] == "4.3.1"
