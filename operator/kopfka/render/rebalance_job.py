"""The rebalance Job of a KafkaCluster: `kopfka rebalance-apply` over the moves of a rebalance plan.

An operator Job (render/operator_job.py) like the topic Job: the moves are in its ConfigMap, its
log says each wave as Kafka carries it out (kopfka.rebalance.execute). It may run long: a move
copies a replica's data, at most at the throttle's rate, so its deadline is generous, and Kubernetes
starts its pod again after a failure: the command resumes from Kafka's own view of the
reassignments in progress.
"""

from __future__ import annotations

from typing import Any

from kopfka.model import names
from kopfka.model.cluster import ClusterSpec
from kopfka.render.operator_job import JobImage, JobKind, render_operator_job, work_digest

REBALANCE_JOB = JobKind(
    command="rebalance-apply",
    container="rebalance",
    backoff_limit=6,
    active_deadline_seconds=6 * 3600,
)


def rebalance_job_name(cluster: str, work: bytes) -> str:
    return names.rebalance_job_name(cluster, work_digest(work))


def render_rebalance_job(
    spec: ClusterSpec, *, work: bytes, bootstrap: str, image: JobImage
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(ConfigMap, Job), both named `rebalance_job_name(spec.name, work)`, in spec.namespace;
    `work` is kopfka.rebalance.wire.work_file's bytes. Without owner references: the caller adds
    them (cluster.owned_by)."""
    return render_operator_job(
        spec,
        REBALANCE_JOB,
        name=rebalance_job_name(spec.name, work),
        labels=names.rebalance_job_labels(spec.name),
        pod_labels=names.rebalance_job_pod_labels(spec.name),
        work=work,
        bootstrap=bootstrap,
        image=image,
    )
