"""The periodic schedule of the operator (handlers/periodic.py) and per-object turns
(handlers/turns.py): spread over the interval, one run per object at a time, retries sooner."""

from __future__ import annotations

import asyncio
import collections
import threading
from typing import Any, cast

import kopf
import pytest

from kopfka.handlers import periodic
from kopfka.handlers.common import Key
from kopfka.handlers.turns import Turns

INTERVAL = 60.0
CLUSTERS = [(f"team-{i % 7}", f"events-{i}") for i in range(200)]


def test_phases_spread_200_clusters_over_the_minute() -> None:
    per_second = collections.Counter(int(periodic.phase(key, INTERVAL)) for key in CLUSTERS)
    assert all(0 <= periodic.phase(key, INTERVAL) < INTERVAL for key in CLUSTERS)
    # 200 runs in 60 s average 3.3 a second; none of the seconds gets a crowd.
    assert max(per_second.values()) <= 10
    assert len(per_second) >= 45


@pytest.mark.parametrize("after", [0.0, 0.5, 59.9, 60.0, 1234.5, 10**6 + 0.25])
def test_next_run_is_the_next_time_at_the_phase(after: float) -> None:
    for key in CLUSTERS[:20]:
        at = periodic.next_run(key, INTERVAL, after=after)
        assert after < at <= after + INTERVAL
        assert (at - periodic.phase(key, INTERVAL)) % INTERVAL == pytest.approx(0, abs=1e-6)


def test_a_phase_is_the_same_on_every_start() -> None:
    assert periodic.phase(("streaming", "events"), INTERVAL) == periodic.phase(
        ("streaming", "events"), INTERVAL
    )
    assert periodic.phase(("a", "bc"), INTERVAL) != periodic.phase(("ab", "c"), INTERVAL)


def test_a_turn_is_one_thread_at_a_time_and_dropped_when_free() -> None:
    turns = Turns()
    key = ("streaming", "events")
    with turns.take(key) as first:
        assert first
        seen: list[bool] = []

        def other() -> None:
            with turns.take(key, wait=False) as taken:
                seen.append(taken)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(timeout=10)
        assert seen == [False]
        with turns.take(("streaming", "other"), wait=False) as elsewhere:
            assert elsewhere
    with turns.take(key, wait=False) as again:
        assert again
    assert turns._locks == {}


def _body(key: Key) -> dict[str, Any]:
    return {"metadata": {"namespace": key[0], "name": key[1]}}


def _index(keys: list[Key]) -> kopf.Index[Key, periodic.Obj]:
    """A stand-in for a kopf index: a mapping of keys to collections of indexed values."""
    return cast(kopf.Index[Key, periodic.Obj], {key: [_body(key)] for key in keys})


async def _until(condition: Any, *, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def test_every_object_runs_every_interval_and_a_busy_one_is_skipped() -> None:
    keys = [("ns", "a"), ("ns", "b")]
    runs: list[Key] = []
    release = threading.Event()

    def work(body: periodic.Obj) -> None:
        key = (body["metadata"]["namespace"], body["metadata"]["name"])
        runs.append(key)
        if key == ("ns", "b"):
            release.wait(timeout=10)  # b's first run outlasts several intervals

    async def scenario() -> None:
        schedule = periodic.Schedule(what="test", index=_index(keys), interval=0.2, work=work)
        task = asyncio.create_task(schedule.run_forever())
        try:
            await _until(lambda: runs.count(("ns", "a")) >= 4)
            assert runs.count(("ns", "b")) == 1
            release.set()
            await _until(lambda: runs.count(("ns", "b")) >= 2)
        finally:
            release.set()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())


def test_a_run_that_asks_for_a_retry_runs_again_sooner() -> None:
    keys = [("ns", "a")]
    runs: list[Key] = []

    def work(body: periodic.Obj) -> float | None:
        runs.append((body["metadata"]["namespace"], body["metadata"]["name"]))
        return 0.05

    async def scenario() -> None:
        # The interval is long: only retries make a second and a third run within the deadline
        # (the schedule looks again at least every TICK_SECONDS).
        schedule = periodic.Schedule(what="test", index=_index(keys), interval=300, work=work)
        schedule.due[keys[0]] = asyncio.get_running_loop().time()
        task = asyncio.create_task(schedule.run_forever())
        try:
            await _until(lambda: len(runs) >= 3, timeout=3 * periodic.TICK_SECONDS + 1)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())


def test_objects_that_go_leave_the_schedule() -> None:
    index = {("ns", "a"): [_body(("ns", "a"))], ("ns", "b"): [_body(("ns", "b"))]}
    schedule = periodic.Schedule(
        what="test", index=cast(kopf.Index[Key, periodic.Obj], index), interval=60, work=print
    )
    schedule._start_due_runs(now=0.0)
    assert set(schedule.due) == {("ns", "a"), ("ns", "b")}
    # The first run is one interval after the object is first seen, at the object's phase.
    assert all(60 < at <= 120 for at in schedule.due.values())
    del index[("ns", "a")]
    schedule._start_due_runs(now=1.0)
    assert set(schedule.due) == {("ns", "b")}


def test_an_object_being_deleted_gets_no_more_runs() -> None:
    going = _body(("ns", "a"))
    going["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    index = {("ns", "a"): [going]}
    started: list[periodic.Obj] = []

    async def scenario() -> None:
        schedule = periodic.Schedule(
            what="test",
            index=cast(kopf.Index[Key, periodic.Obj], index),
            interval=60,
            work=started.append,
        )
        schedule.due[("ns", "a")] = 0.0
        schedule._start_due_runs(now=1.0)
        assert schedule.runs == set()
        assert schedule.due[("ns", "a")] > 1.0  # scheduled until it leaves the index

    asyncio.run(scenario())
    assert started == []
