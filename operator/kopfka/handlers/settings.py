"""Operator startup: kopf settings that keep kopfka's state in its own names, and the API client.

kopf's bookkeeping goes to annotations under kopf.kopfka.dev (never to spec or to a status field the
CRD does not have). Not under kopfka.dev itself: kopf ignores changes to annotations under its
storage prefix, and users' own annotations (kopfka.dev/paused) must reach the change handlers.
kopfka posts its own Events for what people should know (kopf's per-object log lines would be
posted as Events too with `posting.loggers`, which stays off), so a steady cluster causes no writes.
kopf's finalizer is named kopfka.dev/finalizer: no handler needs one today (handlers/periodic.py
says why), and kopf removes it, by that name, from objects an older kopfka gave it. The pod and Job
watches ask the API server for kopfka's Kafka pods and topic Jobs only. Settings that follow the
command line are in cli.py.
"""

from __future__ import annotations

from typing import Any

import kopf

from kopfka.handlers.cluster import POD_SELECTOR
from kopfka.k8s.client import Kube
from kopfka.model import names


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.persistence.finalizer = names.FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix=names.KOPF_STORAGE_PREFIX
    )
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=names.KOPF_STORAGE_PREFIX, key="last-handled-configuration"
    )
    settings.watching.server_timeout = 300
    # Server-side: kopf's `labels=` handler filters would run in the operator, after the API
    # server had sent it every pod of the cluster.
    settings.watching.label_selectors["v1", "pods"] = POD_SELECTOR
    settings.watching.label_selectors["batch/v1", "jobs"] = names.TOPIC_JOB_SELECTOR
    memo["kube"] = Kube.from_environment()
