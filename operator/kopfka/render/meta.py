"""Metadata shared by every rendered object: the one place that names and labels them."""

from __future__ import annotations

from typing import Any

from kopfka.model import names
from kopfka.model.cluster import ClusterSpec, Pool


def pool_labels(spec: ClusterSpec, pool: Pool) -> dict[str, str]:
    return names.labels(spec.name, pool.role.value, version=spec.version, role=pool.role)


# Labels whose values are fixed for the life of a cluster, besides the pool's selector labels: a
# pool's role never changes, nor does the manager. The version (and anything else that follows
# the spec) is not among them.
_LIFELONG_LABELS = ("app.kubernetes.io/component", "app.kubernetes.io/managed-by")


def lifelong_pool_labels(spec: ClusterSpec, pool: Pool) -> dict[str, str]:
    """The pool's labels that never change, for what can never change once made: the volume
    claim templates of a StatefulSet (the API server refuses any change to them with 422)."""
    keep = {*names.selector_labels(spec.name, pool.role), *_LIFELONG_LABELS}
    return {key: value for key, value in pool_labels(spec, pool).items() if key in keep}


def object_meta(spec: ClusterSpec, name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "namespace": spec.namespace, "labels": labels}
