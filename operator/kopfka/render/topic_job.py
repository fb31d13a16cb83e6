"""The topic Job of a KafkaCluster: `kopfka topics-apply` over the work of a topic plan.

An operator Job (render/operator_job.py: a pod per change set, its work in a ConfigMap named by
the work's digest, no Kubernetes API access) running the operator's image; the chart tells the
operator which (`JobImage`). 10,000 topics of plain JSON are more than a ConfigMap may hold
(1 MiB), and about 35 KB compressed.
"""

from __future__ import annotations

from typing import Any

from kopfka.model import names
from kopfka.model.cluster import ClusterSpec
from kopfka.render.operator_job import JobImage, JobKind, render_operator_job, work_digest

# One topic Job runs at a time per cluster: one that hangs is stopped (and fails) after this,
# rather than hold up every later topic change.
TOPIC_JOB = JobKind(
    command="topics-apply", container="topics", backoff_limit=3, active_deadline_seconds=900
)


def render_topic_job(
    spec: ClusterSpec, *, work: bytes, bootstrap: str, image: JobImage
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(ConfigMap, Job), both named names.topic_job_name(spec.name, work_digest(work)), in
    spec.namespace; `work` is kopfka.topics.wire.work_file's bytes, `bootstrap` the address of
    the cluster's brokers. Without owner references: the caller adds them (cluster.owned_by)."""
    return render_operator_job(
        spec,
        TOPIC_JOB,
        name=names.topic_job_name(spec.name, work_digest(work)),
        labels=names.topic_job_labels(spec.name),
        pod_labels=names.topic_job_pod_labels(spec.name),
        work=work,
        bootstrap=bootstrap,
        image=image,
    )
