"""KafkaTopic handlers: a KafkaTopic's change, a topic Job's end and a KafkaCluster's change each
ask for a sync of that cluster's topics (kopfka.topics.sync); a periodic resync finds what was
changed in Kafka directly.

Syncs are per cluster, one at a time, and coalesced (handlers/syncs.py): 10,000 KafkaTopics
applied at once make a few syncs (each a Kafka read and a Job), not 10,000.

kopf does not watch KafkaTopics: an informer (kopfka.k8s.informer) lists and watches them and
keeps a small snapshot of each (`keep_topic`), by the cluster it names. kopf's per-object
machinery cost too much at this count: its change handlers would write its bookkeeping annotation
into every KafkaTopic and its timers a finalizer, and even its raw events and index gave each
KafkaTopic a worker, a memory and a logger, and made a restart with 10,000 KafkaTopics spend
minutes of CPU before the first sync (each object listed woke every waiting worker). A
KafkaTopic's status writes come back as events too; those that change nothing a sync reads
(generation, deletion, finalizers) are not worth a sync.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable, Mapping
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
from kopfka.topics.sync import Memory, Settings, sync_topics

logger = logging.getLogger(__name__)

CLUSTERS = (names.GROUP, names.VERSION, names.CLUSTER_PLURAL)
# KOPFKA_TOPIC_RECHECK_INTERVAL, seconds: how often every cluster's topics are compared with
# Kafka without an event (drift made in Kafka directly); the integration tests shorten it.
RESYNC_INTERVAL_SECONDS = interval_from_env("KOPFKA_TOPIC_RECHECK_INTERVAL", 60)
WORKERS = 4
_settings = Settings(connect=operator_client, job_image=job_image())
_memory = Memory()


def _sync(key: Key, bodies: list[periodic.Obj], memo: kopf.Memo, *, full: bool) -> float | None:
    with metrics.reconciling(names.TOPIC_KIND, "resync" if full else "change"):
        return sync_topics(
            kube_of(memo),
            key,
            bodies,
            settings=_settings,
            memory=_memory,
            now=now(),
            clock=time.monotonic(),
            full=full,
        )


_syncs = ClusterSyncs(what="topics", sync=_sync, workers=WORKERS)
# What of each KafkaTopic a sync reads, as last seen: an event that changes none of it (the
# status a sync wrote) asks for no sync.
_seen: dict[Key, tuple[Any, ...]] = {}
# What else follows KafkaTopic events (handlers/cluster.py): called on the event loop.
TopicListener = Callable[[str, periodic.Obj, kopf.Memo], None]
_listeners: list[TopicListener] = []
# What of a KafkaTopic the operator keeps and reads: everything but labels, annotations and
# managedFields (kubectl's last-applied annotation alone is as large as the rest).
_KEPT_METADATA = (
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "finalizers",
)


def topic_cluster_key(body: Mapping[str, Any]) -> Key:
    """The key of the KafkaCluster a KafkaTopic names."""
    return body["metadata"]["namespace"], str((body.get("spec") or {}).get("cluster") or "")


def keep_topic(body: Mapping[str, Any]) -> periodic.Obj:
    """The snapshot of a KafkaTopic the informer keeps, its short strings shared (_shared)."""
    metadata = body["metadata"]
    kept: periodic.Obj = {
        "apiVersion": sys.intern(body.get("apiVersion") or names.API_VERSION),
        "kind": sys.intern(body.get("kind") or names.TOPIC_KIND),
        "metadata": {
            field: _shared(metadata[field]) for field in _KEPT_METADATA if field in metadata
        },
    }
    for part in ("spec", "status"):
        if part in body:
            kept[part] = _shared(body[part])
    return kept


# Strings up to this long are interned in the snapshots: what thousands of KafkaTopics repeat
# (namespace, cluster, condition types, statuses and reasons, the timestamps of a bulk apply).
_SHARED_LENGTH = 32


def _shared(value: Any) -> Any:
    """`value` (decoded JSON) with its short strings interned. Each KafkaTopic's JSON is decoded
    on its own, so without this 10,000 snapshots held 10,000 copies of each ("Ready", "True",
    the namespace, ...): about a tenth of their size."""
    if isinstance(value, str):
        return sys.intern(value) if len(value) <= _SHARED_LENGTH else value
    if isinstance(value, dict):
        return {sys.intern(key): _shared(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shared(item) for item in value]
    return value


def topics_of(key: Key) -> list[periodic.Obj]:
    """The KafkaTopics that name cluster `key`, as last seen; none before they are listed (the
    startup handlers wait for that)."""
    informer = _syncs.informer
    return [] if informer is None else informer.get(key)


def on_topic_event(listener: TopicListener) -> None:
    """Have `listener` called with every KafkaTopic event (type, snapshot, kopf's memo)."""
    _listeners.append(listener)


def _topic_event(type: str, body: periodic.Obj) -> None:
    """A KafkaTopic event from the informer, on the event loop."""
    if _syncs.memo is not None:
        for listener in _listeners:
            try:
                listener(type, body, _syncs.memo)
            except Exception:
                logger.exception("handling a KafkaTopic event failed")
    metadata = body["metadata"]
    key = (metadata["namespace"], metadata["name"])
    seen = (
        metadata.get("generation"),
        metadata.get("deletionTimestamp"),
        tuple(metadata.get("finalizers") or ()),
        str((body.get("spec") or {}).get("cluster")),
    )
    if type == "DELETED":
        _seen.pop(key, None)
    elif _seen.get(key) == seen:
        return
    else:
        _seen[key] = seen
    _syncs.request(topic_cluster_key(body))


@kopf.on.event("batch", "v1", "jobs")
async def topic_job_event(body: kopf.Body, type: str | None, **_: Any) -> None:
    """Only topic and user Jobs come here (settings.py asks the API server for them alone; user
    Jobs are handlers/user.py's). A topic Job's end,
    or their deletion by someone else before the operator read them, is a reason to look again;
    the events of the operator's own marking and deleting of Jobs it has read are not."""
    metadata = body["metadata"]
    if (metadata.get("labels") or {}).get("app.kubernetes.io/component") != (
        names.TOPIC_JOB_COMPONENT
    ):
        return
    if (metadata.get("annotations") or {}).get(names.OUTCOMES_READ_ANNOTATION) == "true":
        return
    cluster = (metadata.get("labels") or {}).get(names.CLUSTER_LABEL)
    if cluster and (job_ended(body) or type == "DELETED"):
        _syncs.request((metadata["namespace"], cluster))


@kopf.on.event(*CLUSTERS)
async def cluster_event(body: kopf.Body, **_: Any) -> None:
    """A cluster that becomes ready, changes or goes: its KafkaTopics say so."""
    key = (body["metadata"]["namespace"], body["metadata"]["name"])
    if _syncs.informer is not None and key in _syncs.informer:
        _syncs.request(key)


@kopf.on.startup()
async def start_topic_syncs(memo: kopf.Memo, **_: Any) -> None:
    """Lists the KafkaTopics before the operator starts (as kopf fills its indexes first), then
    syncs every cluster that has some."""
    loop = asyncio.get_running_loop()

    def event(type: str, body: periodic.Obj) -> None:  # on the informer's threads
        loop.call_soon_threadsafe(_topic_event, type, body)

    informer: Informer[Key] = Informer(
        api_client(),  # its own connections: a watch holds one for minutes
        group=names.GROUP,
        version=names.VERSION,
        plural=names.TOPIC_PLURAL,
        namespaces=watched_namespaces(memo),
        keep=keep_topic,
        key=topic_cluster_key,
        on_event=event,
        name="kafkatopics",
    )
    _syncs.informer = informer
    _syncs.memo = memo
    metrics.watch_resources(names.TOPIC_KIND, informer.all)
    informer.start()
    await loop.run_in_executor(None, informer.synced.wait)
    task = asyncio.create_task(_syncs.resync_forever(RESYNC_INTERVAL_SECONDS))
    _syncs_tasks.add(task)
    for key in informer.groups():
        _syncs.request(key, full=True)  # the statuses may be older than what Kafka has now


_syncs_tasks: set[asyncio.Task[None]] = set()


@kopf.on.cleanup()
async def stop_topic_syncs(**_: Any) -> None:
    for task in _syncs_tasks:
        task.cancel()
    await asyncio.gather(*_syncs_tasks, return_exceptions=True)
    _syncs_tasks.clear()
    await _syncs.stop()
    if _syncs.informer is not None:
        await asyncio.get_running_loop().run_in_executor(None, _syncs.informer.stop)
