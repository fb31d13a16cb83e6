"""Everything a KafkaCluster needs, in the order it is applied."""

from __future__ import annotations

from typing import Any

from kopfka.model.cluster import ClusterSpec
from kopfka.render import config, policy, services, statefulset


def render_cluster(spec: ClusterSpec, cluster_id: str) -> list[dict[str, Any]]:
    """Desired objects: config and services before the StatefulSets whose pods need them."""
    objects: list[dict[str, Any]] = [policy.service_account(spec)]
    for pool in spec.pools:
        objects.append(config.config_map(spec, pool))
        objects.append(services.headless_service(spec, pool))
    objects.append(services.bootstrap_service(spec))
    for pool in spec.pools:
        objects.append(statefulset.stateful_set(spec, pool, cluster_id))
        objects.append(policy.disruption_budget(spec, pool))
    return objects


def owned_by(obj: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
    """`obj` with an owner reference to `owner`, so deleting the owner garbage-collects it."""
    reference = {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    metadata = {**obj["metadata"], "ownerReferences": [reference]}
    return {**obj, "metadata": metadata}
