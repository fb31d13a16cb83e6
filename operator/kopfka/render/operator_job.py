"""A Job that runs a `kopfka` command from the operator's own image over a work file.

Changes inside Kafka that take many requests run as Jobs, so that a person sees each one: a pod per
change set, with Kafka's answers in its log, kept until the next one starts. The topic Job
(render/topic_job.py) and the rebalance Job (render/rebalance_job.py) are two kinds of it; this
module is what they share. (Kafka's own tools run from the broker image: render/tool_job.py.)

The Job reads its work from a ConfigMap mounted read-only and talks to Kafka only, so its pod gets
no service account token (least privilege), and it meets the "restricted" Pod Security Standard,
which the cluster's namespace may enforce. The Job and its ConfigMap are named by a digest of the
work: an operator that crashed after starting a Job and plans the same work again finds the Job
under the same name instead of starting it twice; different work gets a Job of its own. The work is
gzip-compressed JSON under `binaryData` (a ConfigMap holds at most 1 MiB).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kopfka.model.cluster import ClusterSpec
from kopfka.render import meta
from kopfka.render.tls import OPERATOR_TLS_MOUNT, OPERATOR_TLS_VOLUME_MOUNT, operator_tls_volume

WORK_KEY = "work.json.gz"
WORK_DIR = "/work"
# The operator deletes a finished Job when it starts the next; this only cleans up after an
# operator that went away.
TTL_SECONDS_AFTER_FINISHED = 86400


@dataclass(frozen=True)
class JobImage:
    """The operator's own image, which its Jobs run, and how the kubelet pulls it."""

    image: str
    pull_policy: str  # Always | IfNotPresent | Never


@dataclass(frozen=True)
class JobKind:
    """What differs between the kinds of operator Job."""

    command: str  # the `kopfka` subcommand
    container: str
    backoff_limit: int
    active_deadline_seconds: int


def work_digest(work: bytes) -> str:
    """10 lowercase hex characters of the work file's SHA-256: the same work, the same name."""
    return hashlib.sha256(work).hexdigest()[:10]


def work_config_map(spec: ClusterSpec, name: str, labels: Mapping[str, str], work: bytes) -> Any:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta.object_meta(spec, name, dict(labels)),
        "immutable": True,
        "binaryData": {WORK_KEY: base64.b64encode(work).decode("ascii")},
    }


def render_operator_job(
    spec: ClusterSpec,
    kind: JobKind,
    *,
    name: str,
    labels: Mapping[str, str],
    pod_labels: Mapping[str, str],
    work: bytes,
    bootstrap: str,
    image: JobImage,
    args: Sequence[str] = (),
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(ConfigMap, Job) named `name` in spec.namespace: the Job runs `kopfka <kind.command>
    --bootstrap-servers <bootstrap> --work <file> <args>` over `work`; with
    spec.internalListeners.tls also `--tls-dir` with the operator's Secret mounted there. Without
    owner references: the caller adds them (cluster.owned_by)."""
    container: dict[str, Any] = {
        "name": kind.container,
        "image": image.image,
        "imagePullPolicy": image.pull_policy,
        "command": ["kopfka"],
        "args": [
            kind.command,
            "--bootstrap-servers",
            bootstrap,
            "--work",
            f"{WORK_DIR}/{WORK_KEY}",
            *args,
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
    volumes: list[dict[str, Any]] = [{"name": "work", "configMap": {"name": name}}]
    if spec.internal_tls:
        container["args"] += ["--tls-dir", OPERATOR_TLS_MOUNT]
        container["volumeMounts"].append(dict(OPERATOR_TLS_VOLUME_MOUNT))
        volumes.append(operator_tls_volume(spec))
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta.object_meta(spec, name, dict(labels)),
        "spec": {
            "backoffLimit": kind.backoff_limit,
            "activeDeadlineSeconds": kind.active_deadline_seconds,
            "ttlSecondsAfterFinished": TTL_SECONDS_AFTER_FINISHED,
            "template": {
                "metadata": {"labels": dict(pod_labels)},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }
    return work_config_map(spec, name, labels, work), job
