"""The CRDs install on a real API server, and `kubectl explain` shows our field descriptions."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.kube import TestKube


def _words(text: str) -> str:
    return " ".join(text.split())


def _schema(crds: list[dict[str, Any]], kind: str, path: list[str]) -> dict[str, Any]:
    crd = next(doc for doc in crds if doc["spec"]["names"]["kind"] == kind)
    node: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for field in path:
        node = node["properties"][field]
    return node


def test_crds_are_established_with_short_names(kube: TestKube, crds: list[str]) -> None:
    assert sorted(crds) == [
        "kafkaclusters.kopfka.dev",
        "kafkatopics.kopfka.dev",
        "kafkausers.kopfka.dev",
    ]
    served = kube.kubectl("api-resources", "--api-group=kopfka.dev", "-o", "wide")
    for plural, short in (("kafkaclusters", "kc"), ("kafkatopics", "kt"), ("kafkausers", "ku")):
        assert plural in served
        assert f" {short} " in served
    # The short names work for users.
    kube.kubectl("get", "kc,kt,ku", "--all-namespaces")


KINDS = {"kafkacluster": "KafkaCluster", "kafkatopic": "KafkaTopic", "kafkauser": "KafkaUser"}


@pytest.mark.parametrize(
    "field",
    [
        "kafkacluster.spec.brokers.storage",
        "kafkacluster.spec.kafka",
        "kafkatopic.spec",
        "kafkatopic.spec.replicationFactor",
        "kafkauser.spec",
        "kafkauser.spec.quotas",
    ],
)
def test_kubectl_explain_prints_field_descriptions(
    kube: TestKube, crds: list[str], crd_documents: list[dict[str, Any]], field: str
) -> None:
    resource, *path = field.split(".")
    schema = _schema(crd_documents, KINDS[resource], path)
    explained = _words(kube.kubectl("explain", field))
    assert _words(schema["description"]) in explained
    # and every direct field of an object, with its own description
    for name, child in (schema.get("properties") or {}).items():
        assert name in explained
        assert _words(child["description"]) in explained, f"{field}.{name}"
