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

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from kopfka.k8s.client import Kube, Obj
from kopfka.kafka.admin import (
    UNREACHABLE_SECONDS,
    Connect,
    KafkaAdmin,
    KafkaUnavailable,
    unreachable,
)
from kopfka.live.jobs import Phase, Progress, Started, run_tool_job
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


def digest(spec: ClusterSpec) -> str:
    """Names the settings the spec wants live."""
    return stable_hash(desired_cluster_defaults(spec))[:10]


def applied_at_creation(spec: ClusterSpec) -> dict[str, Any]:
    """`status.liveSettings` of a cluster just made: its settings are in effect."""
    return {"digest": digest(spec)}


def keep_live_settings(
    kube: Kube, body: Obj, spec: ClusterSpec, pods: Sequence[Obj], *, connect: Connect
) -> Progress:
    previous = dict((body.get("status") or {}).get("liveSettings") or {})
    wanted = digest(spec)
    if previous.get("digest") == wanted:
        return Progress(previous)
    desired = desired_cluster_defaults(spec)
    pending = f"the settings Kafka applies live ({', '.join(desired) or 'none'})"
    if not pods or not all(pod_ready(pod) for pod in pods):
        return Progress(
            previous, ("LiveSettingsPending", f"{pending} wait for every node to be ready")
        )
    bootstrap = spec.operator_bootstrap
    if unreachable.recently(bootstrap):
        message = f"{pending} wait: Kafka could not be read a moment ago"
        return Progress(previous, ("LiveSettingsPending", message), again=UNREACHABLE_SECONDS)
    try:
        admin = connect(bootstrap)
    except KafkaUnavailable as error:
        unreachable.mark(bootstrap, reachable=False)
        message = f"{pending} wait: Kafka cannot be read ({error})"
        return Progress(previous, ("LiveSettingsPending", message), again=UNREACHABLE_SECONDS)
    try:
        current = _defaults(admin)
    finally:
        admin.close()
    unreachable.mark(bootstrap, reachable=current is not None)
    if current is None:
        message = f"{pending} wait: Kafka's cluster-wide defaults cannot be read"
        return Progress(previous, ("LiveSettingsPending", message), again=UNREACHABLE_SECONDS)
    managed = frozenset(previous.get("managed") or ())
    plan = plan_cluster_defaults(desired, current, managed=managed)
    keys = sorted(recorded_keys(desired, current, managed=managed))
    if plan.empty:
        found = {"digest": wanted, "managed": keys}
        if plan.unsendable:
            found["notSent"] = list(plan.unsendable)
        return Progress(found)
    job = owned_by(render_settings_job(spec, plan, bootstrap=spec.operator_bootstrap), body)
    name = job["metadata"]["name"]
    changes = ", ".join([*plan.to_set, *(f"-{key}" for key in plan.to_delete)])
    status = {**previous, "managed": keys, "job": name}
    state = run_tool_job(
        kube,
        body,
        job,
        component=SETTINGS_JOB_COMPONENT,
        # The keys first: an operator that stops after the Job started still knows what it set.
        before_start=lambda: kube.patch_status(body, {"liveSettings": status}),
        started=Started(
            reason="SettingsJobStarted",
            message=f"settings Job {name} started: applying {changes} to the running brokers",
        ),
    )
    if state.phase is Phase.FAILED:
        message = (
            f"Kafka refused {changes}: {state.answer} (see `kubectl logs -n {spec.namespace} "
            f"job/{name}`); fix spec.kafka.config"
        )
        return Progress(status, ("LiveSettingRefused", message))
    if state.phase is Phase.NOT_STARTED:
        message = f"cannot start the settings Job {name}: {state.answer}"
        return Progress(status, ("LiveSettingsPending", message), again=UNREACHABLE_SECONDS)
    if state.phase is Phase.DONE:
        message = f"applied {changes}; waiting for Kafka to show it"
    else:
        message = f"applying {changes} to the running brokers (Job {name})"
    return Progress(status, ("LiveSettingsPending", message), again=POLL_SECONDS)


def _defaults(admin: KafkaAdmin) -> Mapping[str, Any] | None:
    try:
        return admin.cluster_defaults()
    except Exception as error:  # Kafka answered, then failed: wait and say so
        logger.info("Kafka's cluster-wide defaults cannot be read: %s", error)
        return None
