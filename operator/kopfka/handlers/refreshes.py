"""When a KafkaCluster is looked at again without a change to its spec: shortly after its pods
change, and after a while during a rolling restart (no event says when a restarted broker has
caught up).

Pod events come in bursts: each of six pods is created, scheduled, started and made ready, so a
new cluster sends some twenty events within seconds, and a refresh per event spent the API
requests and handler threads that the clusters still being created needed. So an event asks for a
refresh a moment later (`POD_EVENT_DELAY`), and the events until then ride along with it. Each
cluster has at most one refresh due, at the earliest time anyone asked for, and at most one
waiting for a thread. Refreshes run on a pool of their own, never in kopf's handler threads, and
never two of one cluster at once: one asked for while another runs makes that one go again, with
a fresh view (parallel refreshes each listed the pods at a different moment, and the oldest view
could be written last).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from kopfka.handlers.common import Key

logger = logging.getLogger(__name__)

# Seconds from a pod event to the refresh it asks for.
POD_EVENT_DELAY = 1.0
WORKERS = 8


class Refreshes:
    """Runs `work(key)` for the keys asked for, each once per request window, on `workers`
    threads; `start` it on the operator's event loop before asking."""

    def __init__(self, *, workers: int = WORKERS) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="kopfka-refresh"
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._work: Callable[[Key], None] | None = None
        self._due: dict[Key, asyncio.TimerHandle] = {}  # touched on the loop only
        self._lock = threading.Lock()
        self._queued: set[Key] = set()  # waiting for a thread
        self._running: set[Key] = set()
        self._again: set[Key] = set()  # to run once more when the running refresh ends

    def start(self, loop: asyncio.AbstractEventLoop, work: Callable[[Key], None]) -> None:
        self._loop = loop
        self._work = work

    def stop(self) -> None:
        """Forget the refreshes that are due (on the loop, at the operator's shutdown)."""
        for handle in self._due.values():
            handle.cancel()
        self._due.clear()

    def ask(self, key: Key, seconds: float) -> None:
        """Refresh `key` in `seconds` at the latest. From any thread."""
        if self._loop is None:
            raise RuntimeError("Refreshes.ask before start")
        self._loop.call_soon_threadsafe(self._schedule, key, seconds)

    def _schedule(self, key: Key, seconds: float) -> None:
        assert self._loop is not None
        when = self._loop.time() + seconds
        due = self._due.get(key)
        if due is not None:
            if due.when() <= when:
                return  # an earlier refresh is due; it sees what this one would
            due.cancel()
        self._due[key] = self._loop.call_at(when, self._fire, key)

    def _fire(self, key: Key) -> None:
        self._due.pop(key, None)
        with self._lock:
            if key in self._queued:
                return  # one waits for a thread already, and sees what this one would
            self._queued.add(key)
        self._executor.submit(self._run, key)

    def _run(self, key: Key) -> None:
        assert self._work is not None
        with self._lock:
            self._queued.discard(key)
            if key in self._running:
                self._again.add(key)
                return
            self._running.add(key)
        while True:
            try:
                self._work(key)
            except Exception:  # a bug or an API error: the next event or drift run tries again
                logger.exception("refresh of %s/%s failed", *key)
            with self._lock:
                if key not in self._again:
                    self._running.discard(key)
                    return
                self._again.discard(key)
