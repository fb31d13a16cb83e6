"""The topic Job's command against real Kafka, through the chain the operator drives: plan from
what Kafka has, write the work file, run `kopfka topics-apply` as a process, read Kafka again and
plan again. Each case checks what Kafka holds afterwards, and that the second plan has nothing
left to do (the topic created, adopted, updated, set back or deleted as the spec says) but what
Kafka refused. And the admin client's answer, change by change, for topics Kafka refuses."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from kafka.admin import AlterConfigOp, ConfigResource, ConfigResourceType

from kopfka.cli import KAFKA_UNAVAILABLE_EXIT
from kopfka.kafka.admin import KafkaPythonAdmin
from kopfka.kafka.facts import TopicError, TopicFacts
from kopfka.model.cluster import parse_cluster
from kopfka.model.topic import parse_topic
from kopfka.topics.plan import (
    ADOPTED,
    ADOPTING,
    CONFLICT,
    CREATING,
    DELETED,
    DELETING,
    IN_SYNC,
    RETAINED,
    UPDATING,
    State,
    TopicCreate,
    TopicPlan,
    TopicResource,
    plan_topics,
)
from kopfka.topics.wire import BatchLog, Outcome, read_batch_log, work_file
from tests.kafka.clients import admin_client
from tests.kafka.conftest import DEDICATED
from tests.kafka.localkafka import LocalKafka
from tests.support import waiting

TIER = parse_cluster("tier", "kafka", DEDICATED)
KOPFKA = Path(sys.executable).with_name("kopfka")
EARLY, LATE = "2025-03-01T10:00:00Z", "2025-03-01T10:00:01Z"
SETTLE_SECONDS = 60


def topics_apply(bootstrap: str, work: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """The topic Job's command, as the console script installed with kopfka."""
    command = [str(KOPFKA), "topics-apply", "--bootstrap-servers", bootstrap, "--work", str(work)]
    return subprocess.run(
        [*command, *options],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@dataclass(frozen=True)
class Kafka:
    """What Kafka holds for a test's topics: the topics, and their dynamic topic configs."""

    topics: dict[str, TopicFacts]
    configs: dict[str, dict[str, str]]

    def partitions(self, name: str) -> int:
        return len(self.topics[name].partitions)


@dataclass(frozen=True)
class Round:
    plan: TopicPlan  # the plan carried out
    log: BatchLog  # what `kopfka topics-apply` printed
    after: TopicPlan  # the plan made again from what Kafka then holds
    kafka: Kafka  # what Kafka held for that second plan
    resources: list[TopicResource]  # the KafkaTopics with the names their status would record


@dataclass
class Topics:
    """One test's KafkaTopics, named apart from the other tests' on the shared cluster."""

    prefix: str
    bootstrap: str
    admin: KafkaPythonAdmin
    work_dir: Path

    def name(self, short: str) -> str:
        return f"{self.prefix}-{short}"

    def resource(
        self,
        short: str,
        *,
        created: str = EARLY,
        deleting: bool = False,
        recorded: str | None = None,
        **spec: Any,
    ) -> TopicResource:
        """A KafkaTopic named `short` (its topic too, unless spec.topicName says otherwise)."""
        if "topicName" in spec:
            spec["topicName"] = self.name(spec["topicName"])
        return TopicResource(
            "kafka",
            self.name(short),
            uid=f"uid-{self.name(short)}",
            created=created,
            generation=1,
            spec=parse_topic(self.name(short), {"cluster": "tier", **spec}),
            recorded_topic_name=recorded,
            deleting=deleting,
        )

    def read(self, names: set[str]) -> Kafka:
        return Kafka(self.admin.topics(sorted(names)), self.admin.topic_configs(names))

    def plan(self, resources: list[TopicResource]) -> tuple[TopicPlan, Kafka]:
        kafka = self.read({resource.claimed_topic for resource in resources})
        plan = plan_topics(resources, actual=kafka.topics, configs=kafka.configs, cluster=TIER)
        return plan, kafka

    def apply(self, plan: TopicPlan) -> BatchLog:
        """The plan's work through the work file and `kopfka topics-apply`, as a Job runs it."""
        work = self.work_dir / f"work-{uuid.uuid4().hex[:6]}.json.gz"
        work.write_bytes(work_file(plan))
        done = topics_apply(self.bootstrap, work)
        assert done.returncode == 0, done.stderr
        log = read_batch_log(done.stdout)
        assert log.complete, done.stdout
        return log

    def settle(
        self,
        resources: list[TopicResource],
        *,
        until: Callable[[TopicPlan], bool] = lambda plan: not plan.has_work,
    ) -> tuple[TopicPlan, Kafka]:
        """Plan again until `until` holds: brokers learn Kafka's changes a moment apart."""
        seen: list[tuple[TopicPlan, Kafka]] = []

        def planned() -> tuple[TopicPlan, Kafka] | None:
            seen[:] = [self.plan(resources)]
            return seen[0] if until(seen[0][0]) else None

        return waiting.wait_for(
            planned,
            timeout=SETTLE_SECONDS,
            what="Kafka to show the batch's changes",
            describe=lambda: repr(seen[0]) if seen else "no plan yet",
        )

    def round(
        self,
        resources: list[TopicResource],
        *,
        until: Callable[[TopicPlan], bool] = lambda plan: not plan.has_work,
    ) -> Round:
        plan, _ = self.plan(resources)
        log = self.apply(plan)
        # The names the operator would record in status from the verdicts.
        recorded = [
            replace(r, recorded_topic_name=plan.verdicts[r.key].topic_name) for r in resources
        ]
        after, kafka = self.settle(recorded, until=until)
        return Round(plan, log, after, kafka, recorded)

    def wait_for_configs(self, name: str, configs: dict[str, str]) -> None:
        waiting.wait_for(
            lambda: self.read({name}).configs.get(name) == configs,
            timeout=SETTLE_SECONDS,
            what=f"configs of {name} to be {configs}",
            describe=lambda: repr(self.read({name}).configs.get(name)),
        )


@pytest.fixture
def topics(kafka: LocalKafka, admin: KafkaPythonAdmin, tmp_path: Path) -> Iterator[Topics]:
    """A test's topics, deleted at its end: the cluster is the tier's other tests' too."""
    prefix = f"tb-{uuid.uuid4().hex[:8]}"
    yield Topics(prefix, kafka.bootstrap(), admin, tmp_path)
    with admin_client(kafka.bootstrap()) as client:
        left = [name for name in client.list_topics() if name.startswith(f"{prefix}-")]
    # A topic the test deleted itself may still be listed by a broker whose metadata lags; Kafka
    # then answers UNKNOWN_TOPIC_OR_PARTITION, which is what cleanup wants.
    failed = {
        name: error
        for name, error in admin.delete_topics(left).items()
        if error is not None and error.code != "UNKNOWN_TOPIC_OR_PARTITION"
    }
    assert not failed, f"cleanup could not delete {failed}"


def reasons(plan: TopicPlan) -> dict[str, str]:
    return {key: verdict.reason for key, verdict in plan.verdicts.items()}


def test_create_gives_the_topic_the_spec_partitions_replication_factor_and_config(
    topics: Topics,
) -> None:
    orders = topics.resource(
        "orders",
        partitions=4,
        replicationFactor=2,
        config={"retention.ms": 3600000, "cleanup.policy": "compact"},
    )
    name = orders.spec.topic_name
    done = topics.round([orders])
    assert reasons(done.plan) == {orders.key: CREATING}
    assert done.log.outcomes == (Outcome(name, "create"),)
    assert done.kafka.partitions(name) == 4
    assert done.kafka.topics[name].replication_factor == 2
    assert done.kafka.configs[name] == {"retention.ms": "3600000", "cleanup.policy": "compact"}
    assert reasons(done.after) == {orders.key: IN_SYNC}


def test_create_without_partitions_or_factor_takes_the_cluster_defaults(
    topics: Topics, admin: KafkaPythonAdmin
) -> None:
    clicks = topics.resource("clicks")
    name = clicks.spec.topic_name
    done = topics.round([clicks])
    # Kafka's -1 went out: the brokers' num.partitions decided the count.
    assert done.plan.creates == (TopicCreate(name, None, 3, {}),)
    assert done.log.outcomes == (Outcome(name, "create"),)
    configured = admin.broker_config(0).get("num.partitions")
    assert done.kafka.partitions(name) == int(configured.value if configured else "1")
    assert done.kafka.topics[name].replication_factor == int(
        TIER.config["default.replication.factor"]
    )
    assert name not in done.kafka.configs
    assert reasons(done.after) == {clicks.key: IN_SYNC}


def test_adoption_sets_the_spec_and_removes_the_overrides_it_does_not_name(
    topics: Topics,
) -> None:
    name = topics.name("legacy")
    existing = {"retention.ms": "1000", "segment.ms": "3600000"}
    with admin_client(topics.bootstrap) as client:
        client.create_topics(
            {name: {"num_partitions": 2, "replication_factor": 3, "configs": existing}}
        )
    topics.wait_for_configs(name, existing)
    topic_id = topics.read({name}).topics[name].topic_id
    legacy = topics.resource(
        "legacy", partitions=3, config={"retention.ms": 7200000, "max.message.bytes": 2000000}
    )
    done = topics.round([legacy])
    assert reasons(done.plan) == {legacy.key: ADOPTING}
    assert set(done.log.outcomes) == {Outcome(name, "partitions"), Outcome(name, "config")}
    assert done.kafka.configs[name] == {"retention.ms": "7200000", "max.message.bytes": "2000000"}
    assert done.kafka.partitions(name) == 3
    assert done.kafka.topics[name].topic_id == topic_id
    assert reasons(done.after) == {legacy.key: IN_SYNC}


def test_adopting_a_topic_that_matches_changes_nothing(topics: Topics) -> None:
    name = topics.name("same")
    with admin_client(topics.bootstrap) as client:
        client.create_topics(
            {
                name: {
                    "num_partitions": 2,
                    "replication_factor": 3,
                    "configs": {"segment.ms": "600000"},
                }
            }
        )
    topics.wait_for_configs(name, {"segment.ms": "600000"})
    same = topics.resource("same", partitions=2, config={"segment.ms": 600000})
    done = topics.round([same])
    assert reasons(done.plan) == {same.key: ADOPTED}
    assert done.log.outcomes == ()
    assert reasons(done.after) == {same.key: IN_SYNC}


def test_spec_changes_raise_partitions_and_replace_configs(topics: Topics) -> None:
    first = topics.resource(
        "orders", partitions=2, config={"retention.ms": 3600000, "segment.ms": 600000}
    )
    name = first.spec.topic_name
    created = topics.round([first])
    topic_id = created.kafka.topics[name].topic_id
    changed = replace(
        created.resources[0],
        generation=2,
        spec=parse_topic(
            first.name,
            {
                "cluster": "tier",
                "partitions": 5,
                "config": {"retention.ms": 7200000, "cleanup.policy": "compact"},
            },
        ),
    )
    done = topics.round([changed])
    assert reasons(done.plan) == {changed.key: UPDATING}
    assert done.log.outcomes == (Outcome(name, "partitions"), Outcome(name, "config"))
    assert done.kafka.partitions(name) == 5
    assert done.kafka.configs[name] == {"retention.ms": "7200000", "cleanup.policy": "compact"}
    assert done.kafka.topics[name].topic_id == topic_id
    assert reasons(done.after) == {changed.key: IN_SYNC}


def test_configs_changed_in_kafka_directly_are_set_back(topics: Topics) -> None:
    orders = topics.resource("orders", partitions=1, config={"retention.ms": 3600000})
    name = orders.spec.topic_name
    created = topics.round([orders])
    drifted = {"retention.ms": "1000", "segment.ms": "600000"}
    with admin_client(topics.bootstrap) as client:
        ops = {key: (AlterConfigOp.SET, value) for key, value in drifted.items()}
        client.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name, configs=ops)], incremental=True
        )
    topics.wait_for_configs(name, drifted)
    done = topics.round(created.resources)
    assert reasons(done.plan) == {orders.key: UPDATING}
    assert done.log.outcomes == (Outcome(name, "config"),)
    assert done.kafka.configs[name] == {"retention.ms": "3600000"}
    assert reasons(done.after) == {orders.key: IN_SYNC}


