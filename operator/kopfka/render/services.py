"""Services: a headless Service per role (stable pod DNS names) and a bootstrap Service.

Target ports are container port names, not numbers: each pod serves a port under the number its
own spec gives, so while pods still run an older spec (a changed listener port waits for their
restart) the Services reach every pod where it actually listens.
"""

from __future__ import annotations

from typing import Any

from kopfka.model import names
from kopfka.model.cluster import ClusterSpec, Pool
from kopfka.render import meta
from kopfka.render.config import container_ports


def headless_service(spec: ClusterSpec, pool: Pool) -> dict[str, Any]:
    """Publishes not-ready pods too: controllers must find each other before any is ready.
    It names every port of the pods, the exporter's too, for scrapers that find targets through
    Services (a ServiceMonitor)."""
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
                {"name": name, "port": port, "targetPort": name, "protocol": "TCP"}
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
                    "targetPort": listener.name,
                    "protocol": "TCP",
                }
                for listener in spec.listeners
            ],
        },
    }
