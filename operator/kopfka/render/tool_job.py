"""A Job that runs one of Kafka's own tools from the cluster's broker image.

Some changes in Kafka need Kafka's own tools: no Python client sets cluster-wide dynamic broker
defaults (`kafka-configs --entity-default`), and kafka-python's feature update does not raise the
features that come with a metadata version (`kafka-features upgrade --release-version`). kopfka
runs such a tool as a Job, so that a person can see each change: the pod's command line says what
was asked, and its log holds Kafka's answer. The settings Job (render/settings_job.py) and the
features Job (render/features_job.py) are two kinds of it; this module is what they share.

The Job runs the cluster's broker image (`spec.image`, pulled as its pods pull it), which holds
Kafka's jars under /opt/kafka/libs and a JRE, and calls the tool's main class the way the image's
entrypoint calls StorageTool: `java -cp '/opt/kafka/libs/*' <class>`. It needs no Kubernetes
API access (no service account token) and meets the "restricted" Pod Security Standard.

The Job is named `<cluster>-<kind>-<digest>`, the digest of everything its pod does (image and
command): an operator that crashed after starting a Job and plans the same work again finds the
Job under the same name instead of starting it twice; different work gets a Job of its own. A Job
name goes into its pod's `job-name` label (at most 63 characters): a cluster name has at most 40,
the digest and two dashes 12, which leaves 11 for the kind.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from kopfka.model import names
from kopfka.model.cluster import ClusterSpec
from kopfka.render import meta
from kopfka.render.statefulset import KAFKA_UID
from kopfka.render.tls import OPERATOR_TLS_MOUNT, OPERATOR_TLS_VOLUME_MOUNT, operator_tls_volume

# Kafka's jars in the broker image (broker-image/Dockerfile).
IMAGE_LIBS = "/opt/kafka/libs"
# Kafka's tools are small admin clients; the heap the e2e tests give them.
TOOL_HEAP = "-Xmx256m"
# A refusal by Kafka is final, and the next reconcile plans again; a retry covers a broker that
# was briefly unreachable.
BACKOFF_LIMIT = 2
# The tools give up on Kafka after 60 s per request; one that hangs longer is stopped.
ACTIVE_DEADLINE_SECONDS = 300
# The operator deletes a finished Job when it starts the next; this only cleans up after an
# operator that went away.
TTL_SECONDS_AFTER_FINISHED = 86400
JOB_NAME_MAX = 63
_DIGEST_LENGTH = 10
KIND_MAX = JOB_NAME_MAX - names.CLUSTER_NAME_MAX - _DIGEST_LENGTH - 2


def client_config(spec: ClusterSpec) -> str | None:
    """The client settings file a tool connects with (its --command-config): with
    spec.internalListeners.tls, the operator Secret's, which the Job mounts; else none."""
    if not spec.internal_tls:
        return None
    return f"{OPERATOR_TLS_MOUNT}/{names.OPERATOR_CLIENT_CONFIG}"


def tool_command(main_class: str, args: Sequence[str]) -> list[str]:
    """The container command that runs Kafka's tool `main_class` with `args` (its
    `IMAGE_LIBS` classpath is the image's)."""
    return ["java", TOOL_HEAP, "-cp", f"{IMAGE_LIBS}/*", main_class, *args]


def tool_job_component(kind: str) -> str:
    """`app.kubernetes.io/component` of the Jobs of `kind`: what the operator lists them by."""
    return f"{kind}-job"


def tool_job_name(cluster: str, kind: str, digest: str) -> str:
    return f"{cluster}-{kind}-{digest}"


def tool_job_pod_labels(cluster: str, kind: str) -> dict[str, str]:
    """Without `app.kubernetes.io/managed-by` and the cluster label, which the operator's watch
    of Kafka pods selects, and not `app.kubernetes.io/name: kafka`: the pod is no Kafka node."""
    return {
        "app.kubernetes.io/name": f"kopfka-{kind}",
        "app.kubernetes.io/instance": cluster,
        "app.kubernetes.io/component": tool_job_component(kind),
        **names.job_pod_selector_labels(cluster),
    }


def tool_job_labels(cluster: str, kind: str) -> dict[str, str]:
    return {
        **tool_job_pod_labels(cluster, kind),
        "app.kubernetes.io/managed-by": "kopfka",
        names.CLUSTER_LABEL: cluster,
    }


def _container(spec: ClusterSpec, kind: str, command: list[str]) -> dict[str, Any]:
    return {
        "name": kind,
        "image": spec.image,
        "imagePullPolicy": spec.image_pull_policy,
        "command": command,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"memory": "512Mi"},
        },
        # The JVM keeps its performance data files under /tmp.
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }


def render_tool_job(
    spec: ClusterSpec, *, kind: str, main_class: str, args: Sequence[str]
) -> dict[str, Any]:
    """The Job of `kind` (a short word: `settings`, `features`) that runs Kafka's tool
    `main_class` with `args` in spec.namespace. Without owner references: the caller adds them
    (cluster.owned_by)."""
    if not 0 < len(kind) <= KIND_MAX:
        raise ValueError(f"a tool Job's kind has 1 to {KIND_MAX} characters, not {kind!r}")
    container = _container(spec, kind, tool_command(main_class, args))
    digest = hashlib.sha256(
        json.dumps([container["image"], container["command"]]).encode()
    ).hexdigest()[:_DIGEST_LENGTH]
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": KAFKA_UID,
            "runAsGroup": KAFKA_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }
    if spec.internal_tls:
        container["volumeMounts"].append(dict(OPERATOR_TLS_VOLUME_MOUNT))
        pod["volumes"].append(operator_tls_volume(spec))
    if spec.template.image_pull_secrets:
        pod["imagePullSecrets"] = [{"name": secret} for secret in spec.template.image_pull_secrets]
    name = tool_job_name(spec.name, kind, digest)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta.object_meta(spec, name, tool_job_labels(spec.name, kind)),
        "spec": {
            "backoffLimit": BACKOFF_LIMIT,
            "activeDeadlineSeconds": ACTIVE_DEADLINE_SECONDS,
            "ttlSecondsAfterFinished": TTL_SECONDS_AFTER_FINISHED,
            "template": {
                "metadata": {"labels": tool_job_pod_labels(spec.name, kind)},
                "spec": pod,
            },
        },
    }
