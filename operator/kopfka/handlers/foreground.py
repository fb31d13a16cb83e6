"""Changes first: while change handlers reconcile KafkaClusters, status refreshes and drift runs
wait a while.

A bulk apply (50 clusters at once, or a GitOps sync of a whole fleet) keeps every change handler
busy for seconds, and meanwhile the pods of the clusters made first start: each of their events
asks for a status refresh, and each new broker pod for a reconcile of its cluster. Those ran
beside the change handlers and took the same API server's time, so the last clusters of the batch
got their children later (bench/results/integration*.json). None of them is urgent next to a
change: a pod that just started is not ready yet, and the drift run comes back every minute
anyway. So they wait until no change handler runs, for `MAX_WAIT_SECONDS` at most, so that a
stream of changes never holds the status back for long.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

MAX_WAIT_SECONDS = 30.0


class Foreground:
    """How many change handlers are reconciling now; others can wait until none is."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._running = 0

    @contextmanager
    def changing(self) -> Iterator[None]:
        with self._changed:
            self._running += 1
        try:
            yield
        finally:
            with self._changed:
                self._running -= 1
                if not self._running:
                    self._changed.notify_all()

    def busy(self) -> bool:
        with self._changed:
            return self._running > 0

    def wait_idle(self, timeout: float = MAX_WAIT_SECONDS) -> float:
        """Block until no change handler runs, or `timeout` passed; the seconds waited."""
        started = time.monotonic()
        with self._changed:
            self._changed.wait_for(lambda: self._running == 0, timeout=timeout)
        return time.monotonic() - started
