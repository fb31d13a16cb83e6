"""Cluster refreshes asked for by pod events and rolling restarts (handlers/refreshes.py): a burst
of asks is one refresh, the earliest ask wins, and one cluster never refreshes twice at once.

Each test knows when every earlier ask has been dealt with by asking for a last key (SENTINEL)
after them and waiting for its refresh: timers fire in order of their time, and a pool of one
thread runs in the order it was given work."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

from kopfka.handlers.common import Key
from kopfka.handlers.refreshes import Refreshes

DEADLINE = 10.0
EVENTS = ("streaming", "events")
ORDERS = ("shop", "orders")
SENTINEL = ("test", "sentinel")


class Recorder:
    """Work that counts its runs per key; `hold` keeps a run of EVENTS inside its work."""

    def __init__(self) -> None:
        self.runs: Counter[Key] = Counter()
        self.changed = threading.Condition()
        self.hold = threading.Event()
        self.hold.set()
        self.inside = threading.Event()

    def __call__(self, key: Key) -> None:
        if key == EVENTS:
            self.inside.set()
            assert self.hold.wait(DEADLINE)
        with self.changed:
            self.runs[key] += 1
            self.changed.notify_all()

    async def wait_runs(self, key: Key, count: int) -> None:
        def wait() -> None:
            with self.changed:
                assert self.changed.wait_for(lambda: self.runs[key] >= count, DEADLINE), dict(
                    self.runs
                )

        await asyncio.to_thread(wait)


class Firing(Refreshes):
    """Refreshes that count the timers that fired, so a test can wait for one to fire."""

    def __init__(self, *, workers: int) -> None:
        super().__init__(workers=workers)
        self.fired = 0
        self._changed = asyncio.Event()

    def _fire(self, key: Key) -> None:
        super()._fire(key)
        self.fired += 1
        self._changed.set()

    async def wait_fired(self, count: int) -> None:
        async with asyncio.timeout(DEADLINE):
            while self.fired < count:
                self._changed.clear()
                await self._changed.wait()


def test_a_burst_of_asks_is_one_refresh_per_cluster() -> None:
    async def scenario() -> Counter[Key]:
        work = Recorder()
        refreshes = Refreshes(workers=1)
        refreshes.start(asyncio.get_running_loop(), work)
        for _ in range(20):  # six pods created, scheduled, started, ready...
            refreshes.ask(EVENTS, 0.2)
        refreshes.ask(ORDERS, 0.2)
        await work.wait_runs(EVENTS, 1)
        refreshes.ask(SENTINEL, 0.3)
        await work.wait_runs(SENTINEL, 1)
        return work.runs

    assert asyncio.run(scenario()) == Counter({EVENTS: 1, ORDERS: 1, SENTINEL: 1})


def test_an_earlier_ask_moves_the_refresh_forward() -> None:
    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        work = Recorder()
        refreshes = Refreshes(workers=1)
        refreshes.start(loop, work)
        asked = loop.time()
        refreshes.ask(EVENTS, 60.0)  # a rolling restart looks again in a minute
        refreshes.ask(EVENTS, 0.0)  # a pod event
        await work.wait_runs(EVENTS, 1)
        took = loop.time() - asked
        refreshes.stop()
        return took

    assert asyncio.run(scenario()) < 30.0


def test_an_ask_during_a_refresh_makes_it_go_once_more_never_beside_it() -> None:
    async def scenario() -> tuple[int, int]:
        work = Recorder()
        work.hold.clear()
        refreshes = Refreshes(workers=2)
        refreshes.start(asyncio.get_running_loop(), work)
        refreshes.ask(EVENTS, 0.0)
        assert await asyncio.to_thread(work.inside.wait, DEADLINE)
        for _ in range(3):  # while the first refresh is held inside its work
            refreshes.ask(EVENTS, 0.0)
        refreshes.ask(SENTINEL, 0.05)
        await work.wait_runs(SENTINEL, 1)  # on the second thread, after the three asks
        during = work.runs[EVENTS]
        work.hold.set()
        await work.wait_runs(EVENTS, 2)
        return during, work.runs[EVENTS]

    during, after = asyncio.run(scenario())
    assert during == 0  # none ran beside the held one
    assert after == 2  # the held one, then once more for all three asks


def test_refreshes_waiting_for_a_thread_are_one_per_cluster() -> None:
    async def scenario() -> tuple[int, Counter[Key]]:
        work = Recorder()
        work.hold.clear()
        refreshes = Firing(workers=1)
        refreshes.start(asyncio.get_running_loop(), work)
        refreshes.ask(EVENTS, 0.0)
        assert await asyncio.to_thread(work.inside.wait, DEADLINE)
        # Three more timers fire, one after the other, while the only thread is busy.
        for fired in (2, 3, 4):
            refreshes.ask(EVENTS, 0.0)
            await refreshes.wait_fired(fired)
        refreshes.ask(SENTINEL, 0.0)
        work.hold.set()
        await work.wait_runs(SENTINEL, 1)
        return refreshes.fired, work.runs

    fired, runs = asyncio.run(scenario())
    assert fired == 5  # the held refresh's timer, three more for EVENTS, the sentinel's
    assert runs == Counter({EVENTS: 2, SENTINEL: 1})


def test_a_failing_refresh_does_not_stop_later_ones() -> None:
    async def scenario() -> list[Key]:
        calls: list[Key] = []
        done = threading.Event()

        def work(key: Key) -> None:
            calls.append(key)
            if key == EVENTS:
                raise RuntimeError("the API server said no")
            done.set()

        refreshes = Refreshes(workers=1)
        refreshes.start(asyncio.get_running_loop(), work)
        refreshes.ask(EVENTS, 0.0)
        refreshes.ask(ORDERS, 0.1)
        assert await asyncio.to_thread(done.wait, DEADLINE)
        return calls

    assert asyncio.run(scenario()) == [EVENTS, ORDERS]
