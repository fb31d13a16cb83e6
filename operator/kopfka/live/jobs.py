"""Runs a Job with one of Kafka's own tools for a piece of work, once, and says how it went.

Settings Jobs and features Jobs are named by a digest of their work (render/tool_job.py), so a
Job of the same name is the same work: found again, it is not started twice; its end is read from
its conditions, and Kafka's refusal from its pod's log. Starting one deletes the cluster's earlier
Jobs of that kind (kept until then for people to read). A Job that succeeded some time ago while
its work still shows as undone in Kafka (someone changed it back) is deleted, so the next pass
runs the work again. `Progress` is what each kind of such work reports back to the reconcile.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kopfka import metrics
from kopfka.k8s.client import ApplyError, Conflict, Kube, Obj
from kopfka.model import names

# A Job that succeeded this long ago while Kafka still does not show its work.
STALE_JOB_SECONDS = 60.0
_JOB_NAME_LABEL = "batch.kubernetes.io/job-name"


class Phase(StrEnum):
    STARTED = "started"
    RUNNING = "running"
    FAILED = "failed"  # `answer` holds Kafka's reason
    DONE = "done"  # succeeded; Kafka may not show it yet
    NOT_STARTED = "not started"  # the API server refused it; `answer` says why


@dataclass(frozen=True)
class Started:
    """The Event said on the KafkaCluster when the Job starts."""

    reason: str
    message: str


@dataclass(frozen=True)
class Progress:
    """What a pass of kopfka's work inside Kafka found (live settings, the metadata version): its
    part of the status, a (reason, message) while the work is not done (model/status.py
    KAFKA_WORK_REASONS says which condition shows it), and when to look again."""

    status: dict[str, Any]
    problem: tuple[str, str] | None = None
    again: float | None = None


@dataclass(frozen=True)
class JobState:
    name: str
    phase: Phase
    answer: str = ""


def run_tool_job(
    kube: Kube,
    body: Obj,
    job: Obj,
    *,
    component: str,
    before_start: Callable[[], object] = lambda: None,
    started: Started | None = None,
) -> JobState:
    """The state of `job`'s work: started now (after `before_start`, e.g. recording in status
    what it is about to change, and with the Event `started`), or as found."""
    metadata = job["metadata"]
    name, namespace = metadata["name"], metadata["namespace"]
    cluster = body["metadata"]["name"]
    jobs = kube.list(
        "batch/v1",
        "Job",
        namespace,
        {"app.kubernetes.io/component": component, names.CLUSTER_LABEL: cluster},
    )
    same = next((j for j in jobs if j["metadata"]["name"] == name), None)
    if same is not None:
        return _found(kube, same)
    before_start()
    for old in jobs:
        kube.delete(old, background=True)
    try:
        kube.create(job)
    except Conflict:
        return JobState(name, Phase.RUNNING)  # made meanwhile by a pass with the same work
    except ApplyError as error:
        return JobState(name, Phase.NOT_STARTED, str(error))
    metrics.JOBS_STARTED.labels(component).inc()
    if started is not None:
        kube.post_event(body, warning=False, reason=started.reason, message=started.message)
    return JobState(name, Phase.STARTED)


def _found(kube: Kube, job: Obj) -> JobState:
    name = job["metadata"]["name"]
    conditions = {c.get("type"): c for c in (job.get("status") or {}).get("conditions") or [] if c}
    failed = conditions.get("Failed")
    if failed and failed.get("status") == "True":
        component = (job["metadata"].get("labels") or {}).get("app.kubernetes.io/component", "")
        metrics.job_failed(component, job["metadata"]["uid"])
        return JobState(name, Phase.FAILED, kafkas_answer(kube, job))
    complete = conditions.get("Complete")
    if complete and complete.get("status") == "True":
        if _older_than(complete.get("lastTransitionTime"), STALE_JOB_SECONDS):
            kube.delete(job, background=True)
        return JobState(name, Phase.DONE)
    return JobState(name, Phase.RUNNING)


def kafkas_answer(kube: Kube, job: Obj) -> str:
    """The line of the Job's log that says why Kafka refused (its exception's message): the tools
    of Kafka and kopfka's own Job commands end a failed run with such a line."""
    namespace = job["metadata"]["namespace"]
    pods = kube.list("v1", "Pod", namespace, {_JOB_NAME_LABEL: job["metadata"]["name"]})
    for pod in sorted(pods, key=lambda p: p["metadata"]["creationTimestamp"], reverse=True):
        text = kube.pod_log(pod["metadata"]["name"], namespace) or ""
        lines = [line.strip() for line in text.splitlines() if "Exception: " in line]
        if lines:
            return lines[-1].split("Exception: ", 1)[1]
    return "its pod left no log"


def _older_than(stamp: Any, seconds: float) -> bool:
    if not isinstance(stamp, str):
        return False
    with contextlib.suppress(ValueError):
        at = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
        return (datetime.datetime.now(datetime.UTC) - at).total_seconds() > seconds
    return False