def test_two_kafkatopics_for_one_topic_apply_only_the_older_ones_settings(
    topics: Topics,
) -> None:
    owner = topics.resource(
        "owner", topicName="shared", partitions=2, config={"retention.ms": 3600000}
    )
    rival = topics.resource(
        "rival",
        created=LATE,
        topicName="shared",
        partitions=6,
        config={"cleanup.policy": "compact"},
    )
    name = topics.name("shared")
    done = topics.round([owner, rival])
    assert reasons(done.plan) == {owner.key: CREATING, rival.key: CONFLICT}
    assert done.log.outcomes == (Outcome(name, "create"),)
    assert done.kafka.partitions(name) == 2
    assert done.kafka.configs[name] == {"retention.ms": "3600000"}
    assert reasons(done.after) == {owner.key: IN_SYNC, rival.key: CONFLICT}
    assert done.after.verdicts[rival.key].state is State.REFUSED


def test_kafka_refuses_an_invalid_config_with_its_own_message_and_creates_the_rest(
    topics: Topics,
) -> None:
    # The model's checks against the cluster would refuse this value before Kafka saw it; here
    # they are left out, so that Kafka is the one to refuse it, as it does with what only Kafka
    # knows is wrong (its policies, rules of newer versions).
    bad = topics.resource("bad", partitions=1, config={"retention.ms": "soon"})
    good = [
        topics.resource(short, partitions=1, config={"retention.ms": 3600000})
        for short in ("good-a", "good-b")
    ]
    bad_create = TopicCreate(bad.spec.topic_name, 1, 3, {"retention.ms": "soon"})

    def only_the_bad_topic_left(plan: TopicPlan) -> bool:
        return plan.creates == (bad_create,) and not (
            plan.partition_increases or plan.config_changes or plan.deletions
        )

    done = topics.round([bad, *good], until=only_the_bad_topic_left)
    outcomes = {outcome.topic: outcome for outcome in done.log.outcomes}
    refused = outcomes[bad.spec.topic_name]
    assert refused.action == "create"
    assert refused.error is not None
    assert refused.error.code == "INVALID_CONFIG"
    assert refused.error.message.startswith("Invalid value soon for configuration retention.ms")
    for resource in good:
        assert outcomes[resource.spec.topic_name].ok
        assert done.kafka.configs[resource.spec.topic_name] == {"retention.ms": "3600000"}
    assert bad.spec.topic_name not in done.kafka.topics
    assert reasons(done.after)[bad.key] == CREATING


