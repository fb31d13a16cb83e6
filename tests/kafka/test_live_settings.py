"""Cluster-wide settings against real Kafka, through the chain the operator drives: plan from what
Kafka reports (KafkaAdmin.cluster_defaults), render the settings Job, run the very command of its
pod as a local process (only its classpath, the image's /opt/kafka/libs, is the local copy of the
same jars), and read Kafka again.

It shows the problem (the controllers record a cluster-level min.insync.replicas when the cluster
is made, which wins over server.properties) and the cure: the Job's command changes the value for
the whole cluster, every broker applies it live, and a topic without a value of its own then
refuses acks=all writes with fewer replicas in sync (one of them stopped); a value Kafka refuses
fails the command with Kafka's reason on stderr, and changes nothing.

These tests change the shared cluster's defaults; each sets them back to the spec's at its end.
"""

from __future__ import annotations

import contextlib
import subprocess
import zipfile
from collections.abc import Iterator, Set
from pathlib import Path

import pytest
from kafka import KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import KafkaError, NotEnoughReplicasAfterAppendError, NotEnoughReplicasError

from kopfka.kafka.admin import KafkaPythonAdmin
from kopfka.kafka.facts import ConfigValue
from kopfka.model import kafka_config
from kopfka.model.live_settings import (
    CLUSTER_DEFAULT_SOURCE,
    LivePlan,
    desired_cluster_defaults,
    plan_cluster_defaults,
    recorded_keys,
)
from kopfka.render.settings_job import IMAGE_LIBS, config_command_class, render_settings_job
from kopfka.topics.plan import TopicCreate
from tests.kafka.clients import admin_client
from tests.kafka.localkafka import REPO, LocalKafka, wait_for
from tests.support import waiting

TOOL_TIMEOUT = 180
# The settings the tests below may leave in Kafka's defaults; `restored` removes them again.
TEST_KEYS = frozenset(
    {
        "log.retention.ms",
        "message.max.bytes",
        "max.connections.per.ip.overrides",
        "errors.deadletterqueue.topic.name.prefix",
    }
)


def kafka_libs(version: str) -> Path:
    """Kafka `version`'s jars, as the broker image holds them (hack/kafka-libs.sh, cached)."""
    out = subprocess.run(
        [str(REPO / "hack" / "kafka-libs.sh"), version], check=True, capture_output=True, text=True
    )
    return Path(out.stdout.strip().splitlines()[-1])


def run_settings_job(cluster: LocalKafka, plan: LivePlan) -> subprocess.CompletedProcess[str]:
    """The settings Job's container command for `plan`, run here against the tier's brokers."""
    job = render_settings_job(cluster.spec, plan, bootstrap=cluster.bootstrap())
    [container] = job["spec"]["template"]["spec"]["containers"]
    libs = kafka_libs(cluster.spec.version)
    command = [f"{libs}/*" if part == f"{IMAGE_LIBS}/*" else part for part in container["command"]]
    assert command != container["command"], "the command should name the image's classpath"
    return subprocess.run(
        command, capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False
    )


def applied(cluster: LocalKafka, plan: LivePlan) -> None:
    result = run_settings_job(cluster, plan)
    assert result.returncode == 0, f"kafka-configs failed: {result.stderr[-3000:]}"


def converged(
    admin: KafkaPythonAdmin, desired: dict[str, str], managed: Set[str]
) -> LivePlan | None:
    """The plan is empty once every broker we may ask has applied the change (poll)."""
    plan = plan_cluster_defaults(desired, admin.cluster_defaults(), managed=managed)
    return plan if plan.empty else None


def effective_everywhere(
    cluster: LocalKafka, admin: KafkaPythonAdmin, key: str, value: str
) -> bool:
    """Every running broker runs with `value` for `key`, from the cluster-wide default."""
    return all(
        admin.broker_config(node.node_id).get(key) == ConfigValue(value, CLUSTER_DEFAULT_SOURCE)
        for node in cluster.brokers
        if node.running
    )


@contextlib.contextmanager
def fresh_admin(cluster: LocalKafka) -> Iterator[KafkaPythonAdmin]:
    """A client that learns the brokers anew: kafka-python's metadata forgets a broker that was
    stopped, and asking it by id then fails (UnknownBrokerIdError) until something refreshes it."""
    client = KafkaPythonAdmin(cluster.bootstrap())
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def restored(kafka: LocalKafka) -> Iterator[None]:
    """After the test, Kafka's cluster-wide defaults are the spec's again."""
    yield
    with fresh_admin(kafka) as admin:
        set_back(kafka, admin)


