"""Finishes a Kafka upgrade: the metadata version is raised once every node runs the new release,
and a version older than the finalized metadata version is refused before any node rolls.

The planner is model/upgrade.py; the change runs as a features Job with Kafka's own
`kafka-features` (render/features_job.py). `status.metadataVersion` and
`status.metadataVersionLevel` say what Kafka has finalized: recorded when the cluster is made
(its nodes format it with their release's newest metadata version) and after each raise, so Kafka
is read only while an upgrade waits to be finished.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from kopfka.k8s.client import Kube, Obj
from kopfka.kafka.admin import UNREACHABLE_SECONDS, Connect, unreachable
from kopfka.live.jobs import Phase, Progress, Started, run_tool_job
from kopfka.model.cluster import ClusterSpec
from kopfka.model.upgrade import (
    Finalize,
    Refuse,
    level_name,
    metadata_version,
    plan_metadata_version,
)
from kopfka.render.cluster import owned_by
from kopfka.render.features_job import FEATURES_JOB_COMPONENT, render_features_job

logger = logging.getLogger(__name__)

POLL_SECONDS = 5.0
_VERSION_LABEL = "app.kubernetes.io/version"


def recorded(level: int) -> dict[str, Any]:
    """The status fields for a finalized `level`: Kafka's name of it, and the level."""
    return {"metadataVersion": level_name(level) or f"level {level}", "metadataVersionLevel": level}


def at_creation(spec: ClusterSpec) -> dict[str, Any]:
    """What a cluster made now has finalized: its release's newest metadata version."""
    return recorded(metadata_version(spec.version).level)


def downgrade_refusal(previous: Mapping[str, Any], spec: ClusterSpec) -> str | None:
    """Why the spec's version cannot run on the finalized metadata version, or None."""
    level = previous.get("metadataVersionLevel")
    if not isinstance(level, int):
        return None
    step = plan_metadata_version(
        spec.version, node_versions={}, all_nodes_current=False, finalized_level=level
    )
    return step.message if isinstance(step, Refuse) else None


def keep_metadata_version(
    kube: Kube,
    body: Obj,
    spec: ClusterSpec,
    pods: Sequence[Obj],
    *,
    roll_over: bool,
    connect: Connect,
) -> Progress:
    """Raise the metadata version when the roll onto a new release is over."""
    previous = body.get("status") or {}
    known = {
        key: previous[key] for key in ("metadataVersion", "metadataVersionLevel") if key in previous
    }
    level = known.get("metadataVersionLevel")
    wanted = metadata_version(spec.version)
    if isinstance(level, int) and level >= wanted.level:
        return Progress(known)
    node_versions = {
        index: str((pod["metadata"].get("labels") or {}).get(_VERSION_LABEL, ""))
        for index, pod in enumerate(pods)
    }
    if not roll_over or any(version != spec.version for version in node_versions.values()):
        return Progress(known)  # the roll says what is going on
    bootstrap = spec.operator_bootstrap
    waiting = f"the metadata version is raised to {wanted.name} once Kafka can be read"
    if unreachable.recently(bootstrap):
        return Progress(known, ("MetadataVersionPending", waiting), again=UNREACHABLE_SECONDS)
    try:
        admin = connect(bootstrap)
        try:
            finalized = admin.metadata_version_level()
        finally:
            admin.close()
    except Exception as error:  # unreachable, or Kafka answered and then failed: wait, say so
        logger.info("the metadata version of %s/%s cannot be read: %s", *_key(spec), error)
        unreachable.mark(bootstrap, reachable=False)
        return Progress(known, ("MetadataVersionPending", waiting), again=UNREACHABLE_SECONDS)
    step = plan_metadata_version(
        spec.version,
        node_versions=node_versions,
        all_nodes_current=roll_over,
        finalized_level=finalized,
    )
    if finalized is not None and finalized >= wanted.level:
        return Progress(recorded(finalized))
    if not isinstance(step, Finalize):
        return Progress(known)
    job = owned_by(render_features_job(spec, step, bootstrap=bootstrap), body)
    name = job["metadata"]["name"]
    state = run_tool_job(
        kube,
        body,
        job,
        component=FEATURES_JOB_COMPONENT,
        started=Started(
            reason="FeaturesJobStarted",
            message=f"features Job {name} started: raising the metadata version to "
            f"{wanted.name}, now that every node runs Kafka {spec.version}",
        ),
    )
    if state.phase is Phase.FAILED:
        message = (
            f"Kafka refused to raise the metadata version to {wanted.name}: {state.answer} (see "
            f"`kubectl logs -n {spec.namespace} job/{name}`)"
        )
        return Progress(known, ("MetadataVersionRefused", message))
    message = f"raising the metadata version to {wanted.name} (Job {name})"
    return Progress(known, ("MetadataVersionPending", message), again=POLL_SECONDS)


def _key(spec: ClusterSpec) -> tuple[str, str]:
    return spec.namespace, spec.name
