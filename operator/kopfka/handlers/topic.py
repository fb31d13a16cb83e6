"""KafkaTopic handlers: validate and report on change, and re-check on a timer (the cluster the
topic names may appear, change size or go away later)."""

from __future__ import annotations

from typing import Any

import kopf

from kopfka import reconcile
from kopfka.handlers.common import interval_from_env, kube_of, now
from kopfka.model import names

TOPICS = (names.GROUP, names.VERSION, names.TOPIC_PLURAL)
# KOPFKA_TOPIC_RECHECK_INTERVAL, seconds; the integration tests shorten it.
RECHECK_INTERVAL_SECONDS = interval_from_env("KOPFKA_TOPIC_RECHECK_INTERVAL", 30)


@kopf.on.resume(*TOPICS)
@kopf.on.create(*TOPICS)
@kopf.on.update(*TOPICS)
def topic_changed(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    # Logged, not returned: a returned value is patched into the status (and pruned there).
    outcome = reconcile.reconcile_topic(kube_of(memo), dict(body), now=now())
    logger.debug("checked: %s", outcome.message)


@kopf.timer(*TOPICS, interval=RECHECK_INTERVAL_SECONDS, initial_delay=RECHECK_INTERVAL_SECONDS)
def topic_recheck(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    reconcile.reconcile_topic(kube_of(memo), dict(body), now=now())