def set_back(kafka: LocalKafka, admin: KafkaPythonAdmin) -> None:
    """Kafka's cluster-wide defaults as the spec says, applied by every broker."""
    desired = desired_cluster_defaults(kafka.spec)
    managed = TEST_KEYS | set(desired)
    plan = plan_cluster_defaults(desired, admin.cluster_defaults(), managed=managed)
    if not plan.empty:
        applied(kafka, plan)
    wait_for("the spec's cluster-wide defaults back", lambda: converged(admin, desired, managed))
    for key, value in desired.items():
        wait_for(
            f"{key}={value} on every broker",
            lambda key=key, value=value: effective_everywhere(kafka, admin, key, value),
        )


def test_controllers_record_min_insync_replicas_when_the_cluster_is_made(
    kafka: LocalKafka, admin: KafkaPythonAdmin
) -> None:
    """Nothing but the cluster's own start set it: Kafka 4.x records the controllers' static
    value (the size-aware default, 2 for 3 brokers; Kafka's own default is 1) as a cluster-wide
    dynamic default, which from then on wins over every node's server.properties."""
    recorded = admin.cluster_defaults()
    assert kafka.spec.config["min.insync.replicas"] == "2"
    kafka_default = kafka_config.server_settings(kafka.spec.version)["min.insync.replicas"].default
    assert kafka_default == "1"
    assert recorded["min.insync.replicas"] == ConfigValue("2", CLUSTER_DEFAULT_SOURCE)
    assert effective_everywhere(kafka, admin, "min.insync.replicas", "2")
    # So a new cluster needs no settings Job.
    assert plan_cluster_defaults(desired_cluster_defaults(kafka.spec), recorded).empty


def test_kafka_python_cannot_name_the_cluster_wide_defaults(kafka: LocalKafka) -> None:
    """Why the defaults are read through a broker's synonyms and set by Kafka's own tool:
    kafka-python refuses the default broker resource (the empty name) before asking Kafka."""
    default_broker = ConfigResource(
        ConfigResourceType.BROKER, "", configs={"log.retention.ms": "1"}
    )
    with admin_client(kafka.bootstrap()) as client:
        with pytest.raises(ValueError, match="Broker resource names must be an integer"):
            client.describe_configs([ConfigResource(ConfigResourceType.BROKER, "")])
        with pytest.raises(ValueError, match="Broker resource names must be an integer"):
            client.alter_configs([default_broker], incremental=True, raise_on_unknown=False)


def produce_one(bootstrap: str, topic: str) -> KafkaError | None:
    """One acks=all write, not retried: None when acknowledged, else Kafka's refusal."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=False, retries=0
    )
    try:
        producer.send(topic, value=b"live").get(timeout=60)
    except KafkaError as error:
        return error
    finally:
        producer.close(timeout=10)
    return None


def led_and_in_sync(admin: KafkaPythonAdmin, topic: str) -> bool:
    facts = admin.topics([topic]).get(topic)
    return facts is not None and all(
        p.leader >= 0 and not p.under_replicated for p in facts.partitions
    )


@pytest.fixture
def topic(kafka: LocalKafka, admin: KafkaPythonAdmin) -> Iterator[str]:
    """A topic of 3 replicas with no min.insync.replicas of its own: the cluster's applies."""
    name = "live-min-isr"
    assert admin.create_topics([TopicCreate(name, 1, 3, {})]) == {name: None}
    wait_for(f"{name} led and in sync", lambda: led_and_in_sync(admin, name))
    assert admin.topic_configs([name]) == {}
    yield name
    with fresh_admin(kafka) as client:
        assert client.delete_topics([name]) == {name: None}


