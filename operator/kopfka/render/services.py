"""Services: a headless Service per role (stable pod DNS names) and a bootstrap Service."""

from __future__ import annotations

from typing import Any

from kopfka.model import names
from kopfka.model.cluster import ClusterSpec, Pool
from kopfka.render import meta
from kopfka.render.config import container_ports


def headless_service(spec: ClusterSpec, pool: Pool) -> dict[str, Any]:
    """Publishes not-ready pods too: controllers must find each other before any is ready."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta.object_meta(
            spec, names.pool_name(spec.name, pool.role), meta.pool_labels(spec, pool)
        ),
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": names.selector_labels(spec.name, pool.role),
            "ports": [
                {"name": name, "port": port, "targetPort": port, "protocol": "TCP"}
                for name, port in container_ports(spec, pool.role)
            ],
        },
    }


def bootstrap_service(spec: ClusterSpec) -> dict[str, Any]:
    """The address clients start from: every ready broker, on the client listeners."""
    pool = spec.broker_pool
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta.object_meta(
            spec,
            names.bootstrap_service_name(spec.name),
            names.labels(spec.name, "bootstrap", version=spec.version),
        ),
        "spec": {
            "type": "ClusterIP",
            "selector": names.selector_labels(spec.name, pool.role),
            "ports": [
                {
                    "name": listener.name,
                    "port": listener.port,
                    "targetPort": listener.port,
                    "protocol": "TCP",
                }
                for listener in spec.listeners
            ],
        },
    }
