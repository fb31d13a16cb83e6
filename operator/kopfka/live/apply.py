"""Keeps Kafka's cluster-wide dynamic defaults equal to the settings the spec wants live.

Settings Kafka applies live are left out of the restart hash, so a change to one restarts
nothing; this is what makes it reach the running brokers (and what makes `min.insync.replicas`
count at all: Kafka 4.x controllers record a cluster-level value when the cluster is made). The
operator reads the defaults and plans (`model.live_settings`); the change itself runs as a Job
with Kafka's own `kafka-configs` (`render.settings_job`), whose pod and log the user can see.

Kafka is read only when the settings changed since they were last found applied: the digest of
the settings in `status.liveSettings.digest` says which were. A new cluster starts with its
settings applied (every node reads them from server.properties, and the controllers record
`min.insync.replicas` from theirs), so it is recorded as such when it is made.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kopfka.k8s.client import ApplyError, Conflict, Kube, Obj
from kopfka.kafka.admin import (
    UNREACHABLE_SECONDS,
    Connect,
    KafkaAdmin,
    KafkaUnavailable,
    unreachable,
)
from kopfka.model import names
from kopfka.model.cluster import ClusterSpec
from kopfka.model.hashing import stable_hash
from kopfka.model.live_settings import (
    desired_cluster_defaults,
    plan_cluster_defaults,
    recorded_keys,
)
from kopfka.model.status import pod_ready
from kopfka.render.cluster import owned_by
from kopfka.render.settings_job import SETTINGS_JOB_COMPONENT, render_settings_job

logger = logging.getLogger(__name__)

# How soon to look again while a settings Job runs, or Kafka's metadata lags behind it.
POLL_SECONDS = 5.0
# A Job that succeeded this long ago while its work still shows as not done in Kafka: something
# set the defaults back meanwhile; it is deleted so that the work runs again.
STALE_JOB_SECONDS = 60.0
_JOB_NAME_LABEL = "batch.kubernetes.io/job-name"


@dataclass(frozen=True)
class Live:
    """What this pass found: `status.liveSettings`, a condition to report, when to look again."""

    status: dict[str, Any]
    # (reason, message) while the settings are not in effect; `refused`: Kafka said no.
    problem: tuple[str, str] | None = None
    refused: bool = False
    again: float | None = None


def digest(spec: ClusterSpec) -> str:
    """Names the settings the spec wants live."""
    return stable_hash(desired_cluster_defaults(spec))[:10]


def applied_at_creation(spec: ClusterSpec) -> dict[str, Any]:
    """`status.liveSettings` of a cluster just made: its settings are in effect."""
    return {"digest": digest(spec)}


def keep_live_settings(
    kube: Kube, body: Obj, spec: ClusterSpec, pods: Sequence[Obj], *, connect: Connect
) -> Live:
    previous = dict((body.get("status") or {}).get("liveSettings") or {})
    wanted = digest(spec)
    if previous.get("digest") == wanted:
        return Live(previous)
    desired = desired_cluster_defaults(spec)
    pending = f"the settings Kafka applies live ({', '.join(desired) or 'none'})"
    if not pods or not all(pod_ready(pod) for pod in pods):
        return Live(previous, ("LiveSettingsPending", f"{pending} wait for every node to be ready"))
    bootstrap = spec.bootstrap_servers
    if unreachable.recently(bootstrap):
        message = f"{pending} wait: Kafka could not be read a moment ago"
        return Live(previous, ("LiveSettingsPending", message), again=UNREACHABLE_SECONDS)
    try:
        admin = connect(bootstrap)
    except KafkaUnavailable as error:
        unreachable.mark(bootstrap, reachable=False)
        message = f"{pending} wait: Kafka cannot be read ({error})"
        return Live(previous, ("LiveSettingsPending", message), again=UNREACHABLE_SECONDS)
    try:
        current = _defaults(admin)
    finally:
        admin.close()
    unreachable.mark(bootstrap, reachable=current is not None)
    if current is None:
        message = f"{pending} wait: Kafka's cluster-wide defaults cannot be read"
        return Live(previous, ("LiveSettingsPending", message), again=UNREACHABLE_SECONDS)
    managed = frozenset(previous.get("managed") or ())
    plan = plan_cluster_defaults(desired, current, managed=managed)
    keys = sorted(recorded_keys(desired, current, managed=managed))
    if plan.empty:
        found = {"digest": wanted, "managed": keys}
        if plan.unsendable:
            found["notSent"] = list(plan.unsendable)
        return Live(found)
    job = owned_by(render_settings_job(spec, plan, bootstrap=spec.bootstrap_servers), body)
    name = job["metadata"]["name"]
    jobs = kube.list(
        "batch/v1",
        "Job",
        spec.namespace,
        {"app.kubernetes.io/component": SETTINGS_JOB_COMPONENT, names.CLUSTER_LABEL: spec.name},
    )
    same = next((j for j in jobs if j["metadata"]["name"] == name), None)
    changes = ", ".join([*plan.to_set, *(f"-{key}" for key in plan.to_delete)])
    status = {**previous, "managed": keys, "job": name}
    if same is not None:
        return _running(kube, same, status, changes)
    # The keys first: an operator that stops after the Job started still knows what it set.
    kube.patch_status(body, {"liveSettings": status})
    for old in jobs:
        kube.delete(old, background=True)
    try:
        kube.create(job)
    except Conflict:
        pass  # made meanwhile by another pass with the same work
    except ApplyError as error:
        message = f"cannot start the settings Job {name}: {error}"
        return Live(status, ("LiveSettingsPending", message), again=UNREACHABLE_SECONDS)
    kube.post_event(
        body,
        warning=False,
        reason="SettingsJobStarted",
        message=f"settings Job {name} started: applying {changes} to the running brokers",
    )
    message = f"applying {changes} to the running brokers (Job {name})"
    return Live(status, ("LiveSettingsPending", message), again=POLL_SECONDS)


def _defaults(admin: KafkaAdmin) -> Mapping[str, Any] | None:
    try:
        return admin.cluster_defaults()
    except Exception as error:  # Kafka answered, then failed: wait and say so
        logger.info("Kafka's cluster-wide defaults cannot be read: %s", error)
        return None


def _running(kube: Kube, job: Obj, status: dict[str, Any], changes: str) -> Live:
    """The report while the Job for this very work exists: running, refused, or done while
    Kafka does not show it yet."""
    name = job["metadata"]["name"]
    conditions = {c.get("type"): c for c in (job.get("status") or {}).get("conditions") or [] if c}
    failed = conditions.get("Failed")
    if failed and failed.get("status") == "True":
        said = _kafkas_answer(kube, job)
        message = (
            f"Kafka refused {changes}: {said} (see `kubectl logs -n "
            f"{job['metadata']['namespace']} job/{name}`); fix spec.kafka.config"
        )
        return Live(status, ("LiveSettingRefused", message), refused=True)
    complete = conditions.get("Complete")
    if complete and complete.get("status") == "True":
        if _older_than(complete.get("lastTransitionTime"), STALE_JOB_SECONDS):
            kube.delete(job, background=True)
        message = f"applied {changes}; waiting for Kafka to show it"
        return Live(status, ("LiveSettingsPending", message), again=POLL_SECONDS)
    message = f"applying {changes} to the running brokers (Job {name})"
    return Live(status, ("LiveSettingsPending", message), again=POLL_SECONDS)


def _kafkas_answer(kube: Kube, job: Obj) -> str:
    """The line of the Job's log that says why Kafka refused (its exception's message)."""
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
