"""One reconcile of an object at a time, whichever path asks for it.

A KafkaCluster is reconciled by its change handler and by the periodic drift run, and its status
is refreshed on its pods' events, each in a thread of its own. Two of them at once would each read
and write with a different view of the object, and the older view could be written last. So every
path takes the object's turn first.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from kopfka.handlers.common import Key


class Turns:
    """A lock per object key, made when someone asks for it and dropped when nobody holds it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        # Each key's lock and how many threads hold it or wait for it.
        self._locks: dict[Key, tuple[threading.Lock, int]] = {}

    @contextmanager
    def take(self, key: Key, *, wait: bool = True) -> Iterator[bool]:
        """Hold `key`'s turn during the block. With `wait=False`, the block gets False at once
        (and must not touch the object) when another thread holds the turn."""
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        taken = lock.acquire(blocking=wait)
        try:
            yield taken
        finally:
            if taken:
                lock.release()
            with self._guard:
                users = self._locks[key][1] - 1
                if users:
                    self._locks[key] = (lock, users)
                else:
                    del self._locks[key]
