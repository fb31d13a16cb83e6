"""Objects around the pods: a PodDisruptionBudget per role and the pods' ServiceAccount."""

from __future__ import annotations

from typing import Any

from kopfka.model import names
from kopfka.model.cluster import ClusterSpec, Pool
from kopfka.render import meta


def disruption_budget(spec: ClusterSpec, pool: Pool) -> dict[str, Any]:
    """At most one node of a role down at a time through voluntary disruptions (drains)."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta.object_meta(
            spec, names.pool_name(spec.name, pool.role), meta.pool_labels(spec, pool)
        ),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": names.selector_labels(spec.name, pool.role)},
        },
    }


def service_account(spec: ClusterSpec) -> dict[str, Any]:
    """Kafka pods need no API access; the account exists so users can bind policies to it."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta.object_meta(
            spec,
            names.service_account_name(spec.name),
            names.labels(spec.name, "kafka", version=spec.version),
        ),
        "automountServiceAccountToken": False,
    }
