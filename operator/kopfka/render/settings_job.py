"""The settings Job of a KafkaCluster: Kafka's own `kafka-configs` applying a LivePlan.

No Python Kafka client can set Kafka's cluster-wide dynamic broker defaults (kafka-python
refuses the default broker resource, whose name is empty), and Kafka's own ConfigCommand can.
It runs as a Job, like every change kopfka makes in Kafka, so that a person can see it: the
pod's command line says what was set and removed, and its log holds Kafka's answer (the
refusal of a bad value, with Kafka's reason), kept until the next settings Job starts.

The Job itself (broker image, no API access, restricted Pod Security, named by a digest of its
work) is render/tool_job.py's; this module says what `kafka-configs` is asked to do.
"""

from __future__ import annotations

from typing import Any

from kopfka.model.cluster import ClusterSpec
from kopfka.model.live_settings import LivePlan, sendable
from kopfka.render import tool_job

# The image's classpath, named from here by those who run the settings Job's command locally.
IMAGE_LIBS = tool_job.IMAGE_LIBS

# Kafka moved ConfigCommand from its Scala core to the tools module in 4.4.
CORE_CONFIG_COMMAND = "kafka.admin.ConfigCommand"
TOOLS_CONFIG_COMMAND = "org.apache.kafka.tools.ConfigCommand"
TOOLS_CONFIG_COMMAND_SINCE = (4, 4)
# `--add-config k=v,...` splits on these outside brackets; a value holding one goes in brackets.
_SPLIT_CHARACTERS = frozenset(",=")

SETTINGS_JOB_KIND = "settings"
SETTINGS_JOB_COMPONENT = tool_job.tool_job_component(SETTINGS_JOB_KIND)


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


def config_command_args(
    plan: LivePlan, *, bootstrap: str, client_config: str | None = None
) -> list[str]:
    """`kafka-configs` arguments that carry out `plan` on the cluster-wide defaults, in one
    IncrementalAlterConfigs request (Kafka applies all of it or none); with `client_config`,
    the client settings file the tool connects with."""
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
    if client_config is not None:
        args += ["--command-config", client_config]
    return args


def settings_command(spec: ClusterSpec, plan: LivePlan, *, bootstrap: str) -> list[str]:
    """The settings Job's container command (its `IMAGE_LIBS` classpath is the image's)."""
    return tool_job.tool_command(
        config_command_class(spec.version),
        config_command_args(plan, bootstrap=bootstrap, client_config=tool_job.client_config(spec)),
    )


def settings_job_name(cluster: str, digest: str) -> str:
    return tool_job.tool_job_name(cluster, SETTINGS_JOB_KIND, digest)


def settings_job_pod_labels(cluster: str) -> dict[str, str]:
    return tool_job.tool_job_pod_labels(cluster, SETTINGS_JOB_KIND)


def settings_job_labels(cluster: str) -> dict[str, str]:
    return tool_job.tool_job_labels(cluster, SETTINGS_JOB_KIND)


def render_settings_job(spec: ClusterSpec, plan: LivePlan, *, bootstrap: str) -> dict[str, Any]:
    """The Job that carries out `plan` against the brokers at `bootstrap`, in spec.namespace.
    Without owner references: the caller adds them (cluster.owned_by)."""
    return tool_job.render_tool_job(
        spec,
        kind=SETTINGS_JOB_KIND,
        main_class=config_command_class(spec.version),
        args=config_command_args(
            plan, bootstrap=bootstrap, client_config=tool_job.client_config(spec)
        ),
    )
