"""The topic Job of a KafkaCluster: `kopfka topics-apply` over the work of a topic plan.

A Job, not a request from the operator's own process, so that every change kopfka makes in Kafka
is something a person can see: a pod per change set, with Kafka's answer per topic in its log
(kopfka.topics.wire), kept until the next one starts.

The Job runs the operator's own image (the chart tells the operator which, `JobImage`) and needs
no Kubernetes API access: it reads its work from a mounted ConfigMap and talks to Kafka only, so
its pod gets no service account token (least privilege), and it meets the "restricted" Pod
Security Standard, which the cluster's namespace may enforce.

The Job and its ConfigMap are named by a digest of the work: an operator that crashed after
starting a Job and plans the same work again finds the Job under the same name instead of
starting it twice; different work gets a Job of its own.

The work is gzip-compressed JSON under `binaryData`: 10,000 topics of plain JSON are more than a
ConfigMap may hold (1 MiB), and about 35 KB compressed.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from kopfka.model import names
from kopfka.model.cluster import ClusterSpec
from kopfka.render import meta

WORK_KEY = "work.json.gz"
WORK_DIR = "/work"
BACKOFF_LIMIT = 3
# One topic Job runs at a time per cluster: one that hangs is stopped (and fails) after this,
# rather than hold up every later topic change.
ACTIVE_DEADLINE_SECONDS = 900
# The operator deletes a finished Job when it starts the next; this only cleans up after an
# operator that went away.
TTL_SECONDS_AFTER_FINISHED = 86400


@dataclass(frozen=True)
class JobImage:
    """The operator's own image, which the topic Job runs, and how the kubelet pulls it."""

    image: str
    pull_policy: str  # Always | IfNotPresent | Never


def topic_job_digest(work: bytes) -> str:
    """10 lowercase hex characters of the work file's SHA-256: the same work, the same name."""
    return hashlib.sha256(work).hexdigest()[:10]


def _container(bootstrap: str, image: JobImage) -> dict[str, Any]:
    return {
        "name": "topics",
        "image": image.image,
        "imagePullPolicy": image.pull_policy,
        "command": ["kopfka"],
        "args": [
            "topics-apply",
            "--bootstrap-servers",
            bootstrap,
            "--work",
            f"{WORK_DIR}/{WORK_KEY}",
        ],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"memory": "512Mi"},
        },
        "volumeMounts": [{"name": "work", "mountPath": WORK_DIR, "readOnly": True}],
    }


def render_topic_job(
    spec: ClusterSpec, *, work: bytes, bootstrap: str, image: JobImage
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(ConfigMap, Job), both named names.topic_job_name(spec.name, topic_job_digest(work)), in
    spec.namespace; `work` is kopfka.topics.wire.work_file's bytes, `bootstrap` the address of
    the cluster's brokers. Without owner references: the caller adds them (cluster.owned_by)."""
    name = names.topic_job_name(spec.name, topic_job_digest(work))
    labels = names.topic_job_labels(spec.name)
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta.object_meta(spec, name, labels),
        "immutable": True,
        "binaryData": {WORK_KEY: base64.b64encode(work).decode("ascii")},
    }
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta.object_meta(spec, name, labels),
        "spec": {
            "backoffLimit": BACKOFF_LIMIT,
            "activeDeadlineSeconds": ACTIVE_DEADLINE_SECONDS,
            "ttlSecondsAfterFinished": TTL_SECONDS_AFTER_FINISHED,
            "template": {
                "metadata": {"labels": names.topic_job_pod_labels(spec.name)},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [_container(bootstrap, image)],
                    "volumes": [{"name": "work", "configMap": {"name": name}}],
                },
            },
        },
    }
    return config_map, job
