"""Run one call per item on a shared thread pool, with only a few of them submitted at a time.

A topic sync writes the status of every KafkaTopic of its cluster, thousands of API round trips.
Submitting them all to the pool at once made a Future, a work item and a Condition (a lock and a
deque of waiters) for each before the first had run, about 1 KiB per KafkaTopic (18 MiB at 10,000,
seen with tracemalloc), all held until the last write ended and left scattered through the heap
after. A window of a few times the pool's threads keeps every thread busy just the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from typing import TypeVar

T = TypeVar("T")


def call_each(
    executor: Executor, call: Callable[[T], object], items: Iterable[T], *, in_flight: int
) -> None:
    """`call(item)` for every item on `executor`, at most `in_flight` submitted at once. Every
    item is tried; then the error of the first item (in the items' order) that failed, if any,
    is raised."""
    pending: dict[Future[object], int] = {}
    failed: list[tuple[int, BaseException]] = []

    def settle(done: Iterable[Future[object]]) -> None:
        for future in done:
            index = pending.pop(future)
            error = future.exception()
            if error is not None:
                failed.append((index, error))

    for index, item in enumerate(items):
        if len(pending) >= in_flight:
            settle(wait(pending, return_when=FIRST_COMPLETED).done)
        pending[executor.submit(call, item)] = index
    settle(wait(pending).done)
    if failed:
        raise min(failed, key=lambda failure: failure[0])[1]
