"""A Kafka upgrade against real Kafka, through the chain the operator is to drive: a cluster
formatted and started with the previous release, its nodes restarted one by one on the new one
(as the operator's roll does: the new release's jars, and the configuration rendered for the new
spec), the planner asked with what Kafka reports (KafkaAdmin.metadata_version_level), and the
features Job's very command run as a local process (only its classpath, the image's
/opt/kafka/libs, is the local copy of the same jars).

It shows why the planner waits for the roll (mid-roll, Kafka refuses the new metadata version: a
node of the old release does not support it), that the Job's command then raises the metadata
version and its companion features to the release's, and what the refusal of a later downgrade
says: the old release's own tool cannot lower the metadata version, nor can the new one, and a
node of the old release does not start on it.

The metadata versions model/upgrade.py states are checked against each release's own
FeatureCommand, the tool the features Job runs.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kopfka.kafka.admin import KafkaPythonAdmin
from kopfka.model import kafka_config
from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.upgrade import (
    Finalize,
    Nothing,
    Refuse,
    metadata_version,
    plan_metadata_version,
    release_of,
)
from kopfka.reconcile import new_cluster_id
from kopfka.render import config, statefulset
from kopfka.render.features_job import FEATURE_COMMAND, render_features_job
from kopfka.render.tool_job import IMAGE_LIBS
from tests.kafka.clients import admin_client
from tests.kafka.localkafka import LocalKafka, Node, local_kafka, wait_for
from tests.kafka.test_live_settings import kafka_libs
from tests.support import waiting

OLD, NEW = "4.3.1", "4.4.0"
TOOL_TIMEOUT = 180
POOL = {"storage": {"type": "ephemeral"}, "jvm": {"heap": "384Mi"}}
# The smallest cluster whose roll has a mixed middle: a controller and two brokers.
SHAPE = {"controllers": {"replicas": 1, **POOL}, "brokers": {"replicas": 2, **POOL}}
MAPPING_LINE = re.compile(r"^([a-z.]+)=(\d+)(?: \((\S+)\))?$", re.MULTILINE)


def spec_of(version: str) -> ClusterSpec:
    return parse_cluster("upgrade", "kafka", {**SHAPE, "kafka": {"version": version}})


def run_tool(
    version: str, command: list[str], *, libs: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """A tool command of the image, run here with Kafka `version`'s local jars."""
    libs = libs or kafka_libs(version)
    local = [f"{libs}/*" if part == f"{IMAGE_LIBS}/*" else part for part in command]
    return subprocess.run(local, capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False)


