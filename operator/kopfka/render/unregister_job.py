"""The unregister Job of a KafkaCluster: Kafka's `kafka-cluster unregister` for a removed broker.

A broker removed by a scale-down stays registered in the KRaft metadata (fenced) until it is
unregistered, and no Python client has UnregisterBroker. So once its pod is gone, kopfka runs
Kafka's ClusterTool as a tool Job (render/tool_job.py), one broker per Job, so that the pod's
command line names the broker and its log holds Kafka's answer.
"""

from __future__ import annotations

from typing import Any

from kopfka.model.cluster import ClusterSpec
from kopfka.render import tool_job

# The same class in every served release (the Kafka tier checks each release's jars).
CLUSTER_TOOL = "org.apache.kafka.tools.ClusterTool"
UNREGISTER_JOB_KIND = "unregister"
UNREGISTER_JOB_COMPONENT = tool_job.tool_job_component(UNREGISTER_JOB_KIND)


def unregister_args(broker: int, *, bootstrap: str, client_config: str | None = None) -> list[str]:
    """`kafka-cluster` arguments that unregister `broker`; with `client_config`, the client
    settings file the tool connects with."""
    config = [] if client_config is None else ["--config", client_config]
    return ["unregister", "--bootstrap-server", bootstrap, *config, "--id", str(broker)]


def render_unregister_job(spec: ClusterSpec, broker: int, *, bootstrap: str) -> dict[str, Any]:
    """The Job that unregisters `broker` from the cluster at `bootstrap`, in spec.namespace.
    Without owner references: the caller adds them (cluster.owned_by)."""
    return tool_job.render_tool_job(
        spec,
        kind=UNREGISTER_JOB_KIND,
        main_class=CLUSTER_TOOL,
        args=unregister_args(
            broker, bootstrap=bootstrap, client_config=tool_job.client_config(spec)
        ),
    )
