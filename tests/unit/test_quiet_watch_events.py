"""The operator's log stays readable under thousands of watch events: kopf's success line for
each raw watch-event handler is dropped, its failures and every other handler's lines are kept."""

from __future__ import annotations

import logging

import kopf

import kopfka.handlers  # noqa: F401  (registers the handlers)
from kopfka.handlers.settings import WATCH_EVENT_HANDLERS, QuietWatchEvents


def record(message: str, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("kopf.objects", level, __file__, 1, message, None, None)


def test_every_raw_watch_event_handler_is_quiet_and_nothing_else_is() -> None:
    watching = kopf.get_default_registry()._watching
    registered = {handler.id for handler in watching.get_all_handlers()}
    assert registered == set(WATCH_EVENT_HANDLERS)


def test_only_the_success_lines_of_watch_event_handlers_are_dropped() -> None:
    quiet = QuietWatchEvents()
    assert not quiet.filter(record("Handler 'topic_job_event' succeeded."))
    assert not quiet.filter(record("Handler 'pod_event' succeeded."))
    assert quiet.filter(record("Handler 'pod_event' failed with an exception and will stop now"))
    assert quiet.filter(record("Handler 'reconcile_cluster' succeeded."))
    assert quiet.filter(record("Timer 'pod_event' succeeded."))
