"""KafkaTopic handlers: a KafkaTopic's change, a topic Job's end and a KafkaCluster's change each
ask for a sync of that cluster's topics (kopfka.topics.sync); a periodic resync finds what was
changed in Kafka directly.

Syncs are per cluster, one at a time, and coalesced: a request while one is due or running folds
into it, so 10,000 KafkaTopics applied at once make a few syncs (each a Kafka read and a Job), not
10,000. The KafkaTopics come from a kopf index (filled from the watch: no list request per sync).

Only raw watch events (`kopf.on.event`) and an index serve KafkaTopics: kopf's change handlers
would write kopf's bookkeeping annotation into every KafkaTopic (a write per topic per change),
and its timers a finalizer. A KafkaTopic's status writes come back as events too; those that
change nothing a sync reads (generation, deletion, finalizers) are not worth a sync.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import kopf

from kopfka import metrics
from kopfka.handlers import periodic
from kopfka.handlers.common import Key, indexed, interval_from_env, job_image, kube_of, now
from kopfka.kafka.admin import operator_client
from kopfka.model import names
from kopfka.topics.sync import Memory, Settings, sync_topics

logger = logging.getLogger(__name__)

TOPICS = (names.GROUP, names.VERSION, names.TOPIC_PLURAL)
CLUSTERS = (names.GROUP, names.VERSION, names.CLUSTER_PLURAL)
# KOPFKA_TOPIC_RECHECK_INTERVAL, seconds: how often every cluster's topics are compared with
# Kafka without an event (drift made in Kafka directly); the integration tests shorten it.
RESYNC_INTERVAL_SECONDS = interval_from_env("KOPFKA_TOPIC_RECHECK_INTERVAL", 60)
# How long a request waits for more to fold into the same sync.
COALESCE_SECONDS = 0.5
# After a sync failed on a bug or an API error.
ERROR_RETRY_SECONDS = 10.0
WORKERS = 4


class _Syncs:
    """Runs the sync of each cluster key at most once at a time, soon after it is asked for.

    Lives in the event loop: requests come from async handlers, runs go to a thread pool.
    """

    def __init__(self) -> None:
        self.settings = Settings(connect=operator_client, job_image=job_image())
        self.memory = Memory()
        self.index: kopf.Index[Key, periodic.Obj] | None = None
        self.memo: kopf.Memo | None = None
        self._executor = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="kopfka-topics")
        self._timers: dict[Key, asyncio.TimerHandle] = {}
        self._running: set[Key] = set()
        self._again: set[Key] = set()
        self._full: set[Key] = set()  # the next sync is a full one (sync_topics' `full`)
        self._tasks: set[asyncio.Task[None]] = set()

    def request(self, key: Key, delay: float = COALESCE_SECONDS, *, full: bool = False) -> None:
        if full:
            self._full.add(key)
        if key in self._running:
            self._again.add(key)
            return
        loop = asyncio.get_running_loop()
        when = loop.time() + delay
        timer = self._timers.get(key)
        if timer is not None:
            if timer.when() <= when:
                return
            timer.cancel()
        self._timers[key] = loop.call_at(when, self._start, key)

    def _start(self, key: Key) -> None:
        self._timers.pop(key, None)
        if self.index is None or self.memo is None:
            return  # not started yet: the startup handler's first resync asks again
        bodies = list(self.index.get(key, []))
        full = key in self._full
        self._full.discard(key)
        self._running.add(key)
        run = self._run(key, bodies, self.memo, full=full)
        task = asyncio.create_task(run, name=f"kopfka topics {key}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(
        self, key: Key, bodies: list[periodic.Obj], memo: kopf.Memo, *, full: bool
    ) -> None:
        loop = asyncio.get_running_loop()
        again: float | None
        sync = functools.partial(self._sync, key, bodies, memo, full=full)
        try:
            again = await loop.run_in_executor(self._executor, sync)
        except Exception:
            logger.exception("sync of the topics of KafkaCluster %s/%s failed", *key)
            again = ERROR_RETRY_SECONDS
        finally:
            self._running.discard(key)
        if key in self._again:
            self._again.discard(key)
            self.request(key)
        elif again is not None:
            self.request(key, again)

    def _sync(
        self, key: Key, bodies: list[periodic.Obj], memo: kopf.Memo, *, full: bool
    ) -> float | None:
        with metrics.reconciling(names.TOPIC_KIND, "resync" if full else "change"):
            return sync_topics(
                kube_of(memo),
                key,
                bodies,
                settings=self.settings,
                memory=self.memory,
                now=now(),
                clock=time.monotonic(),
                full=full,
            )

    async def resync_forever(self, interval: float) -> None:
        """Ask for a sync of every cluster with KafkaTopics once per `interval`, each at its
        own phase of it (periodic.phase)."""
        loop = asyncio.get_running_loop()
        due: dict[Key, float] = {}
        while True:
            assert self.index is not None
            moment = loop.time()
            present = set(self.index)
            for gone in due.keys() - present:
                del due[gone]
            for key in present:
                if key not in due:
                    due[key] = periodic.next_run(key, interval, after=moment)
                elif due[key] <= moment:
                    due[key] = periodic.next_run(key, interval, after=moment)
                    self.request(key, 0.0, full=True)
            await asyncio.sleep(periodic.TICK_SECONDS)

    async def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)


_syncs = _Syncs()
# What of each KafkaTopic a sync reads, as last seen: an event that changes none of it (the
# status a sync wrote) asks for no sync.
_seen: dict[Key, tuple[Any, ...]] = {}


def topic_cluster_key(body: Mapping[str, Any]) -> Key:
    """The key of the KafkaCluster a KafkaTopic names."""
    return body["metadata"]["namespace"], str((body.get("spec") or {}).get("cluster") or "")


@kopf.index(*TOPICS)
async def topics_by_cluster(body: kopf.Body, **_: Any) -> dict[Key, periodic.Obj]:
    """Every KafkaTopic as last seen, by the cluster it names."""
    return {topic_cluster_key(body): periodic.snapshot(body)}


def topics_of(key: Key) -> list[periodic.Obj]:
    """The KafkaTopics that name cluster `key`, as last seen; none before the index is filled
    (the startup handlers run first)."""
    index = _syncs.index
    return [] if index is None else list(index.get(key, []))


@kopf.on.event(*TOPICS)
async def topic_event(body: kopf.Body, type: str | None, **_: Any) -> None:
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
    """Only topic Jobs come here (settings.py asks the API server for them alone). Their end,
    or their deletion by someone else before the operator read them, is a reason to look again;
    the events of the operator's own marking and deleting of Jobs it has read are not."""
    metadata = body["metadata"]
    if (metadata.get("annotations") or {}).get(names.OUTCOMES_READ_ANNOTATION) == "true":
        return
    conditions = (body.get("status") or {}).get("conditions") or []
    ended = any(
        c.get("type") in {"Complete", "Failed"} and c.get("status") == "True" for c in conditions
    )
    cluster = (metadata.get("labels") or {}).get(names.CLUSTER_LABEL)
    if cluster and (ended or type == "DELETED"):
        _syncs.request((metadata["namespace"], cluster))


