"""A sync's status writes go to the shared pool a few at a time (topics/bounded.py): never more
submitted than the window, every one tried even after one failed, and the first failure (in the
order of the items) raised at the end."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from kopfka.topics.bounded import call_each


class CountingPool(ThreadPoolExecutor):
    """A thread pool that records the most futures submitted and not yet done at once."""

    def __init__(self) -> None:
        super().__init__(max_workers=3)
        self._lock = threading.Lock()
        self.outstanding = 0
        self.most = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._lock:
            self.outstanding += 1
            self.most = max(self.most, self.outstanding)
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(self._done)
        return future

    def _done(self, _: Future[Any]) -> None:
        with self._lock:
            self.outstanding -= 1


def test_no_more_than_the_window_is_submitted_and_every_item_is_called() -> None:
    called: list[int] = []
    with CountingPool() as pool:
        call_each(pool, called.append, range(500), in_flight=4)
    assert sorted(called) == list(range(500))
    assert pool.most <= 4


def test_every_item_is_tried_and_the_first_failure_in_item_order_is_raised() -> None:
    called: list[int] = []

    def call(item: int) -> None:
        called.append(item)
        if item in {7, 3, 40}:
            raise ValueError(f"item {item}")

    with ThreadPoolExecutor(max_workers=3) as pool, pytest.raises(ValueError, match="item 3"):
        call_each(pool, call, range(50), in_flight=2)
    assert sorted(called) == list(range(50))


def test_nothing_to_call() -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        call_each(pool, lambda _: None, [], in_flight=2)