def test_kafka_refuses_an_invalid_config_change_for_that_topic_alone(topics: Topics) -> None:
    first = [
        topics.resource(short, partitions=1, config={"retention.ms": 3600000})
        for short in ("refused", "changed")
    ]
    refused, changed = topics.round(first).resources
    spec = {"cluster": "tier", "partitions": 1}
    refused = replace(
        refused, spec=parse_topic(refused.name, {**spec, "config": {"retention.ms": "soon"}})
    )
    changed = replace(
        changed, spec=parse_topic(changed.name, {**spec, "config": {"segment.ms": 1000}})
    )
    name = refused.spec.topic_name

    def only_the_refused_change_left(plan: TopicPlan) -> bool:
        return list(plan.config_changes) == [name] and not plan.creates

    done = topics.round([refused, changed], until=only_the_refused_change_left)
    outcomes = {outcome.topic: outcome for outcome in done.log.outcomes}
    assert outcomes[name].action == "config"
    assert outcomes[name].error == TopicError(
        "INVALID_CONFIG",
        "Invalid value soon for configuration retention.ms: Not a number of type LONG",
    )
    assert outcomes[changed.spec.topic_name] == Outcome(changed.spec.topic_name, "config")
    assert done.kafka.configs[name] == {"retention.ms": "3600000"}
    assert done.kafka.configs[changed.spec.topic_name] == {"segment.ms": "1000"}


