"""The snapshot the KafkaTopic informer keeps (handlers/topic.py keep_topic): what the operator
reads, unchanged, and the short strings that thousands of KafkaTopics repeat held once."""

from __future__ import annotations

import json
from typing import Any

from kopfka.handlers.topic import keep_topic

MESSAGE = "Kafka topic 'orders' existed already and matches the spec; adopted"


def decoded(name: str) -> dict[str, Any]:
    """A KafkaTopic as the informer gets it: its own JSON, decoded on its own."""
    body = {
        "apiVersion": "kopfka.dev/v1alpha1",
        "kind": "KafkaTopic",
        "metadata": {
            "name": name,
            "namespace": "streaming",
            "uid": f"0b6f2c1e-4f4e-4a59-9d7e-{name:0>12}",
            "resourceVersion": "31460",
            "generation": 2,
            "creationTimestamp": "2026-11-27T09:47:12Z",
            "finalizers": ["kopfka.dev/delete-topic"],
            "labels": {"team": "a"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
            "managedFields": [{"manager": "kubectl"}],
        },
        "spec": {"cluster": "events", "partitions": 3, "config": {"retention.ms": "60000"}},
        "status": {
            "conditions": [
                {"type": "Ready", "status": "True", "reason": "Adopted", "message": MESSAGE}
            ],
            "observedGeneration": 2,
            "config": {},
            "topicName": name,
        },
    }
    decoded: dict[str, Any] = json.loads(json.dumps(body))
    return decoded


def test_the_snapshot_keeps_spec_status_and_identity_and_drops_the_rest() -> None:
    body = decoded("orders")
    kept = keep_topic(body)
    assert kept["spec"] == body["spec"]
    assert kept["status"] == body["status"]
    # Identity kept; labels, annotations and managedFields (large, never read) left out.
    dropped = {"labels", "annotations", "managedFields"}
    assert kept["metadata"] == {k: v for k, v in body["metadata"].items() if k not in dropped}
    assert (kept["apiVersion"], kept["kind"]) == ("kopfka.dev/v1alpha1", "KafkaTopic")


def test_short_strings_repeated_across_kafkatopics_are_held_once() -> None:
    first, second = keep_topic(decoded("orders")), keep_topic(decoded("payments"))
    assert first["metadata"]["namespace"] is second["metadata"]["namespace"]
    assert first["spec"]["cluster"] is second["spec"]["cluster"]
    assert first["metadata"]["creationTimestamp"] is second["metadata"]["creationTimestamp"]
    condition, other = first["status"]["conditions"][0], second["status"]["conditions"][0]
    assert all(condition[key] is other[key] for key in ("type", "status", "reason"))
