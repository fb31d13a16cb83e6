"""Periodic work on every KafkaCluster, with no finalizer on any of them (KafkaTopics have a resync
of their own, handlers/topic.py, on the same principle).

kopf puts its finalizer on every object a timer or a daemon serves, so that it can stop them before
the object goes (`requires_finalizer=True` in `kopf.timer` and `kopf.daemon`, whatever the delete
handlers say). Deleting such an object, or its namespace, then waits for the operator, for ever if
it is down or uninstalled. So kopfka keeps no timers: a kopf index (`@kopf.index`, filled from the
same watch stream as the handlers, adding no finalizer) holds each object as last seen, and one
task per kind of work, started with the operator, runs the work on every indexed object every
`interval` seconds.

Each object runs at its own phase of the interval (a hash of its namespace and name), so 200
clusters do not all reconcile in the same second, and the first run comes one interval after the
object is first seen (the change handlers have just handled it). Runs go to a small thread pool of
their own, so they never hold up the change handlers (work that waits on Kafka brings a pool of its
own, so it never holds up the reconciles either); a run still going when the next is due skips
that one. An object being deleted (another finalizer holds it, or a foreground deletion) gets no
more runs: the garbage collector is removing its children.
"""

from __future__ import annotations

import asyncio
import logging
import math
import zlib
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

import kopf

from kopfka.handlers.common import Key

logger = logging.getLogger(__name__)

Obj = dict[str, Any]
# The work on one object; it returns how soon (seconds) to run again if sooner than the interval.
Work = Callable[[Obj], float | None]

WORKERS = 4
# How often the schedule looks at the index for objects that came or went, at most.
TICK_SECONDS = 1.0

_executor = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="kopfka-periodic")
_executors: list[Executor] = [_executor]
_schedules: set[asyncio.Task[None]] = set()


def snapshot(body: kopf.Body) -> Obj:
    """What an index keeps of an object: all of it but `managedFields` (large, never read)."""
    kept = dict(body)
    kept["metadata"] = {k: v for k, v in body["metadata"].items() if k != "managedFields"}
    return kept


def phase(key: Key, interval: float) -> float:
    """Where in each interval the object `key` runs: the same on every start, spread over keys."""
    return interval * zlib.crc32("/".join(key).encode()) / 2**32


def next_run(key: Key, interval: float, *, after: float) -> float:
    """The first time later than `after` that is at `key`'s phase of the interval."""
    periods = math.floor((after - phase(key, interval)) / interval) + 1
    return phase(key, interval) + periods * interval


class Schedule:
    """Runs `work` on every object of `index` every `interval` seconds, each at its phase."""

    def __init__(
        self,
        *,
        what: str,
        index: kopf.Index[Key, Obj],
        interval: float,
        work: Work,
        executor: Executor = _executor,
    ) -> None:
        self.what = what
        self.index = index
        self.interval = interval
        self.work = work
        self.executor = executor
        self.due: dict[Key, float] = {}
        self.running: set[Key] = set()
        self.runs: set[asyncio.Task[None]] = set()

    async def run_forever(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    self._start_due_runs(loop.time())
                except Exception:  # a bug: say so, and keep the periodic work going
                    logger.exception("scheduling the %s failed", self.what)
                soonest = min(self.due.values(), default=math.inf)
                await asyncio.sleep(max(0.0, min(TICK_SECONDS, soonest - loop.time())))
        finally:
            for run in self.runs:
                run.cancel()

    def _start_due_runs(self, now: float) -> None:
        # The index is changed only by kopf's coroutines, in this thread: reading it here is safe.
        present = set(self.index)
        for key in self.due.keys() - present:
            del self.due[key]
        for key in present - self.due.keys():
            self.due[key] = next_run(key, self.interval, after=now + self.interval)
        for key, at in self.due.items():
            if at > now:
                continue
            self.due[key] = next_run(key, self.interval, after=now)
            if key in self.running:
                continue
            body = next(iter(self.index[key]))
            if body["metadata"].get("deletionTimestamp"):
                continue  # going (another finalizer holds it): nothing to keep up any more
            self.running.add(key)
            run = asyncio.create_task(self._run(key, body), name=f"kopfka {self.what} {key}")
            self.runs.add(run)
            run.add_done_callback(self.runs.discard)

    async def _run(self, key: Key, body: Obj) -> None:
        loop = asyncio.get_running_loop()
        try:
            again = await loop.run_in_executor(self.executor, self.work, body)
        except Exception:
            if key in self.index:
                logger.exception("%s of %s/%s failed", self.what, *key)
            else:  # deleted meanwhile (its namespace too, perhaps): nothing went wrong
                logger.debug("%s of %s/%s stopped: it was deleted", self.what, *key)
            again = None
        finally:
            self.running.discard(key)
        if again is not None and key in self.due:
            self.due[key] = min(self.due[key], loop.time() + again)


def start(
    *,
    what: str,
    index: kopf.Index[Key, Obj],
    interval: float,
    work: Work,
    workers: int | None = None,
) -> None:
    """Start a schedule (from a startup handler: kopf fills the index as the operator runs). With
    `workers`, its runs get a thread pool of that many threads of their own instead of the shared
    one."""
    executor: Executor = _executor
    if workers is not None:
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"kopfka {what}")
        _executors.append(executor)
    schedule = Schedule(what=what, index=index, interval=interval, work=work, executor=executor)
    task = asyncio.create_task(schedule.run_forever(), name=f"kopfka {what}")
    _schedules.add(task)


@kopf.on.cleanup()
async def stop_schedules(**_: Any) -> None:
    for task in _schedules:
        task.cancel()
    await asyncio.gather(*_schedules, return_exceptions=True)
    _schedules.clear()
    # A run already in a thread finishes (a reconcile takes about a second); none starts.
    for executor in _executors:
        executor.shutdown(wait=False, cancel_futures=True)
