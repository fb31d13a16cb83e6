"""The examples in manifests/examples are accepted by the model as they are, and the
kustomization lists every one. (The integration tier applies them to the API server too.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.topic import check_against_cluster, parse_topic

EXAMPLES = Path(__file__).parents[2] / "manifests" / "examples"
KUSTOMIZATION = EXAMPLES / "kustomization.yaml"
NAMESPACE = "examples"


def _files() -> list[Path]:
    return sorted(path for path in EXAMPLES.glob("*.yaml") if path != KUSTOMIZATION)


def _documents(kind: str) -> list[dict[str, Any]]:
    return [
        doc
        for path in _files()
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc["kind"] == kind
    ]


def _clusters() -> dict[str, ClusterSpec]:
    return {
        doc["metadata"]["name"]: parse_cluster(doc["metadata"]["name"], NAMESPACE, doc["spec"])
        for doc in _documents("KafkaCluster")
    }


def test_the_kustomization_lists_every_example() -> None:
    kustomization = yaml.safe_load(KUSTOMIZATION.read_text())
    assert sorted(kustomization["resources"]) == [path.name for path in _files()]


def test_there_is_a_minimal_combined_cluster_and_a_production_shaped_one() -> None:
    shapes = {
        (spec.mode, spec.broker_count, spec.rack_topology_key) for spec in _clusters().values()
    }
    assert shapes == {
        ("combined", 1, None),
        ("dedicated", 3, "topology.kubernetes.io/zone"),
    }


@pytest.mark.parametrize(
    "name", sorted(doc["metadata"]["name"] for doc in _documents("KafkaTopic"))
)
def test_each_topic_fits_the_cluster_it_names(name: str) -> None:
    doc = next(doc for doc in _documents("KafkaTopic") if doc["metadata"]["name"] == name)
    topic = parse_topic(name, doc["spec"])
    clusters = _clusters()
    assert topic.cluster in clusters, f"topic {name} names a cluster that is not an example"
    assert check_against_cluster(topic, clusters[topic.cluster]) == []


def test_every_example_has_no_namespace() -> None:
    """Users choose the namespace (kubectl -n); a namespace in the file would override it."""
    documents = [doc for path in _files() for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert [doc["metadata"].get("namespace") for doc in documents] == [None] * len(documents)