def test_admin_answers_each_refused_topic_with_kafkas_error_and_changes_the_others(
    topics: Topics, admin: KafkaPythonAdmin
) -> None:
    real, missing = topics.name("real"), topics.name("missing")
    created = admin.create_topics(
        [TopicCreate(real, 1, 3, {}), TopicCreate(topics.name("bad"), 1, 9, {})]
    )
    assert created[real] is None
    refused = created[topics.name("bad")]
    assert refused is not None
    assert refused.code == "INVALID_REPLICATION_FACTOR"
    assert refused.message.startswith("Unable to replicate the partition 9 time(s)")
    waiting.wait_for(
        lambda: real in admin.topics([real]), timeout=SETTLE_SECONDS, what=f"{real} to exist"
    )
    raised = admin.create_partitions({real: 2, missing: 2})
    assert raised[real] is None
    assert raised[missing] is not None
    assert raised[missing].code == "UNKNOWN_TOPIC_OR_PARTITION"
    altered = admin.alter_topic_configs(
        {real: {"segment.ms": "1000", "retention.ms": None}, missing: {"segment.ms": "1000"}}
    )
    assert altered == {
        real: None,
        missing: TopicError("UNKNOWN_TOPIC_OR_PARTITION", f"The topic '{missing}' does not exist."),
    }
    deleted = admin.delete_topics([real, missing])
    assert deleted[real] is None
    assert deleted[missing] is not None
    assert deleted[missing].code == "UNKNOWN_TOPIC_OR_PARTITION"


