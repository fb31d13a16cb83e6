"""Waiting on conditions with deadlines: never a fixed sleep standing in for a condition."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

POLL_SECONDS = 0.25


class Timeout(AssertionError):
    """The condition did not hold before the deadline; the message says what was last seen."""


def wait_for(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    describe: Callable[[], str] | None = None,
    interval: float = POLL_SECONDS,
    retry_on: tuple[type[Exception], ...] = (),
) -> T:
    """Call `probe` until it returns something true (not None, False, 0 or empty); return that.

    On timeout, raise Timeout naming `what` and, if given, `describe()` (the state that explains
    the failure, e.g. the object's status). Exceptions from `probe` propagate, except those in
    `retry_on` (a server still starting), which count as "not yet"; an AssertionError always
    propagates, since it means the condition can never hold.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            result = probe()
        except AssertionError:
            raise
        except retry_on as error:
            last_error, result = error, None
        if result:
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            detail = f"; last seen: {describe()}" if describe is not None else ""
            if last_error is not None:
                detail += f"; last error: {last_error!r}"
            raise Timeout(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        # Polling interval between two checks of the condition, capped by the deadline.
        time.sleep(min(interval, remaining))


def holds_for(
    probe: Callable[[], bool], *, seconds: float, what: str, interval: float = POLL_SECONDS
) -> None:
    """Assert that `probe` stays true during a whole window (for "nothing changes" checks)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not probe():
            raise AssertionError(f"{what} stopped holding")
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
