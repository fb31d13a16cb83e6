"""The features Job of a KafkaCluster: Kafka's own `kafka-features` finishing an upgrade.

Once every node runs a new Kafka release, the cluster's metadata version is raised to that
release's (model/upgrade.py decides when). Kafka's FeatureCommand does it with `upgrade
--release-version X.Y`, which raises `metadata.version` together with every feature that comes
with the release (transaction.version, share.version, ...); kafka-python's feature update would
raise `metadata.version` alone. It runs as a Job (render/tool_job.py), like every change kopfka
makes in Kafka: the pod's command line says which release, and its log holds Kafka's answer.

The Job runs the spec's image, that is the new release's own tool, which knows its release's
metadata version; the release it raises to must therefore be the spec's.
"""

from __future__ import annotations

from typing import Any

from kopfka.model.cluster import ClusterSpec
from kopfka.model.upgrade import Finalize, release_of
from kopfka.render import tool_job

# The same class in every served release (the Kafka tier checks each release's jars).
FEATURE_COMMAND = "org.apache.kafka.tools.FeatureCommand"
FEATURES_JOB_KIND = "features"
FEATURES_JOB_COMPONENT = tool_job.tool_job_component(FEATURES_JOB_KIND)


def feature_command_args(
    release: str, *, bootstrap: str, client_config: str | None = None
) -> list[str]:
    """`kafka-features` arguments that raise every feature to `release`'s (X.Y); with
    `client_config`, the client settings file the tool connects with."""
    config = [] if client_config is None else ["--command-config", client_config]
    return ["--bootstrap-server", bootstrap, *config, "upgrade", "--release-version", release]


def render_features_job(spec: ClusterSpec, step: Finalize, *, bootstrap: str) -> dict[str, Any]:
    """The Job that raises the metadata version of the cluster at `bootstrap` as `step` says, in
    spec.namespace. Without owner references: the caller adds them (cluster.owned_by)."""
    if step.release != release_of(spec.version):
        raise ValueError(
            f"the features Job of Kafka {spec.version} raises to {release_of(spec.version)}, "
            f"not {step.release}"
        )
    return tool_job.render_tool_job(
        spec,
        kind=FEATURES_JOB_KIND,
        main_class=FEATURE_COMMAND,
        args=feature_command_args(
            step.release, bootstrap=bootstrap, client_config=tool_job.client_config(spec)
        ),
    )
