"""handlers/foreground.py: status refreshes and drift runs wait while change handlers reconcile,
and not longer than they are told."""

from __future__ import annotations

import threading
import time

from kopfka.handlers.foreground import Foreground

DEADLINE = 10.0


def test_a_waiter_goes_on_only_once_the_last_change_handler_is_done() -> None:
    foreground = Foreground()
    inside = threading.Barrier(3)
    done = {"first": threading.Event(), "second": threading.Event()}
    ended: dict[str, float] = {}

    def change(name: str) -> None:
        with foreground.changing():
            inside.wait(DEADLINE)
            done[name].wait(DEADLINE)
            ended[name] = time.monotonic()

    changes = [threading.Thread(target=change, args=(name,)) for name in done]
    for thread in changes:
        thread.start()
    inside.wait(DEADLINE)
    assert foreground.busy()
    waiting = threading.Event()
    returned: list[tuple[float, bool]] = []

    def wait() -> None:
        waiting.set()
        foreground.wait_idle(DEADLINE)
        # A waiter that went on early would find a change handler still at work.
        returned.append((time.monotonic(), foreground.busy()))

    waiter = threading.Thread(target=wait)
    waiter.start()
    waiting.wait(DEADLINE)
    done["first"].set()
    changes[0].join(DEADLINE)
    done["second"].set()
    waiter.join(DEADLINE)
    changes[1].join(DEADLINE)
    assert returned, "the waiter never went on"
    went_on, still_busy = returned[0]
    assert not still_busy
    assert went_on >= max(ended.values())
    assert not foreground.busy()


def test_a_waiter_goes_on_after_its_timeout_while_changes_go_on() -> None:
    foreground = Foreground()
    with foreground.changing():
        waited = foreground.wait_idle(timeout=0.05)
        assert waited >= 0.05
        assert foreground.busy()


def test_nothing_to_wait_for_when_no_change_handler_runs() -> None:
    foreground = Foreground()
    assert not foreground.busy()
    assert foreground.wait_idle(timeout=DEADLINE) < DEADLINE
