"""Everything a KafkaCluster needs, in the order it is applied, and who owns each object."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kopfka.certs.kept import Certificates, fingerprints
from kopfka.model import names
from kopfka.model.cluster import ClusterSpec
from kopfka.model.names import Role
from kopfka.render import config, metrics, network_policy, policy, services, statefulset, tls
from kopfka.render.network_policy import OperatorPods


def render_cluster(
    spec: ClusterSpec,
    cluster_id: str,
    *,
    certificates: Certificates | None = None,
    operator: OperatorPods | None = None,
) -> list[dict[str, Any]]:
    """Desired objects: Secrets, the NetworkPolicy, config and services before the StatefulSets
    whose pods need them. A cluster with a TLS listener needs its `certificates`: it is never
    rendered without. `operator`: the operator's own pods, which the NetworkPolicy lets in
    (render/network_policy.py)."""
    objects: list[dict[str, Any]] = []
    if spec.needs_certificates:
        if certificates is None:
            raise ValueError("a cluster with TLS listeners needs its certificates")
        objects.extend(tls.secrets(spec, certificates))
    objects.append(policy.service_account(spec))
    # Before the pods: a pod is never up without its policy.
    ingress = network_policy.network_policy(spec, operator=operator)
    if ingress is not None:
        objects.append(ingress)
    objects.append(metrics.config_map(spec))
    for pool in spec.pools:
        objects.append(config.config_map(spec, pool))
        objects.append(services.headless_service(spec, pool))
    objects.append(services.bootstrap_service(spec))
    for pool in spec.pools:
        objects.append(
            statefulset.stateful_set(
                spec,
                pool,
                cluster_id,
                certificates=certificates.revision if certificates else None,
                trusted_cas=(
                    ",".join(fingerprints(certificates.node_trust)) if certificates else ""
                ),
            )
        )
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


def controllers_outlive_brokers(
    objects: Sequence[dict[str, Any]], spec: ClusterSpec, pods: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """`objects` (already owned by the KafkaCluster) with the controllers' StatefulSet and
    headless Service also owned by each broker pod among the cluster's `pods` (dedicated roles
    only: combined nodes have no broker pods, and keep one owner).

    A broker stops cleanly only after the active controller approves its controlled shutdown,
    and finds the controllers through their headless Service. When a whole cluster is deleted,
    garbage collection deletes everything at once, and brokers whose controllers are gone wait
    for them until Kafka gives up (five minutes), then die without the clean-shutdown marker.
    The garbage collector deletes an object only once all its owners are gone, and a pod stays
    until it has stopped: with the broker pods as owners too, the controllers and their Service
    stay until the last broker has stopped. While the KafkaCluster exists it owns them anyway, so
    a reference to a broker pod that has since been replaced changes nothing; the operator
    renews the references when broker pods are replaced.
    """
    references = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "name": pod["metadata"]["name"],
            "uid": pod["metadata"]["uid"],
        }
        for pod in sorted(pods, key=lambda pod: str(pod["metadata"]["name"]))
        if pod["metadata"].get("labels", {}).get(names.ROLE_LABEL) == Role.BROKER.value
    ]
    controllers = names.pool_name(spec.name, Role.CONTROLLER)

    def outlived(obj: dict[str, Any]) -> dict[str, Any]:
        if not references or obj["kind"] not in {"StatefulSet", "Service"}:
            return obj
        if obj["metadata"]["name"] != controllers:
            return obj
        owners = [*obj["metadata"]["ownerReferences"], *references]
        return {**obj, "metadata": {**obj["metadata"], "ownerReferences": owners}}

    return [outlived(obj) for obj in objects]
