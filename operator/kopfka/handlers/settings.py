"""Operator startup: kopf settings that keep kopfka's state in its own names, and the API client.

kopf's bookkeeping goes to annotations under kopfka.dev (never to spec or to a status field the CRD
does not have), the finalizer is kopfka.dev/finalizer, and only warnings become Kubernetes Events so
a steady cluster causes no writes.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from kopfka.k8s.client import Kube
from kopfka.model import names


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.persistence.finalizer = names.FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=names.GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=names.GROUP, key="last-handled-configuration"
    )
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 300
    # A cluster deleted while its drift timer is reconciling keeps its finalizer until kopf sees
    # the timer gone; kopf looks again only every `cancellation_polling` seconds (60 by default),
    # so deletions stalled for a minute. A reconcile takes well under a second: wait for it.
    settings.background.instant_exit_timeout = 10
    settings.background.cancellation_polling = 2
    memo["kube"] = Kube.from_environment()
