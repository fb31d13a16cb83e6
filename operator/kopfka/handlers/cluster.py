"""KafkaCluster handlers: reconcile on create/update/resume and on a drift timer; pod events refresh
the status so Ready follows the pods without waiting for the timer.
"""

from __future__ import annotations

from typing import Any

import kopf

from kopfka import reconcile
from kopfka.handlers.common import kube_of, now
from kopfka.model import names

CLUSTERS = (names.GROUP, names.VERSION, names.CLUSTER_PLURAL)
DRIFT_INTERVAL_SECONDS = 60
RETRY_SECONDS = 10


def _reconcile(body: kopf.Body, memo: kopf.Memo) -> str:
    try:
        outcome = reconcile.reconcile_cluster(kube_of(memo), dict(body), now=now())
    except reconcile.RetryLater as error:
        raise kopf.TemporaryError(str(error), delay=RETRY_SECONDS) from error
    return outcome.message


@kopf.on.resume(*CLUSTERS)
@kopf.on.create(*CLUSTERS)
@kopf.on.update(*CLUSTERS)
def cluster_changed(body: kopf.Body, memo: kopf.Memo, **_: Any) -> str:
    return _reconcile(body, memo)


@kopf.timer(*CLUSTERS, interval=DRIFT_INTERVAL_SECONDS, initial_delay=DRIFT_INTERVAL_SECONDS)
def cluster_drift(body: kopf.Body, memo: kopf.Memo, **_: Any) -> str:
    """Change handlers do not see children edited or deleted by someone else; this does."""
    return _reconcile(body, memo)


@kopf.on.event(
    "v1",
    "pods",
    labels={"app.kubernetes.io/managed-by": "kopfka", names.CLUSTER_LABEL: kopf.PRESENT},
)
def pod_event(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    kube = kube_of(memo)
    cluster = kube.get(
        names.API_VERSION,
        names.CLUSTER_KIND,
        body["metadata"]["labels"][names.CLUSTER_LABEL],
        body["metadata"]["namespace"],
    )
    if cluster is not None:
        reconcile.refresh_status(kube, cluster, now=now())


@kopf.on.delete(*CLUSTERS, optional=True)
def cluster_deleted(spec: kopf.Spec, logger: kopf.Logger, **_: Any) -> None:
    """Owner references garbage-collect the children; say what happens to the data."""
    kept = [
        role
        for role in ("controllers", "brokers")
        if not ((spec.get(role) or {}).get("storage") or {}).get("deleteClaim", False)
    ]
    logger.info("children are garbage-collected; volume claims kept for: %s", kept or "none")
