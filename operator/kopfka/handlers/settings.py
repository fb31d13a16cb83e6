"""Operator startup: kopf settings that keep kopfka's state in its own names, and the API client.

kopf's bookkeeping goes to annotations under kopf.kopfka.dev (never to spec or to a status field the
CRD does not have). Not under kopfka.dev itself: kopf ignores changes to annotations under its
storage prefix, and users' own annotations (kopfka.dev/paused) must reach the change handlers.
kopfka posts its own Events for what people should know (kopf's per-object log lines would be
posted as Events too with `posting.loggers`, which stays off), so a steady cluster causes no writes.
kopf runs the synchronous handlers in a thread pool of HANDLER_WORKERS threads.
kopf's finalizer is named kopfka.dev/finalizer: no handler needs one today (handlers/periodic.py
says why), and kopf removes it, by that name, from objects an older kopfka gave it. The pod and Job
watches ask the API server for kopfka's Kafka pods and topic Jobs only. Settings that follow the
command line are in cli.py.

kopf logs in with kopfka's own reading of the service account or kubeconfig (k8s/connection.py),
so kopf and kopfka's own requests always reach the same API server as the same identity, whether
or not the Kubernetes client happens to be installed (kopf would otherwise log in through it when
it is, and with its own minimal readers when it is not).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

import kopf

from kopfka.handlers.cluster import POD_SELECTOR
from kopfka.handlers.common import watched_namespaces
from kopfka.k8s import connection
from kopfka.k8s.children import Children
from kopfka.k8s.client import Kube, api_client
from kopfka.k8s.informer import Informer
from kopfka.model import names

# kopfka's handlers of raw watch events: one runs for every event of its kind (a KafkaTopic's
# status write, a pod's readiness), so kopf's line for each success would be most of the log.
WATCH_EVENT_HANDLERS = (
    "topic_job_event",
    "cluster_event",
    "pod_event",
    "user_job_event",
    "cluster_event_for_users",
)


class QuietWatchEvents(logging.Filter):
    """Drops kopf's "Handler '...' succeeded." line for the raw watch-event handlers: when kopf
    still watched KafkaTopics, 10,000 applied at once made 20,000 such lines, a third of the
    operator's CPU in a profile. Their failures, and every other handler's lines, stay."""

    QUIET = frozenset(f"Handler {name!r} succeeded." for name in WATCH_EVENT_HANDLERS)

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg not in self.QUIET


_quiet_watch_events = QuietWatchEvents()

# Threads for kopf's synchronous handlers (the KafkaCluster reconciles and pod-event refreshes).
# A reconcile spends nearly all its time waiting for the API server, so threads, not cores, bound
# how many clusters move at once. Python's default, min(32, CPUs + 4), is 6 on a 2-CPU node, where
# 50 KafkaClusters applied together waited in line for a thread; with 16 they wait for the API
# server instead (bench/results/integration.json).
HANDLER_WORKERS = 16


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    logging.getLogger("kopf.objects").addFilter(_quiet_watch_events)
    settings.persistence.finalizer = names.FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix=names.KOPF_STORAGE_PREFIX
    )
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=names.KOPF_STORAGE_PREFIX, key="last-handled-configuration"
    )
    settings.watching.server_timeout = 300
    settings.execution.max_workers = HANDLER_WORKERS
    # Server-side: kopf's `labels=` handler filters would run in the operator, after the API
    # server had sent it every pod of the cluster.
    settings.watching.label_selectors["v1", "pods"] = POD_SELECTOR
    settings.watching.label_selectors["batch/v1", "jobs"] = names.TOPIC_JOB_SELECTOR
    kube = Kube.from_environment()
    # Its own connections: each of its watches holds one for minutes.
    children = Children(functools.partial(Informer, api_client()), watched_namespaces(memo))
    children.start()
    kube.read_children_from(children)
    memo["kube"] = kube
    memo["children"] = children


@kopf.on.cleanup()
async def stop_children(memo: kopf.Memo, **_: Any) -> None:
    children = memo.get("children")
    if isinstance(children, Children):
        await asyncio.get_running_loop().run_in_executor(None, children.stop)


@kopf.on.login()
def login(**_: Any) -> kopf.ConnectionInfo:
    """kopf's credentials, read as kopfka reads them. kopf calls this again when the API server
    answers 401, which reads a rotated service account token."""
    found = connection.from_environment()
    return kopf.ConnectionInfo(
        server=found.server,
        ca_path=found.ca_file if found.ca_data is None else None,
        ca_data=found.ca_data,
        insecure=found.insecure,
        certificate_path=found.cert_file if found.cert_data is None else None,
        certificate_data=found.cert_data,
        private_key_path=found.key_file if found.key_data is None else None,
        private_key_data=found.key_data,
        token=found.bearer(fresh=True),
    )
