"""KafkaUser handlers: a KafkaUser's change, a user Job's end and a KafkaCluster's change each ask
for a sync of that cluster's users (kopfka.users.sync); a periodic resync finds what was changed
in Kafka directly (a credential or quota removed by hand).

As for KafkaTopics (handlers/topic.py), kopf does not watch KafkaUsers: an informer lists and
watches them and keeps each by the cluster it names, so kopf writes no bookkeeping annotation or
finalizer of its own into them; and syncs are per cluster, one at a time, coalesced.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import kopf

from kopfka import metrics
from kopfka.handlers import periodic
from kopfka.handlers.common import (
    Key,
    interval_from_env,
    job_image,
    kube_of,
    now,
    watched_namespaces,
)
from kopfka.handlers.syncs import ClusterSyncs
from kopfka.k8s.client import api_client
from kopfka.k8s.informer import Informer
from kopfka.kafka.admin import operator_client
from kopfka.model import names
from kopfka.model.conditions import job_ended
from kopfka.users.sync import Memory, Settings, sync_users

logger = logging.getLogger(__name__)

# KOPFKA_USER_RECHECK_INTERVAL, seconds: how often every cluster's users are compared with Kafka
# without an event; the integration tests shorten it.
RESYNC_INTERVAL_SECONDS = interval_from_env("KOPFKA_USER_RECHECK_INTERVAL", 60)


def user_cluster_key(body: Any) -> Key:
    return body["metadata"]["namespace"], str((body.get("spec") or {}).get("cluster") or "")


def keep_user(body: Any) -> periodic.Obj:
    """What of a KafkaUser the operator keeps: everything but labels, annotations and
    managedFields."""
    metadata = {
        key: value
        for key, value in body["metadata"].items()
        if key not in {"labels", "annotations", "managedFields"}
    }
    return {**{k: v for k, v in body.items() if k != "metadata"}, "metadata": metadata}


_settings = Settings(connect=operator_client, job_image=job_image())
_memory = Memory()


def _sync(key: Key, bodies: list[periodic.Obj], memo: kopf.Memo, *, full: bool) -> float | None:
    """A user sync; a full one (the periodic resync) is the same: every sync reads Kafka."""
    with metrics.reconciling(names.USER_KIND, "resync" if full else "change"):
        return sync_users(
            kube_of(memo),
            key,
            bodies,
            settings=_settings,
            memory=_memory,
            now=now(),
            clock=time.monotonic(),
        )


_syncs = ClusterSyncs(what="users", sync=_sync, workers=2)
_tasks: set[asyncio.Task[None]] = set()


def _user_event(type: str, body: periodic.Obj) -> None:
    _syncs.request(user_cluster_key(body))


@kopf.on.event("batch", "v1", "jobs")
async def user_job_event(body: kopf.Body, type: str | None, **_: Any) -> None:
    """A user Job's end (or deletion before it was read) asks for a sync of its cluster."""
    metadata = body["metadata"]
    labels = metadata.get("labels") or {}
    if labels.get("app.kubernetes.io/component") != names.USER_JOB_COMPONENT:
        return
    if (metadata.get("annotations") or {}).get(names.OUTCOMES_READ_ANNOTATION) == "true":
        return
    cluster = labels.get(names.CLUSTER_LABEL)
    if cluster and (job_ended(body) or type == "DELETED"):
        _syncs.request((metadata["namespace"], cluster))


@kopf.on.event(names.GROUP, names.VERSION, names.CLUSTER_PLURAL)
async def cluster_event_for_users(body: kopf.Body, **_: Any) -> None:
    """A cluster that appears, changes or goes: its KafkaUsers say so."""
    key = (body["metadata"]["namespace"], body["metadata"]["name"])
    if _syncs.informer is not None and key in _syncs.informer:
        _syncs.request(key)


@kopf.on.startup()
async def start_user_syncs(memo: kopf.Memo, **_: Any) -> None:
    loop = asyncio.get_running_loop()

    def event(type: str, body: periodic.Obj) -> None:  # on the informer's threads
        loop.call_soon_threadsafe(_user_event, type, body)

    informer: Informer[Key] = Informer(
        api_client(),
        group=names.GROUP,
        version=names.VERSION,
        plural=names.USER_PLURAL,
        namespaces=watched_namespaces(memo),
        keep=keep_user,
        key=user_cluster_key,
        on_event=event,
        name="kafkausers",
    )
    _syncs.informer = informer
    _syncs.memo = memo
    metrics.watch_resources(names.USER_KIND, informer.all)
    informer.start()
    await loop.run_in_executor(None, informer.synced.wait)
    _tasks.add(asyncio.create_task(_syncs.resync_forever(RESYNC_INTERVAL_SECONDS)))
    for key in informer.groups():
        _syncs.request(key)


@kopf.on.cleanup()
async def stop_user_syncs(**_: Any) -> None:
    for task in _tasks:
        task.cancel()
    await asyncio.gather(*_tasks, return_exceptions=True)
    _tasks.clear()
    await _syncs.stop()
    if _syncs.informer is not None:
        await asyncio.get_running_loop().run_in_executor(None, _syncs.informer.stop)