def feature_tool(version: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_tool(version, ["java", "-Xmx256m", "-cp", f"{IMAGE_LIBS}/*", FEATURE_COMMAND, *args])


def version_mapping(version: str, *release: str) -> dict[str, tuple[int, str | None]]:
    """Kafka `version`'s own `kafka-features version-mapping [--release-version X.Y]`:
    feature -> (level, name)."""
    args = ("--release-version", *release) if release else ()
    result = feature_tool(version, "version-mapping", *args)
    assert result.returncode == 0, result.stderr[-3000:]
    return {name: (int(level), label) for name, level, label in MAPPING_LINE.findall(result.stdout)}


def features_job_command(spec: ClusterSpec, step: Finalize, bootstrap: str) -> list[str]:
    job = render_features_job(spec, step, bootstrap=bootstrap)
    [container] = job["spec"]["template"]["spec"]["containers"]
    command: list[str] = container["command"]
    return command


def finalized(bootstrap: str) -> dict[str, int]:
    """Every finalized feature and its level, as a broker reports it."""
    with admin_client(bootstrap) as client:
        raw = client.describe_features()
    return {name: entry["finalized"][1] for name, entry in raw.items() if "finalized" in entry}


def level(cluster: LocalKafka) -> int | None:
    admin = KafkaPythonAdmin(cluster.bootstrap())
    try:
        return admin.metadata_version_level()
    finally:
        admin.close()


def runs(node: Node) -> str:
    """The Kafka version a node runs (its jars)."""
    for version in kafka_config.SUPPORTED_KAFKA_VERSIONS:
        if node.env["KOPFKA_LIBS"] == str(kafka_libs(version)):
            return version
    raise AssertionError(f"{node.pod} runs jars of no served version: {node.env['KOPFKA_LIBS']}")


def versions(cluster: LocalKafka) -> dict[int, str]:
    return {node.node_id: runs(node) for node in cluster.nodes}


def switch(cluster: LocalKafka, node: Node, spec: ClusterSpec) -> None:
    """What the node's pod gets from the StatefulSet of `spec`: its image's jars, the ConfigMap
    and the container environment rendered for it. Takes effect at the node's next start."""
    [pool] = [pool for pool in spec.pools if pool.role == node.pool.role]
    config_dir = cluster.base / "config" / spec.version / pool.role.value
    config_dir.mkdir(parents=True, exist_ok=True)
    for file_name, text in config.config_map(spec, pool)["data"].items():
        (config_dir / file_name).write_text(text)
    container = statefulset.pod_spec(spec, pool, cluster.cluster_id)["containers"][0]
    node.env |= {
        **cluster._container_env(container["env"], node),
        "KOPFKA_CONFIG_DIR": str(config_dir),
        "KOPFKA_LIBS": str(kafka_libs(spec.version)),
    }


def roll_onto(cluster: LocalKafka, node: Node, spec: ClusterSpec) -> None:
    """One step of the operator's roll: stop the node, start it on `spec`, wait until ready."""
    cluster.stop_node(node)
    switch(cluster, node, spec)
    cluster.start_node(node)
    cluster.wait_ready([node])


def upgraded(cluster: LocalKafka) -> None:
    """Every node on the new release and the metadata version finalized (idempotent)."""
    new = spec_of(NEW)
    for node in cluster.nodes:
        if runs(node) != NEW:
            roll_onto(cluster, node, new)
    step = plan_metadata_version(
        NEW, node_versions=versions(cluster), all_nodes_current=True, finalized_level=level(cluster)
    )
    if isinstance(step, Finalize):
        result = run_tool(NEW, features_job_command(new, step, cluster.bootstrap()))
        assert result.returncode == 0, result.stderr[-3000:]
    wanted = metadata_version(NEW).level
    wait_for(f"metadata.version {wanted}", lambda: level(cluster) == wanted)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """A cluster formatted and started by the previous release, as kopfka 4.3.1 made it."""
    base = tmp_path_factory.mktemp("upgrade")
    with local_kafka(spec_of(OLD), new_cluster_id(), base, OLD) as made:
        yield made


@pytest.mark.parametrize("version", kafka_config.SUPPORTED_KAFKA_VERSIONS)
def test_each_release_brings_the_metadata_version_the_model_says(version: str) -> None:
    """`--release-version X.Y`, as the Job passes it, means the release's latest production
    metadata version (what its nodes format a new cluster with), in that release's own tool."""
    stated = metadata_version(version)
    by_release = version_mapping(version, release_of(version))["metadata.version"]
    latest = version_mapping(version)["metadata.version"]
    assert by_release[0] == latest[0] == stated.level
    assert latest[1] == stated.name


def test_the_features_job_finishes_a_rolling_upgrade(cluster: LocalKafka) -> None:
    old_level = metadata_version(OLD).level
    assert wait_for("a finalized metadata.version", lambda: level(cluster)) == old_level
    new = spec_of(NEW)
    assert set(versions(cluster).values()) == {OLD}
    # The operator's order: controllers, then brokers; the last broker stays on 4.3.1 for now.
    *first, last = cluster.controllers + cluster.brokers_only
    for node in first:
        roll_onto(cluster, node, new)
    mixed = versions(cluster)
    assert mixed[last.node_id] == OLD
    assert set(mixed.values()) == {OLD, NEW}

    step = plan_metadata_version(
        NEW, node_versions=mixed, all_nodes_current=False, finalized_level=level(cluster)
    )
    assert isinstance(step, Nothing)
    assert f"nodes {last.node_id}" in step.reason
    # Kafka would refuse anyway: the node on 4.3.1 does not support 4.4's metadata version.
    finalize = Finalize(release=release_of(NEW), level=metadata_version(NEW).level)
    early = run_tool(NEW, features_job_command(new, finalize, cluster.bootstrap()))
    assert early.returncode != 0, early.stdout
    assert (
        f"Invalid update version 33 for feature metadata.version. Broker {last.node_id} only "
        "supports versions 7-30"
    ) in early.stdout
    assert level(cluster) == old_level

    roll_onto(cluster, last, new)
    step = plan_metadata_version(
        NEW,
        node_versions=versions(cluster),
        all_nodes_current=True,
        finalized_level=level(cluster),
    )
    assert step == finalize
    before = finalized(cluster.bootstrap())
    result = run_tool(NEW, features_job_command(new, step, cluster.bootstrap()))
    assert result.returncode == 0, result.stderr[-3000:]

    wait_for("metadata.version raised", lambda: level(cluster) == finalize.level)
    # Its companions too: every feature is at 4.4's level, which kafka-python's update would not do.
    release = {name: at for name, (at, _) in version_mapping(NEW, finalize.release).items()}
    after = waiting.wait_for(
        lambda: (now := finalized(cluster.bootstrap())) == release and now,
        timeout=60,
        what="every feature at Kafka 4.4's level",
        describe=lambda: f"{finalized(cluster.bootstrap())} (before: {before}, 4.4: {release})",
    )
    assert after != before
    assert plan_metadata_version(
        NEW,
        node_versions=versions(cluster),
        all_nodes_current=True,
        finalized_level=level(cluster),
    ) == Nothing("the metadata version is Kafka 4.4's, 4.4-IV2")
    # A Job started again for the same work (an operator that crashed) does no harm.
    again = run_tool(NEW, features_job_command(new, step, cluster.bootstrap()))
    assert again.returncode == 0, again.stderr[-3000:]
    assert finalized(cluster.bootstrap()) == release


def test_after_finalizing_the_old_release_cannot_come_back(cluster: LocalKafka) -> None:
    upgraded(cluster)
    new_level = metadata_version(NEW).level
    step = plan_metadata_version(
        OLD, node_versions=versions(cluster), all_nodes_current=True, finalized_level=new_level
    )
    assert isinstance(step, Refuse)
    assert "Kafka 4.3.1 cannot start on it" in step.message
    assert "Kafka cannot lower a finalized metadata version" in step.message

    # The old release's own features Job (a spec set back to 4.3.1) cannot lower it...
    old = spec_of(OLD)
    back = Finalize(release=release_of(OLD), level=metadata_version(OLD).level)
    result = run_tool(OLD, features_job_command(old, back, cluster.bootstrap()))
    assert result.returncode != 0, result.stdout
    assert (
        "Invalid update version 30 for feature metadata.version. Can't downgrade the version of "
        "this feature"
    ) in result.stdout
    # ...nor can the new release's tool, asked to downgrade.
    down = feature_tool(
        NEW, "--bootstrap-server", cluster.bootstrap(), "downgrade", "--release-version", "4.3"
    )
    assert down.returncode != 0, down.stdout
    assert "Unsupported metadata.version downgrade from 33 to 30" in down.stdout
    assert level(cluster) == new_level

    # And a node of the old release does not start on it.
    node = cluster.brokers_only[-1]
    cluster.stop_node(node)
    switch(cluster, node, old)
    cluster.start_node(node)
    try:
        waiting.wait_for(
            lambda: not node.running,
            timeout=180,
            what=f"{node.pod} on Kafka 4.3.1 to give up (log: {node.log})",
        )
        this_start = node.log.read_text(errors="replace").rsplit("==== start ", 1)[-1]
        assert "No MetadataVersion with feature level 33" in this_start
        # The controller refuses its registration, and it gives up after the registration timeout.
        assert "returned error UNSUPPORTED_VERSION" in this_start
        assert "Exiting Kafka due to fatal exception during startup" in this_start
    finally:
        if node.running:
            cluster.kill_node(node)
        else:
            node.process = None
        switch(cluster, node, spec_of(NEW))
        cluster.start_node(node)
        cluster.wait_ready([node])
    assert level(cluster) == new_level
