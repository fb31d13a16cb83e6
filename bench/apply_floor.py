"""The floor under "apply → all children created": the same children the operator renders for the
same clusters, server-side applied straight to the same API server (through the same recording
proxy) by as many threads as the operator's handlers have, with no reads, no dry runs, no status.

Why: how fast 50 or 200 clusters' children can appear depends first on how fast this machine's
API server and etcd take writes. The operator's figure means something only beside this one,
measured in the same run on the same control plane: their ratio is the operator's own cost.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import kubernetes
from kubernetes.dynamic import DynamicClient

from kopfka.model import names as model_names
from kopfka.model.cluster import parse_cluster
from kopfka.reconcile import new_cluster_id
from kopfka.render.cluster import render_cluster

Obj = dict[str, Any]


def children(name: str, namespace: str, spec: Obj) -> list[Obj]:
    """What the operator applies for a new KafkaCluster `spec` (no owner: there is none here)."""
    parsed = parse_cluster(name, namespace, spec)
    return render_cluster(parsed, new_cluster_id())


def apply_all(
    kubeconfig: Path, clusters: Sequence[tuple[str, str]], spec: Obj, *, threads: int
) -> list[float]:
    """Apply every cluster's children, one cluster per task on `threads` threads; the seconds from
    the start until each cluster's last child was written, in the order of `clusters`."""
    rendered = [children(name, namespace, spec) for namespace, name in clusters]
    client = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
    client.configuration.connection_pool_maxsize = threads
    client.rest_client.pool_manager.connection_pool_kw["maxsize"] = threads
    dynamic = DynamicClient(client)
    resources = {
        (obj["apiVersion"], obj["kind"]): dynamic.resources.get(
            api_version=obj["apiVersion"], kind=obj["kind"]
        )
        for obj in rendered[0]
    }
    started = time.monotonic()

    def one(objects: list[Obj]) -> float:
        for obj in objects:
            resources[obj["apiVersion"], obj["kind"]].server_side_apply(
                body=obj,
                name=obj["metadata"]["name"],
                namespace=obj["metadata"]["namespace"],
                field_manager=f"{model_names.FIELD_MANAGER}-floor",
                force_conflicts=True,
            )
        return time.monotonic() - started

    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            return list(pool.map(one, rendered))
    finally:
        client.close()
