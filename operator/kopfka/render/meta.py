"""Metadata shared by every rendered object: the one place that names and labels them."""

from __future__ import annotations

from typing import Any

from kopfka.model import names
from kopfka.model.cluster import ClusterSpec, Pool


def pool_labels(spec: ClusterSpec, pool: Pool) -> dict[str, str]:
    return names.labels(spec.name, pool.role.value, version=spec.version, role=pool.role)


def object_meta(spec: ClusterSpec, name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "namespace": spec.namespace, "labels": labels}