def test_the_jobs_command_changes_min_insync_replicas_for_the_whole_cluster(
    kafka: LocalKafka, admin: KafkaPythonAdmin, topic: str, restored: None
) -> None:
    """With one of the topic's 3 replicas stopped, acks=all writes pass while the cluster asks
    for 2 in sync, and are refused once the Job's command asks for 3. (Kafka 4.x caps the
    minimum at the replication factor, so a stopped replica is what makes fewer in sync.)"""
    outcomes: list[KafkaError | None] = []

    def write(*, refused: bool) -> bool:
        outcomes.append(produce_one(kafka.bootstrap(), topic))
        if refused:
            return isinstance(
                outcomes[-1], NotEnoughReplicasError | NotEnoughReplicasAfterAppendError
            )
        return outcomes[-1] is None

    [partition] = admin.topics([topic])[topic].partitions
    follower = kafka.node(next(r for r in partition.replicas if r != partition.leader))
    kafka.stop_node(follower)
    try:
        wait_for(
            f"{topic} with 2 of 3 replicas in sync",
            lambda: len(admin.topics([topic])[topic].partitions[0].isr) == 2,
        )
        waiting.wait_for(
            lambda: write(refused=False),
            timeout=60,
            what="an acks=all write accepted with 2 in sync and 2 required",
            describe=lambda: repr(outcomes[-1:]),
        )

        desired = desired_cluster_defaults(kafka.spec)
        raised = {**desired, "min.insync.replicas": "3"}
        plan = plan_cluster_defaults(raised, admin.cluster_defaults(), managed=desired.keys())
        assert plan == LivePlan(to_set={"min.insync.replicas": "3"})
        result = run_settings_job(kafka, plan)
        assert result.returncode == 0, result.stderr
        assert "Completed updating default config for brokers" in result.stdout

        wait_for("Kafka to report 3", lambda: converged(admin, raised, desired.keys()))
        wait_for(
            "every running broker to apply 3",
            lambda: effective_everywhere(kafka, admin, "min.insync.replicas", "3"),
        )
        waiting.wait_for(
            lambda: write(refused=True),
            timeout=60,
            what="an acks=all write refused with 2 in sync and 3 required",
            describe=lambda: repr(outcomes[-1:]),
        )
    finally:
        kafka.start_node(follower)
        kafka.wait_ready([follower])
        with fresh_admin(kafka) as client:
            wait_for(f"{topic} in sync again", lambda: led_and_in_sync(client, topic))


def test_one_run_sets_a_new_setting_and_deletes_a_removed_one(
    kafka: LocalKafka, admin: KafkaPythonAdmin, restored: None
) -> None:
    desired = desired_cluster_defaults(kafka.spec)
    # Values with ',' and '=' travel in brackets; Kafka must record them as they are.
    first = {
        **desired,
        "log.retention.ms": "3600000",
        "max.connections.per.ip.overrides": "127.0.0.1:1000,127.0.0.2:1000",
        "errors.deadletterqueue.topic.name.prefix": "dlq=",
    }
    managed = recorded_keys(first, admin.cluster_defaults(), managed=desired.keys())
    applied(kafka, plan_cluster_defaults(first, admin.cluster_defaults(), managed=managed))
    wait_for("the first plan carried out", lambda: converged(admin, first, managed))

    # The spec drops those and adds message.max.bytes.
    second = {**desired, "message.max.bytes": "2000000"}
    managed = recorded_keys(second, admin.cluster_defaults(), managed=managed)
    assert managed == {*first, "message.max.bytes"}
    plan = plan_cluster_defaults(second, admin.cluster_defaults(), managed=managed)
    assert plan == LivePlan(
        to_set={"message.max.bytes": "2000000"},
        to_delete=(
            "errors.deadletterqueue.topic.name.prefix",
            "log.retention.ms",
            "max.connections.per.ip.overrides",
        ),
    )
    applied(kafka, plan)
    wait_for("the second plan carried out", lambda: converged(admin, second, managed))
    assert admin.cluster_defaults() == {
        key: ConfigValue(value, CLUSTER_DEFAULT_SOURCE) for key, value in second.items()
    }
    assert recorded_keys(second, admin.cluster_defaults(), managed=managed) == second.keys()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (
            "abc",
            "Invalid value abc for configuration min.insync.replicas: Not a number of type INT",
        ),
        ("-1", "Invalid value -1 for configuration min.insync.replicas: Value must be at least 1"),
    ],
)
def test_a_value_kafka_refuses_fails_the_job_with_kafkas_reason(
    kafka: LocalKafka, admin: KafkaPythonAdmin, value: str, reason: str
) -> None:
    result = run_settings_job(kafka, LivePlan(to_set={"min.insync.replicas": value}))
    assert result.returncode != 0
    assert reason in result.stderr
    assert admin.cluster_defaults()["min.insync.replicas"].value == "2"


@pytest.mark.parametrize("version", kafka_config.SUPPORTED_KAFKA_VERSIONS)
def test_each_supported_kafka_has_the_tool_the_job_names(version: str) -> None:
    entry = config_command_class(version).replace(".", "/") + ".class"
    found = []
    for jar in sorted(kafka_libs(version).glob("kafka*.jar")):
        with zipfile.ZipFile(jar) as archive:
            if entry in archive.namelist():
                found.append(jar.name)
    assert found, f"{entry} is in none of Kafka {version}'s jars"
