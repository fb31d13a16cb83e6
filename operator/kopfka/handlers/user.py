"""KafkaUser handlers: a KafkaUser's change, a user Job's end and a KafkaCluster's change each ask
for a sync of that cluster's users (kopfka.users.sync); a periodic resync finds what was changed
in Kafka directly (a credential or quota removed by hand).

As for KafkaTopics (handlers/topic.py), kopf does not watch KafkaUsers: an informer lists and
watches them and keeps each by the cluster it names, so kopf writes no bookkeeping annotation or
finalizer of its own into them; and syncs are per cluster, one at a time, coalesced.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
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
from kopfka.k8s.client import api_client
from kopfka.k8s.informer import Informer
from kopfka.kafka.admin import operator_client
from kopfka.model import names
from kopfka.users.sync import Memory, Settings, sync_users

logger = logging.getLogger(__name__)

# KOPFKA_USER_RECHECK_INTERVAL, seconds: how often every cluster's users are compared with Kafka
# without an event; the integration tests shorten it.
RESYNC_INTERVAL_SECONDS = interval_from_env("KOPFKA_USER_RECHECK_INTERVAL", 60)
COALESCE_SECONDS = 0.5
ERROR_RETRY_SECONDS = 10.0


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


class _Syncs:
    """Runs the sync of each cluster at most once at a time, soon after it is asked for."""

    def __init__(self) -> None:
        self.settings = Settings(connect=operator_client, job_image=job_image())
        self.memory = Memory()
        self.informer: Informer[Key] | None = None
        self.memo: kopf.Memo | None = None
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kopfka-users")
        self._timers: dict[Key, asyncio.TimerHandle] = {}
        self._running: set[Key] = set()
        self._again: set[Key] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def request(self, key: Key, delay: float = COALESCE_SECONDS) -> None:
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
        if self.informer is None or not self.informer.synced.is_set() or self.memo is None:
            return
        self._running.add(key)
        task = asyncio.create_task(self._run(key, self.informer.get(key), self.memo))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, key: Key, bodies: list[periodic.Obj], memo: kopf.Memo) -> None:
        loop = asyncio.get_running_loop()
        again: float | None
        sync = functools.partial(self._sync, key, bodies, memo)
        try:
            again = await loop.run_in_executor(self._executor, sync)
        except Exception:
            logger.exception("sync of the users of KafkaCluster %s/%s failed", *key)
            again = ERROR_RETRY_SECONDS
        finally:
            self._running.discard(key)
        if key in self._again:
            self._again.discard(key)
            self.request(key)
        elif again is not None:
            self.request(key, again)

    def _sync(self, key: Key, bodies: list[periodic.Obj], memo: kopf.Memo) -> float | None:
        with metrics.reconciling(names.USER_KIND, "change"):
            return sync_users(
                kube_of(memo),
                key,
                bodies,
                settings=self.settings,
                memory=self.memory,
                now=now(),
                clock=time.monotonic(),
            )

    async def resync_forever(self, interval: float) -> None:
        loop = asyncio.get_running_loop()
        due: dict[Key, float] = {}
        while True:
            assert self.informer is not None
            moment = loop.time()
            present = set(self.informer.groups())
            for gone in due.keys() - present:
                del due[gone]
            for key in present:
                if key not in due:
                    due[key] = periodic.next_run(key, interval, after=moment)
                elif due[key] <= moment:
                    due[key] = periodic.next_run(key, interval, after=moment)
                    self.request(key, 0.0)
            await asyncio.sleep(periodic.TICK_SECONDS)

    async def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)


_syncs = _Syncs()
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
    conditions = (body.get("status") or {}).get("conditions") or []
    ended = any(
        c.get("type") in {"Complete", "Failed"} and c.get("status") == "True" for c in conditions
    )
    cluster = labels.get(names.CLUSTER_LABEL)
    if cluster and (ended or type == "DELETED"):
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
