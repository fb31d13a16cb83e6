"""KafkaCluster handlers: reconcile on create/update/resume and periodically (drift); pod events
refresh the status so Ready follows the pods without waiting for the next periodic run, and a new
broker pod reconciles the cluster (the controllers' objects name the broker pods as owners:
`render.cluster.controllers_outlive_brokers`).

Every path takes the cluster's turn first (`turns`): one reconcile or status refresh of a cluster
at a time. Change handlers go first: refreshes and drift runs wait while any runs (`foreground`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from typing import Any

import kopf

from kopfka import metrics, reconcile
from kopfka.handlers import periodic
from kopfka.handlers.common import (
    Key,
    indexed,
    interval_from_env,
    job_image,
    key_of,
    kube_of,
    now,
    operator_pods,
)
from kopfka.handlers.foreground import Foreground
from kopfka.handlers.refreshes import POD_EVENT_DELAY, Refreshes
from kopfka.handlers.topic import on_topic_event, topic_cluster_key, topics_of
from kopfka.handlers.turns import Turns
from kopfka.k8s.client import Kube
from kopfka.live.rebalance import factor_changes
from kopfka.model import names

logger = logging.getLogger(__name__)

CLUSTERS = (names.GROUP, names.VERSION, names.CLUSTER_PLURAL)
# How often every cluster is reconciled even without a change (KOPFKA_DRIFT_INTERVAL, seconds;
# the integration tests shorten it).
DRIFT_INTERVAL_SECONDS = interval_from_env("KOPFKA_DRIFT_INTERVAL", 60)
RETRY_SECONDS = 10
# kopfka's pods: kopf asks the API server for these only (settings.py puts this selector on the
# pod watch), so the operator never receives, nor needs to be allowed to see, any other pod.
POD_SELECTOR = f"app.kubernetes.io/managed-by=kopfka,{names.CLUSTER_LABEL}"
# The operator's own pods, which each cluster's NetworkPolicy lets in (from the chart, through the
# environment; a bad value stops the operator at start).
OPERATOR_PODS = operator_pods()

_turns = Turns()
_foreground = Foreground()
# Seconds after which a drift run that found change handlers at work comes back.
DRIFT_AFTER_CHANGES_SECONDS = 5.0


def _reconcile(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger) -> None:
    kube = kube_of(memo)
    with metrics.reconciling(names.CLUSTER_KIND, "change") as ended:
        try:
            outcome = reconcile.reconcile_cluster(
                kube,
                dict(body),
                now=now(),
                topics=topics_of(key_of(body)),
                job_image=job_image(),
                operator=OPERATOR_PODS,
            )
        except reconcile.RetryLater as error:
            ended("retry")
            raise kopf.TemporaryError(str(error), delay=RETRY_SECONDS) from error
        ended(_outcome(outcome))
    # Logged, not returned: kopf would patch a returned value into the status on every run (a
    # write the CRD schema prunes, followed by a warning Event), so a steady cluster would not
    # be write-free.
    logger.debug("reconciled: %s", outcome.message)
    _look_again(key_of(body), outcome.again)


@kopf.on.resume(*CLUSTERS)
@kopf.on.create(*CLUSTERS)
@kopf.on.update(*CLUSTERS)
def cluster_changed(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    with _foreground.changing(), _turns.take(key_of(body)):
        _reconcile(body, memo, logger)


@kopf.index(*CLUSTERS)
async def kafka_clusters(body: kopf.Body, **_: Any) -> dict[Key, periodic.Obj]:
    """Every cluster as last seen, for the periodic drift reconcile."""
    return {key_of(body): periodic.snapshot(body)}


def _drift(memo: kopf.Memo, body: periodic.Obj) -> float | None:
    """Change handlers do not see children edited or deleted by someone else; this does."""
    if _foreground.busy():
        return DRIFT_AFTER_CHANGES_SECONDS
    with _turns.take(key_of(body), wait=False) as mine:
        if not mine:
            return None  # a change handler or a status refresh is at it, with a newer view
        with metrics.reconciling(names.CLUSTER_KIND, "drift") as ended:
            try:
                outcome = reconcile.reconcile_cluster(
                    kube_of(memo),
                    body,
                    now=now(),
                    topics=topics_of(key_of(body)),
                    job_image=job_image(),
                    operator=OPERATOR_PODS,
                )
            except reconcile.RetryLater as error:
                ended("retry")
                logger.warning("drift reconcile of %s/%s: %s", *key_of(body), error)
                return RETRY_SECONDS
            ended(_outcome(outcome))
    _look_again(key_of(body), outcome.again)
    return None


def _outcome(outcome: reconcile.Outcome) -> str:
    return "ready" if outcome.ready else "not_ready"


@kopf.on.startup()
async def start_drift_runs(memo: kopf.Memo, **kwargs: Any) -> None:
    if OPERATOR_PODS is None:
        logger.info(
            "KOPFKA_OPERATOR_NAMESPACE or KOPFKA_OPERATOR_POD_LABELS is not set: the clusters' "
            "NetworkPolicies (spec.networkPolicy) let in no operator pod"
        )
    index = kwargs["kafka_clusters"]
    metrics.watch_resources(names.CLUSTER_KIND, lambda: indexed(index))
    periodic.start(
        what="drift reconcile",
        # kopf passes each index as a keyword argument named after it.
        index=kwargs["kafka_clusters"],
        interval=DRIFT_INTERVAL_SECONDS,
        work=functools.partial(_drift, memo),
    )


# Clusters with a broker pod made since their last reconcile; guarded by _new_brokers_lock.
_new_brokers: set[Key] = set()
_new_brokers_lock = threading.Lock()
_refreshes = Refreshes()


@kopf.on.startup()
async def start_refreshes(memo: kopf.Memo, **_: Any) -> None:
    # The API client is looked up when a refresh runs: settings.py puts it in the memo in a
    # startup handler of its own.
    _refreshes.start(asyncio.get_running_loop(), lambda key: _refresh(kube_of(memo), key))


@kopf.on.cleanup()
async def stop_refreshes(**_: Any) -> None:
    _refreshes.stop()


@kopf.on.event("v1", "pods")
async def pod_event(body: kopf.Body, type: str | None, **_: Any) -> None:
    """Only kopfka's pods come here: the watch asks for POD_SELECTOR (a pod that stops matching
    comes once more, as deleted, with the labels it had). `type` is None for the pods listed
    when the watch starts. The refresh comes a moment later, for the whole burst
    (handlers/refreshes.py)."""
    labels = body["metadata"]["labels"]
    key = (body["metadata"]["namespace"], labels[names.CLUSTER_LABEL])
    if type == "ADDED" and labels.get(names.ROLE_LABEL) == names.Role.BROKER.value:
        with _new_brokers_lock:
            _new_brokers.add(key)
    _refreshes.ask(key, POD_EVENT_DELAY)


# Per KafkaTopic with a replication factor change: the change last handed to its cluster.
_factor_changes_seen: dict[Key, dict[str, int]] = {}


def topic_factor_event(type: str, body: periodic.Obj, memo: kopf.Memo) -> None:
    """A KafkaTopic whose topic sync left a replication factor change to the rebalance: its
    cluster looks soon rather than at its next drift run. On the event loop and cheap: every
    KafkaTopic event comes here (10,000 at a bulk apply), and only a new change costs a thread."""
    key = key_of(body)
    wanted = {} if type == "DELETED" else factor_changes([body])
    if not wanted:
        _factor_changes_seen.pop(key, None)
        return
    if _factor_changes_seen.get(key) != wanted:
        _factor_changes_seen[key] = wanted
        _look_again(topic_cluster_key(body), 0.0)


on_topic_event(topic_factor_event)


def _refresh(kube: Kube, key: Key) -> None:
    """The status of the cluster, and its rolling restart, from the pods as they are now; a full
    reconcile when a broker pod was made since the last one. A full reconcile that cannot apply
    the spec (it records why) still observes the pods: their labels and the status follow them,
    with the failure kept."""
    _foreground.wait_idle()
    # Waits for a reconcile of the cluster that is going on, then reads the cluster as it left it.
    with _turns.take(key):
        with _new_brokers_lock:
            full = key in _new_brokers
            _new_brokers.discard(key)
        cluster = kube.get(names.API_VERSION, names.CLUSTER_KIND, key[1], key[0])
        if cluster is None:
            return
        with metrics.reconciling(names.CLUSTER_KIND, "pods") as ended:
            try:
                if full:
                    try:
                        outcome = reconcile.reconcile_cluster(
                            kube,
                            cluster,
                            now=now(),
                            topics=topics_of(key),
                            job_image=job_image(),
                            operator=OPERATOR_PODS,
                        )
                    except reconcile.RetryLater as error:
                        logger.warning("reconcile of %s/%s after a new pod: %s", *key, error)
                        # As the failed reconcile left it, its failure recorded.
                        cluster = kube.get(names.API_VERSION, names.CLUSTER_KIND, key[1], key[0])
                        if cluster is None:
                            return
                        full = False
                if not full:
                    outcome = reconcile.refresh_status(
                        kube,
                        cluster,
                        now=now(),
                        topics=topics_of(key),
                        job_image=job_image(),
                        operator=OPERATOR_PODS,
                    )
            except reconcile.RetryLater as error:
                ended("retry")
                logger.warning("refresh of %s/%s after a pod event: %s", *key, error)
                return
            ended(_outcome(outcome))
    _look_again(key, outcome.again)


def _look_again(key: Key, seconds: float | None) -> None:
    if seconds is not None:
        _refreshes.ask(key, seconds)


@kopf.on.delete(*CLUSTERS, optional=True)
def cluster_deleted(spec: kopf.Spec, logger: kopf.Logger, **_: Any) -> None:
    """Owner references garbage-collect the children; say what happens to the data."""
    kept = [
        role
        for role in ("controllers", "brokers")
        if not ((spec.get(role) or {}).get("storage") or {}).get("deleteClaim", False)
    ]
    logger.info("children are garbage-collected; volume claims kept for: %s", kept or "none")