def test_deletion_policy_delete_removes_the_topic(topics: Topics) -> None:
    orders = topics.resource("orders", partitions=1, deletionPolicy="delete")
    name = orders.spec.topic_name
    created = topics.round([orders])
    deleting = [replace(resource, deleting=True) for resource in created.resources]
    done = topics.round(deleting)
    assert reasons(done.plan) == {orders.key: DELETING}
    assert done.log.outcomes == (Outcome(name, "delete"),)
    assert name not in done.kafka.topics
    assert reasons(done.after) == {orders.key: DELETED}
    assert done.after.verdicts[orders.key].release_finalizer


def test_deletion_policy_retain_keeps_the_topic(topics: Topics) -> None:
    orders = topics.resource("orders", partitions=1)  # deletionPolicy defaults to retain
    name = orders.spec.topic_name
    created = topics.round([orders])
    topic_id = created.kafka.topics[name].topic_id
    deleting = [replace(resource, deleting=True) for resource in created.resources]
    done = topics.round(deleting)
    assert reasons(done.plan) == {orders.key: RETAINED}
    assert done.log.outcomes == ()
    assert done.kafka.topics[name].topic_id == topic_id
    assert done.after.verdicts[orders.key].release_finalizer


def test_a_deletion_frees_a_colliding_name_for_a_create_of_the_same_batch(
    topics: Topics,
) -> None:
    # Kafka refuses `a.b` while `a_b` exists: the batch deletes before it creates.
    old = topics.resource("old", topicName="events_v1", partitions=1, deletionPolicy="delete")
    created = topics.round([old])
    new = topics.resource("new", topicName="events.v1", partitions=1)
    done = topics.round([replace(created.resources[0], deleting=True), new])
    assert done.log.outcomes == (
        Outcome(topics.name("events_v1"), "delete"),
        Outcome(topics.name("events.v1"), "create"),
    )
    assert topics.name("events_v1") not in done.kafka.topics
    assert topics.name("events.v1") in done.kafka.topics


def test_topics_apply_fails_with_a_message_when_kafka_cannot_be_reached(tmp_path: Path) -> None:
    work = tmp_path / "work.json.gz"
    plan = plan_topics([], actual={}, configs={}, cluster=TIER)
    work.write_bytes(work_file(replace(plan, deletions=("orders",))))
    done = topics_apply("127.0.0.1:1", work, "--timeout", "3")
    assert done.returncode == KAFKA_UNAVAILABLE_EXIT
    assert "Kafka at 127.0.0.1:1 cannot be reached" in done.stderr
    assert not read_batch_log(done.stdout).complete
