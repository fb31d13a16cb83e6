"""KafkaCluster and KafkaTopic manifests as users write them."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from tests.support.kube import GROUP_VERSION, Obj

# The sizes the integration tier and the benchmark use: small volumes, the production shape.
DEDICATED: dict[str, Any] = {
    "controllers": {"replicas": 3, "storage": {"type": "persistent-claim", "size": "1Gi"}},
    "brokers": {"replicas": 3, "storage": {"type": "persistent-claim", "size": "1Gi"}},
}
# The laptop shape: one node that is controller and broker, data in an emptyDir.
COMBINED_EPHEMERAL: dict[str, Any] = {
    "mode": "combined",
    "controllers": {"replicas": 1, "storage": {"type": "ephemeral"}},
}


def one_controller(version: str, brokers: int, node: Mapping[str, Any]) -> dict[str, Any]:
    """A dedicated cluster's spec with a single controller, which leaves one e2e node room for up
    to five brokers; `node` sizes every node (resources, heap, storage)."""
    return {
        "kafka": {"version": version},
        "controllers": {"replicas": 1, **node},
        "brokers": {"replicas": brokers, **node},
    }


def kafka_cluster(
    name: str,
    namespace: str,
    spec: Mapping[str, Any] = DEDICATED,
    *,
    annotations: Mapping[str, str] | None = None,
) -> Obj:
    metadata: Obj = {"name": name, "namespace": namespace}
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "KafkaCluster",
        "metadata": metadata,
        "spec": copy.deepcopy(dict(spec)),
    }


def kafka_topic(name: str, namespace: str, spec: Mapping[str, Any]) -> Obj:
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "KafkaTopic",
        "metadata": {"name": name, "namespace": namespace},
        "spec": copy.deepcopy(dict(spec)),
    }


def kafka_user(name: str, namespace: str, spec: Mapping[str, Any]) -> Obj:
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "KafkaUser",
        "metadata": {"name": name, "namespace": namespace},
        "spec": copy.deepcopy(dict(spec)),
    }
