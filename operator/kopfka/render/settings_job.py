"""The settings Job of a KafkaCluster: Kafka's own `kafka-configs` applying a LivePlan.

No Python Kafka client can set Kafka's cluster-wide dynamic broker defaults (kafka-python
refuses the default broker resource, whose name is empty), and Kafka's own ConfigCommand can.
It runs as a Job, like every change kopfka makes in Kafka, so that a person can see it: the
pod's command line says what was set and removed, and its log holds Kafka's answer (the
refusal of a bad value, with Kafka's reason), kept until the next settings Job starts.

The Job runs the cluster's broker image (`spec.image`, pulled as its pods pull it), which holds
Kafka's jars under /opt/kafka/libs and a JRE, and calls the tool's main class the way the image's
entrypoint calls StorageTool: `java -cp '/opt/kafka/libs/*' <class>`. It needs no Kubernetes
API access (no service account token) and meets the "restricted" Pod Security Standard.

The Job is named by a digest of everything its pod does (image and command): an operator that
crashed after starting a Job and plans the same work again finds the Job under the same name
instead of starting it twice; different work gets a Job of its own. A Job name goes into its
pod's `job-name` label (at most 63 characters): a cluster name has at most 40, and `-settings-`
and the digest add 20.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kopfka.model import names
from kopfka.model.cluster import ClusterSpec
from kopfka.model.live_settings import LivePlan, sendable
from kopfka.render import meta
from kopfka.render.statefulset import KAFKA_UID

# Kafka's jars in the broker image (broker-image/Dockerfile).
IMAGE_LIBS = "/opt/kafka/libs"
# ConfigCommand is a small admin client; the heap the e2e tests give Kafka's tools.
TOOL_HEAP = "-Xmx256m"
# Kafka moved ConfigCommand from its Scala core to the tools module in 4.4.
CORE_CONFIG_COMMAND = "kafka.admin.ConfigCommand"
TOOLS_CONFIG_COMMAND = "org.apache.kafka.tools.ConfigCommand"
TOOLS_CONFIG_COMMAND_SINCE = (4, 4)
# `--add-config k=v,...` splits on these outside brackets; a value holding one goes in brackets.
_SPLIT_CHARACTERS = frozenset(",=")

SETTINGS_JOB_COMPONENT = "settings-job"
# A refusal by Kafka is final, and the next reconcile plans again; a retry covers a broker that
# was briefly unreachable.
BACKOFF_LIMIT = 2
# The tool gives up on Kafka after 60 s per request; one that hangs longer is stopped.
ACTIVE_DEADLINE_SECONDS = 300
# The operator deletes a finished Job when it starts the next; this only cleans up after an
# operator that went away.
TTL_SECONDS_AFTER_FINISHED = 86400


def config_command_class(version: str) -> str:
    """The main class of `kafka-configs` in Kafka `version`."""
    major, minor = (int(part) for part in version.split(".")[:2])
    if (major, minor) >= TOOLS_CONFIG_COMMAND_SINCE:
        return TOOLS_CONFIG_COMMAND
    return CORE_CONFIG_COMMAND


def _config_item(key: str, value: str) -> str:
    if not sendable(value):
        raise ValueError(f"{key}: kafka-configs cannot send a value with a bracket")
    return f"{key}=[{value}]" if _SPLIT_CHARACTERS & set(value) else f"{key}={value}"


def config_command_args(plan: LivePlan, *, bootstrap: str) -> list[str]:
    """`kafka-configs` arguments that carry out `plan` on the cluster-wide defaults, in one
    IncrementalAlterConfigs request (Kafka applies all of it or none)."""
    if plan.empty:
        raise ValueError("an empty plan needs no settings Job")
    args = [
        "--bootstrap-server",
        bootstrap,
        "--entity-type",
        "brokers",
        "--entity-default",
        "--alter",
    ]
    if plan.to_set:
        args += ["--add-config", ",".join(_config_item(k, v) for k, v in plan.to_set.items())]
    if plan.to_delete:
        args += ["--delete-config", ",".join(plan.to_delete)]
    return args


def settings_command(spec: ClusterSpec, plan: LivePlan, *, bootstrap: str) -> list[str]:
    """The settings Job's container command (its `IMAGE_LIBS` classpath is the image's)."""
    return [
        "java",
        TOOL_HEAP,
        "-cp",
        f"{IMAGE_LIBS}/*",
        config_command_class(spec.version),
        *config_command_args(plan, bootstrap=bootstrap),
    ]


def settings_job_name(cluster: str, digest: str) -> str:
    return f"{cluster}-settings-{digest}"


def settings_job_pod_labels(cluster: str) -> dict[str, str]:
    """Without `app.kubernetes.io/managed-by` and the cluster label, which the operator's watch
    of Kafka pods selects, and not `app.kubernetes.io/name: kafka`: the pod is no Kafka node."""
    return {
        "app.kubernetes.io/name": "kopfka-settings",
        "app.kubernetes.io/instance": cluster,
        "app.kubernetes.io/component": SETTINGS_JOB_COMPONENT,
    }


def settings_job_labels(cluster: str) -> dict[str, str]:
    return {
        **settings_job_pod_labels(cluster),
        "app.kubernetes.io/managed-by": "kopfka",
        names.CLUSTER_LABEL: cluster,
    }


def _container(spec: ClusterSpec, command: list[str]) -> dict[str, Any]:
    return {
        "name": "settings",
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


def render_settings_job(spec: ClusterSpec, plan: LivePlan, *, bootstrap: str) -> dict[str, Any]:
    """The Job that carries out `plan` against the brokers at `bootstrap`, in spec.namespace.
    Without owner references: the caller adds them (cluster.owned_by)."""
    container = _container(spec, settings_command(spec, plan, bootstrap=bootstrap))
    digest = hashlib.sha256(
        json.dumps([container["image"], container["command"]]).encode()
    ).hexdigest()[:10]
    name = settings_job_name(spec.name, digest)
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
    if spec.template.image_pull_secrets:
        pod["imagePullSecrets"] = [{"name": secret} for secret in spec.template.image_pull_secrets]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta.object_meta(spec, name, settings_job_labels(spec.name)),
        "spec": {
            "backoffLimit": BACKOFF_LIMIT,
            "activeDeadlineSeconds": ACTIVE_DEADLINE_SECONDS,
            "ttlSecondsAfterFinished": TTL_SECONDS_AFTER_FINISHED,
            "template": {
                "metadata": {"labels": settings_job_pod_labels(spec.name)},
                "spec": pod,
            },
        },
    }
