"""Per-cluster syncs of the resources that name a KafkaCluster (KafkaTopics, KafkaUsers): each
cluster's sync runs at most once at a time, soon after it is asked for, and requests fold into
one that is due or running, so 10,000 resources applied at once make a few syncs, not 10,000.

handlers/topic.py and handlers/user.py each keep one ClusterSyncs with their own sync function;
this is the one place that schedules them. It lives in the event loop: requests come from async
handlers, runs go to a thread pool.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import kopf

from kopfka.handlers import periodic
from kopfka.handlers.common import Key
from kopfka.k8s.informer import Informer

logger = logging.getLogger(__name__)

# How long a request waits for more to fold into the same sync.
COALESCE_SECONDS = 0.5
# After a sync failed on a bug or an API error.
ERROR_RETRY_SECONDS = 10.0

# sync(key, bodies as last seen, memo, full=...) -> how soon to sync again without an event.
SyncFunction = Callable[..., float | None]


class ClusterSyncs:
    """Runs the sync of each cluster key at most once at a time, soon after it is asked for.

    `what` names the resources in logs and thread names ("topics", "users"); `full` marks a sync
    that the periodic resync asked for (the sync function decides what that means).
    """

    def __init__(self, *, what: str, sync: SyncFunction, workers: int) -> None:
        self.what = what
        self.informer: Informer[Key] | None = None
        self.memo: kopf.Memo | None = None
        self._sync = sync
        self._executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix=f"kopfka-{what}"
        )
        self._timers: dict[Key, asyncio.TimerHandle] = {}
        self._running: set[Key] = set()
        self._again: set[Key] = set()
        self._full: set[Key] = set()
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
        if self.informer is None or not self.informer.synced.is_set() or self.memo is None:
            return  # not listed yet: the startup handler's first requests come after
        bodies = self.informer.get(key)
        full = key in self._full
        self._full.discard(key)
        self._running.add(key)
        run = self._run(key, bodies, self.memo, full=full)
        task = asyncio.create_task(run, name=f"kopfka {self.what} {key}")
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
            logger.exception("sync of the %s of KafkaCluster %s/%s failed", self.what, *key)
            again = ERROR_RETRY_SECONDS
        finally:
            self._running.discard(key)
        if key in self._again:
            self._again.discard(key)
            self.request(key)
        elif again is not None:
            self.request(key, again)

    async def resync_forever(self, interval: float) -> None:
        """Ask for a full sync of every cluster with resources once per `interval`, each at its
        own phase of it (periodic.phase)."""
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
                    self.request(key, 0.0, full=True)
            await asyncio.sleep(periodic.TICK_SECONDS)

    async def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)