@kopf.on.event(*CLUSTERS)
async def cluster_event(body: kopf.Body, **_: Any) -> None:
    """A cluster that becomes ready, changes or goes: its KafkaTopics say so."""
    key = (body["metadata"]["namespace"], body["metadata"]["name"])
    if _syncs.index is not None and key in _syncs.index:
        _syncs.request(key)


@kopf.on.startup()
async def start_topic_syncs(memo: kopf.Memo, **kwargs: Any) -> None:
    # kopf passes each index as a keyword argument named after it.
    _syncs.index = index = kwargs["topics_by_cluster"]
    metrics.watch_resources(names.TOPIC_KIND, lambda: indexed(index))
    _syncs.memo = memo
    task = asyncio.create_task(_syncs.resync_forever(RESYNC_INTERVAL_SECONDS))
    _syncs_tasks.add(task)
    for key in list(_syncs.index):
        _syncs.request(key, full=True)  # the statuses may be older than what Kafka has now


_syncs_tasks: set[asyncio.Task[None]] = set()


@kopf.on.cleanup()
async def stop_topic_syncs(**_: Any) -> None:
    for task in _syncs_tasks:
        task.cancel()
    await asyncio.gather(*_syncs_tasks, return_exceptions=True)
    _syncs_tasks.clear()
    await _syncs.stop()
