"""KafkaCluster handlers: reconcile on create/update/resume and on a drift timer; pod events refresh
the status so Ready follows the pods without waiting for the timer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import kopf

from kopfka import reconcile
from kopfka.handlers.common import interval_from_env, kube_of, now
from kopfka.model import names

CLUSTERS = (names.GROUP, names.VERSION, names.CLUSTER_PLURAL)
# How often every cluster is reconciled even without a change (KOPFKA_DRIFT_INTERVAL, seconds;
# the integration tests shorten it).
DRIFT_INTERVAL_SECONDS = interval_from_env("KOPFKA_DRIFT_INTERVAL", 60)
RETRY_SECONDS = 10


def _reconcile(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger) -> None:
    try:
        outcome = reconcile.reconcile_cluster(kube_of(memo), dict(body), now=now())
    except reconcile.RetryLater as error:
        raise kopf.TemporaryError(str(error), delay=RETRY_SECONDS) from error
    # Logged, not returned: kopf would patch a returned value into the status on every run (a
    # write the CRD schema prunes, followed by a warning Event), so a steady cluster would not
    # be write-free.
    logger.debug("reconciled: %s", outcome.message)


@kopf.on.resume(*CLUSTERS)
@kopf.on.create(*CLUSTERS)
@kopf.on.update(*CLUSTERS)
def cluster_changed(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    _reconcile(body, memo, logger)


@kopf.timer(*CLUSTERS, interval=DRIFT_INTERVAL_SECONDS, initial_delay=DRIFT_INTERVAL_SECONDS)
def cluster_drift(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    """Change handlers do not see children edited or deleted by someone else; this does."""
    _reconcile(body, memo, logger)


class _OneAtATime:
    """Runs at most one status refresh per cluster at a time.

    Events of a cluster's pods arrive in bursts and kopf handles different pods in parallel
    threads. Parallel refreshes each list the pods at a different moment; the one with the oldest
    view could write its status last (the status said 5/6 ready with every pod ready), and each
    labelled the pods the others were labelling. An event that arrives during a refresh makes the
    running refresh go once more, with a fresh view, instead.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[tuple[str, str]] = set()
        self._again: set[tuple[str, str]] = set()

    def run(self, key: tuple[str, str], refresh: Callable[[], None]) -> None:
        with self._lock:
            if key in self._running:
                self._again.add(key)
                return
            self._running.add(key)
        try:
            while True:
                refresh()
                with self._lock:
                    if key not in self._again:
                        self._running.discard(key)
                        return
                    self._again.discard(key)
        except BaseException:
            with self._lock:
                self._running.discard(key)
                self._again.discard(key)
            raise


_status_refreshes = _OneAtATime()


@kopf.on.event(
    "v1",
    "pods",
    labels={"app.kubernetes.io/managed-by": "kopfka", names.CLUSTER_LABEL: kopf.PRESENT},
)
def pod_event(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    kube = kube_of(memo)
    namespace = body["metadata"]["namespace"]
    name = body["metadata"]["labels"][names.CLUSTER_LABEL]

    def refresh() -> None:
        cluster = kube.get(names.API_VERSION, names.CLUSTER_KIND, name, namespace)
        if cluster is not None:
            reconcile.refresh_status(kube, cluster, now=now())

    _status_refreshes.run((namespace, name), refresh)


@kopf.on.delete(*CLUSTERS, optional=True)
def cluster_deleted(spec: kopf.Spec, logger: kopf.Logger, **_: Any) -> None:
    """Owner references garbage-collect the children; say what happens to the data."""
    kept = [
        role
        for role in ("controllers", "brokers")
        if not ((spec.get(role) or {}).get("storage") or {}).get("deleteClaim", False)
    ]
    logger.info("children are garbage-collected; volume claims kept for: %s", kept or "none")
