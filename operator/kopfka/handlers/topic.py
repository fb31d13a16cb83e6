"""KafkaTopic handlers: validate and report on change, and re-check periodically (the cluster the
topic names may appear, change size or go away later). One check of a topic at a time."""

from __future__ import annotations

import functools
from typing import Any

import kopf

from kopfka import reconcile
from kopfka.handlers import periodic
from kopfka.handlers.common import Key, interval_from_env, key_of, kube_of, now
from kopfka.handlers.turns import Turns
from kopfka.model import names

TOPICS = (names.GROUP, names.VERSION, names.TOPIC_PLURAL)
# KOPFKA_TOPIC_RECHECK_INTERVAL, seconds; the integration tests shorten it.
RECHECK_INTERVAL_SECONDS = interval_from_env("KOPFKA_TOPIC_RECHECK_INTERVAL", 30)

_turns = Turns()


@kopf.on.resume(*TOPICS)
@kopf.on.create(*TOPICS)
@kopf.on.update(*TOPICS)
def topic_changed(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    with _turns.take(key_of(body)):
        # Logged, not returned: a returned value is patched into the status (and pruned there).
        outcome = reconcile.reconcile_topic(kube_of(memo), dict(body), now=now())
    logger.debug("checked: %s", outcome.message)


@kopf.index(*TOPICS)
async def kafka_topics(body: kopf.Body, **_: Any) -> dict[Key, periodic.Obj]:
    """Every topic as last seen, for the periodic re-check."""
    return {key_of(body): periodic.snapshot(body)}


def _recheck(memo: kopf.Memo, body: periodic.Obj) -> None:
    with _turns.take(key_of(body), wait=False) as mine:
        if mine:  # else a change handler is checking it, with a newer view
            reconcile.reconcile_topic(kube_of(memo), body, now=now())


@kopf.on.startup()
async def start_rechecks(memo: kopf.Memo, **kwargs: Any) -> None:
    periodic.start(
        what="topic re-check",
        # kopf passes each index as a keyword argument named after it.
        index=kwargs["kafka_topics"],
        interval=RECHECK_INTERVAL_SECONDS,
        work=functools.partial(_recheck, memo),
    )
