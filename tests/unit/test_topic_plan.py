"""The topic planner, case by case: what it changes in Kafka for each KafkaTopic, what it refuses
and why, who owns a topic two KafkaTopics name, when a finalizer may go; and, for random sets of
KafkaTopics and Kafka topics, that carrying a plan out leaves nothing to do and never touches the
topic of a refused KafkaTopic."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kopfka.kafka.facts import Partition, TopicFacts
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
    INVALID_SPEC,
    PARTITION_DECREASE,
    REPLICATION_FACTOR_CHANGING,
    RETAINED,
    TOPIC_NAME_CHANGED,
    UPDATING,
    ConfigChange,
    State,
    TopicCreate,
    TopicPlan,
    TopicResource,
    plan_topics,
)

# Three brokers: default.replication.factor 3.
CLUSTER = parse_cluster("events", "streaming", {"brokers": {"replicas": 3}})
THROTTLE = "leader.replication.throttled.replicas"
EARLY, LATE = "2025-03-01T10:00:00Z", "2025-03-01T10:00:01Z"


def resource(
    name: str = "orders",
    *,
    created: str = EARLY,
    uid: str | None = None,
    recorded: str | None = None,
    deleting: bool = False,
    problems: tuple[str, ...] = (),
    generation: int = 1,
    **spec: Any,
) -> TopicResource:
    return TopicResource(
        "streaming",
        name,
        uid=uid or f"uid-{name}",
        created=created,
        generation=generation,
        spec=parse_topic(name, {"cluster": "events", **spec}),
        recorded_topic_name=recorded,
        deleting=deleting,
        problems=problems,
    )


def kafka_topic(name: str = "orders", *, partitions: int = 3, factor: int = 3) -> TopicFacts:
    replicas = tuple(range(factor))
    return TopicFacts(
        name,
        f"id-{name}",
        tuple(Partition(index, replicas[0], replicas, replicas) for index in range(partitions)),
    )


def plan(
    *resources: TopicResource,
    kafka: tuple[TopicFacts, ...] = (),
    configs: dict[str, dict[str, str]] | None = None,
) -> TopicPlan:
    return plan_topics(
        resources,
        actual={topic.name: topic for topic in kafka},
        configs=configs or {},
        cluster=CLUSTER,
    )


@dataclass(frozen=True)
class Case:
    resource: TopicResource
    kafka: tuple[TopicFacts, ...] = ()
    configs: dict[str, dict[str, str]] = field(default_factory=dict)
    creates: tuple[TopicCreate, ...] = ()
    partition_increases: dict[str, int] = field(default_factory=dict)
    config_changes: dict[str, ConfigChange] = field(default_factory=dict)
    deletions: tuple[str, ...] = ()
    state: State = State.READY
    reason: str = IN_SYNC


CASES = {
    "create": Case(
        resource(partitions=6, replicationFactor=2, config={"retention.ms": 1000}),
        creates=(TopicCreate("orders", 6, 2, {"retention.ms": "1000"}),),
        state=State.PENDING,
        reason=CREATING,
    ),
    "create without partitions or replicationFactor: Kafka's partitions, the cluster's factor": (
        Case(
            resource(),
            creates=(TopicCreate("orders", None, 3, {}),),
            state=State.PENDING,
            reason=CREATING,
        )
    ),
    "create under topicName": Case(
        resource(topicName="orders.v1", partitions=1),
        creates=(TopicCreate("orders.v1", 1, 3, {}),),
        state=State.PENDING,
        reason=CREATING,
    ),
    "managed topic deleted in Kafka is created again": Case(
        resource(recorded="orders", partitions=3),
        creates=(TopicCreate("orders", 3, 3, {}),),
        state=State.PENDING,
        reason=CREATING,
    ),
    "in sync": Case(
        resource(recorded="orders", partitions=3, replicationFactor=3, config={"retention.ms": 5}),
        kafka=(kafka_topic(),),
        configs={"orders": {"retention.ms": "5"}},
    ),
    "config values compared after Java's trim": Case(
        resource(recorded="orders", config={"retention.ms": " 5\t", "cleanup.policy": "delete"}),
        kafka=(kafka_topic(),),
        configs={"orders": {"retention.ms": "5", "cleanup.policy": "delete\n"}},
    ),
    "unset partitions never change a topic": Case(
        resource(recorded="orders"), kafka=(kafka_topic(partitions=12),)
    ),
    "unset replicationFactor never refuses a topic": Case(
        resource(recorded="orders"), kafka=(kafka_topic(factor=1),)
    ),
    "replication throttles stay": Case(
        resource(recorded="orders"),
        kafka=(kafka_topic(),),
        configs={"orders": {THROTTLE: "*"}},
    ),
    "partition increase": Case(
        resource(recorded="orders", partitions=6),
        kafka=(kafka_topic(partitions=3),),
        partition_increases={"orders": 6},
        state=State.PENDING,
        reason=UPDATING,
    ),
    "config set": Case(
        resource(recorded="orders", config={"retention.ms": 5}),
        kafka=(kafka_topic(),),
        config_changes={"orders": ConfigChange({"retention.ms": "5"}, ())},
        state=State.PENDING,
        reason=UPDATING,
    ),
    "config changed": Case(
        resource(recorded="orders", config={"retention.ms": 5, "cleanup.policy": "compact"}),
        kafka=(kafka_topic(),),
        configs={"orders": {"retention.ms": "7", "cleanup.policy": "compact"}},
        config_changes={"orders": ConfigChange({"retention.ms": "5"}, ())},
        state=State.PENDING,
        reason=UPDATING,
    ),
    "config removed from the spec is removed from Kafka": Case(
        resource(recorded="orders", config={"cleanup.policy": "compact"}),
        kafka=(kafka_topic(),),
        configs={"orders": {"retention.ms": "7", "cleanup.policy": "compact", THROTTLE: "*"}},
        config_changes={"orders": ConfigChange({}, ("retention.ms",))},
        state=State.PENDING,
        reason=UPDATING,
    ),
    "drift in Kafka is set back": Case(
        resource(recorded="orders", partitions=3, config={"retention.ms": 5}),
        kafka=(kafka_topic(),),
        configs={"orders": {"retention.ms": "9", "segment.bytes": "1048576"}},
        config_changes={"orders": ConfigChange({"retention.ms": "5"}, ("segment.bytes",))},
        state=State.PENDING,
        reason=UPDATING,
    ),
    "adoption of a topic that matches": Case(
        resource(partitions=3, config={"retention.ms": 5}),
        kafka=(kafka_topic(),),
        configs={"orders": {"retention.ms": "5"}},
        reason=ADOPTED,
    ),
    "adoption brings partitions and configs to the spec, unnamed overrides removed": Case(
        resource(partitions=4, config={"retention.ms": 5}),
        kafka=(kafka_topic(partitions=2),),
        configs={"orders": {"retention.ms": "9", "segment.bytes": "1048576", THROTTLE: "*"}},
        partition_increases={"orders": 4},
        config_changes={"orders": ConfigChange({"retention.ms": "5"}, ("segment.bytes",))},
        state=State.PENDING,
        reason=ADOPTING,
    ),
    "adoption with fewer partitions than Kafka's is refused": Case(
        resource(partitions=2, config={"retention.ms": 5}),
        kafka=(kafka_topic(partitions=3),),
        state=State.REFUSED,
        reason=PARTITION_DECREASE,
    ),
    "partition decrease refused, config change too": Case(
        resource(recorded="orders", partitions=2, config={"retention.ms": 5}),
        kafka=(kafka_topic(partitions=3),),
        state=State.REFUSED,
        reason=PARTITION_DECREASE,
    ),
    "partitions added in Kafka beyond the spec are refused": Case(
        resource(recorded="orders", partitions=3),
        kafka=(kafka_topic(partitions=5),),
        state=State.REFUSED,
        reason=PARTITION_DECREASE,
    ),
    "replication factor change left to the rebalance, partitions and config planned": Case(
        resource(recorded="orders", replicationFactor=2, partitions=6, config={"retention.ms": 5}),
        kafka=(kafka_topic(factor=3),),
        partition_increases={"orders": 6},
        config_changes={"orders": ConfigChange({"retention.ms": "5"}, ())},
        state=State.PENDING,
        reason=REPLICATION_FACTOR_CHANGING,
    ),
    "replication factor change alone plans no topic Job": Case(
        resource(recorded="orders", replicationFactor=2),
        kafka=(kafka_topic(factor=3),),
        state=State.PENDING,
        reason=REPLICATION_FACTOR_CHANGING,
    ),
    "adoption with another replication factor adopts and changes it": Case(
        resource(replicationFactor=2),
        kafka=(kafka_topic(factor=3),),
        state=State.PENDING,
        reason=REPLICATION_FACTOR_CHANGING,
    ),
    "an unset replication factor is not compared": Case(
        resource(recorded="orders"),
        kafka=(kafka_topic(factor=1),),
        state=State.READY,
        reason=IN_SYNC,
    ),
    "topicName changed after creation refused": Case(
        resource(recorded="orders", topicName="orders.v2", partitions=6),
        kafka=(kafka_topic(),),
        state=State.REFUSED,
        reason=TOPIC_NAME_CHANGED,
    ),
    "spec that failed its cluster checks refused": Case(
        resource(recorded="orders", problems=("spec.config.retention.ms must be a number",)),
        kafka=(kafka_topic(),),
        configs={"orders": {"retention.ms": "9"}},
        state=State.REFUSED,
        reason=INVALID_SPEC,
    ),
    "delete with policy delete deletes the topic": Case(
        resource(recorded="orders", deleting=True, deletionPolicy="delete"),
        kafka=(kafka_topic(),),
        deletions=("orders",),
        state=State.PENDING,
        reason=DELETING,
    ),
    "delete with policy delete releases once the topic is gone": Case(
        resource(recorded="orders", deleting=True, deletionPolicy="delete"),
        state=State.RELEASED,
        reason=DELETED,
    ),
    "delete of a refused spec still follows its deletionPolicy": Case(
        resource(recorded="orders", deleting=True, deletionPolicy="delete", partitions=1),
        kafka=(kafka_topic(partitions=3),),
        deletions=("orders",),
        state=State.PENDING,
        reason=DELETING,
    ),
    "delete with policy delete of an adopted, unrecorded topic deletes it": Case(
        resource(deleting=True, deletionPolicy="delete"),
        kafka=(kafka_topic(),),
        deletions=("orders",),
        state=State.PENDING,
        reason=DELETING,
    ),
    "delete with policy retain keeps the topic and releases at once": Case(
        resource(recorded="orders", deleting=True, deletionPolicy="retain"),
        kafka=(kafka_topic(),),
        state=State.RELEASED,
        reason=RETAINED,
    ),
    "delete after a topicName change keeps the managed topic and releases at once": Case(
        resource(recorded="orders", topicName="orders.v2", deleting=True, deletionPolicy="delete"),
        kafka=(kafka_topic(), kafka_topic("orders.v2")),
        state=State.RELEASED,
        reason=RETAINED,
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_one_kafka_topic_plan_and_verdict(case: Case) -> None:
    result = plan(case.resource, kafka=case.kafka, configs=case.configs)
    assert result.creates == case.creates
    assert result.partition_increases == case.partition_increases
    assert result.config_changes == case.config_changes
    assert result.deletions == case.deletions
    verdict = result.verdicts["streaming/orders"]
    assert (verdict.state, verdict.reason) == (case.state, case.reason)
    assert verdict.release_finalizer == (case.state is State.RELEASED)
    assert verdict.ready == (case.state is State.READY)


def test_create_without_partitions_says_the_cluster_default_applies() -> None:
    verdict = plan(resource()).verdicts["streaming/orders"]
    assert verdict.reason == CREATING
    assert "the cluster's default number of partitions" in verdict.message


@pytest.mark.parametrize(
    ("spec", "kafka", "phrases"),
    [
        (
            {"partitions": 3},
            kafka_topic(partitions=5),
            ["has 5 partitions", "Kafka cannot remove partitions", "set spec.partitions to 5"],
        ),
        (
            {"topicName": "orders.v2"},
            kafka_topic(),
            ["'orders.v2'", "manages Kafka topic 'orders'", "cannot rename"],
        ),
    ],
    ids=["partitions", "topic name"],
)
def test_refusals_say_why_and_that_nothing_changes(
    spec: dict[str, Any], kafka: TopicFacts, phrases: list[str]
) -> None:
    verdict = plan(resource(recorded="orders", **spec), kafka=(kafka,)).verdicts["streaming/orders"]
    for phrase in [*phrases, "Nothing in Kafka is changed"]:
        assert phrase in verdict.message


def test_a_replication_factor_change_names_both_factors_and_who_carries_it_out() -> None:
    mixed = TopicFacts(
        "orders",
        "id-orders",
        (Partition(0, 0, (0, 1), (0, 1)), Partition(1, 1, (1, 2, 0), (1, 2, 0))),
    )
    verdict = plan(resource(recorded="orders", replicationFactor=3), kafka=(mixed,)).verdicts[
        "streaming/orders"
    ]
    assert (verdict.state, verdict.reason) == (State.PENDING, REPLICATION_FACTOR_CHANGING)
    # Partitions half way (one at 2, one at 3) are not the factor asked for yet.
    assert "replication factor 2 or 3 -> 3" in verdict.message
    assert "rebalance of KafkaCluster events" in verdict.message


def test_a_refusal_lists_every_problem_under_the_first_reason() -> None:
    result = plan(
        resource(recorded="orders", partitions=2, problems=("bad config",)),
        kafka=(kafka_topic(partitions=3, factor=3),),
    )
    verdict = result.verdicts["streaming/orders"]
    assert verdict.reason == INVALID_SPEC
    assert "bad config" in verdict.message
    assert "Kafka cannot remove partitions" in verdict.message


def test_adoption_says_so_and_names_the_topic_to_record() -> None:
    result = plan(resource(partitions=3), kafka=(kafka_topic(partitions=2),))
    verdict = result.verdicts["streaming/orders"]
    assert verdict.message == "adopting existing Kafka topic 'orders': partitions 2 -> 3"
    assert verdict.topic_name == "orders"


def test_update_message_names_what_changes() -> None:
    result = plan(
        resource(recorded="orders", partitions=6, config={"retention.ms": 5}),
        kafka=(kafka_topic(),),
        configs={"orders": {"segment.bytes": "1048576"}},
    )
    assert result.verdicts["streaming/orders"].message == (
        "updating Kafka topic 'orders': partitions 3 -> 6; set retention.ms; "
        "remove segment.bytes (back to the broker default)"
    )


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        (
            resource("a", created=EARLY, uid="uid-9", topicName="orders", partitions=6),
            resource("b", created=LATE, uid="uid-1", topicName="orders", partitions=1),
        ),
        (
            resource("a", created=EARLY, uid="uid-1", topicName="orders", partitions=6),
            resource("b", created=EARLY, uid="uid-2", topicName="orders", partitions=1),
        ),
    ],
    ids=["by creationTimestamp", "by uid in the same second"],
)
def test_conflict_older_wins_newer_refused_in_either_input_order(
    older: TopicResource, newer: TopicResource
) -> None:
    for order in ([older, newer], [newer, older]):
        result = plan(*order)
        assert result.creates == (TopicCreate("orders", 6, 3, {}),)
        assert result.verdicts["streaming/a"].reason == CREATING
        loser = result.verdicts["streaming/b"]
        assert (loser.state, loser.reason) == (State.REFUSED, CONFLICT)
        assert "KafkaTopic streaming/a" in loser.message


def test_conflict_winner_is_still_acted_upon_for_an_existing_topic() -> None:
    result = plan(
        resource("a", created=EARLY, recorded="orders", topicName="orders", partitions=4),
        resource("b", created=LATE, topicName="orders", partitions=9, config={"x.y": 1}),
        kafka=(kafka_topic(partitions=3),),
    )
    assert result.partition_increases == {"orders": 4}
    assert result.config_changes == {}
    assert result.verdicts["streaming/b"].reason == CONFLICT


def test_a_refused_owner_keeps_its_topic_from_newer_claimants() -> None:
    result = plan(
        resource("a", created=EARLY, recorded="orders", topicName="orders", partitions=1),
        resource("b", created=LATE, topicName="orders", partitions=6),
        kafka=(kafka_topic(partitions=3),),
    )
    assert not result.has_work
    assert result.verdicts["streaming/a"].reason == PARTITION_DECREASE
    assert result.verdicts["streaming/b"].reason == CONFLICT


def test_a_kafka_topic_being_deleted_hands_its_topic_to_a_live_one() -> None:
    result = plan(
        resource(
            "old",
            created=EARLY,
            recorded="orders",
            topicName="orders",
            deleting=True,
            deletionPolicy="delete",
        ),
        resource("new", created=LATE, topicName="orders"),
        kafka=(kafka_topic(),),
    )
    assert result.deletions == ()
    old = result.verdicts["streaming/old"]
    assert (old.state, old.reason) == (State.RELEASED, RETAINED)
    assert result.verdicts["streaming/new"].reason == ADOPTED


def test_of_two_kafka_topics_being_deleted_the_older_deletes_the_newer_is_released() -> None:
    result = plan(
        resource("a", created=EARLY, topicName="orders", deleting=True, deletionPolicy="delete"),
        resource("b", created=LATE, topicName="orders", deleting=True, deletionPolicy="delete"),
        kafka=(kafka_topic(),),
    )
    assert result.deletions == ("orders",)
    assert result.verdicts["streaming/a"].reason == DELETING
    assert not result.verdicts["streaming/a"].release_finalizer
    assert result.verdicts["streaming/b"].release_finalizer


def test_finalizer_released_only_after_the_topic_is_gone() -> None:
    doomed = resource(recorded="orders", deleting=True, deletionPolicy="delete")
    while_there = plan(doomed, kafka=(kafka_topic(),))
    assert while_there.deletions == ("orders",)
    assert not while_there.verdicts["streaming/orders"].release_finalizer
    after = plan(doomed)
    assert not after.has_work
    assert after.verdicts["streaming/orders"].release_finalizer


def test_refused_kafka_topics_do_not_stop_the_others() -> None:
    result = plan(
        resource("new", partitions=2),
        resource("grows", recorded="grows", partitions=6),
        resource("shrinks", recorded="shrinks", partitions=1, config={"retention.ms": 5}),
        resource("refactors", recorded="refactors", replicationFactor=1),
        resource("renamed", recorded="renamed", topicName="renamed.v2"),
        resource("invalid", problems=("bad",)),
        resource("gone", recorded="gone", deleting=True, deletionPolicy="delete"),
        kafka=tuple(
            kafka_topic(name) for name in ["grows", "shrinks", "refactors", "renamed", "gone"]
        ),
    )
    assert result.creates == (TopicCreate("new", 2, 3, {}),)
    assert result.partition_increases == {"grows": 6}
    assert result.config_changes == {}
    assert result.deletions == ("gone",)
    assert {key: verdict.reason for key, verdict in result.verdicts.items()} == {
        "streaming/gone": DELETING,
        "streaming/grows": UPDATING,
        "streaming/invalid": INVALID_SPEC,
        "streaming/new": CREATING,
        "streaming/refactors": REPLICATION_FACTOR_CHANGING,
        "streaming/renamed": TOPIC_NAME_CHANGED,
        "streaming/shrinks": PARTITION_DECREASE,
    }


@pytest.mark.parametrize(
    ("subject", "kafka", "topic_name"),
    [
        (resource(), (), "orders"),
        (resource(topicName="orders.v1"), (), "orders.v1"),
        (resource(partitions=1), (kafka_topic(),), None),
        (resource(recorded="orders", partitions=1), (kafka_topic(),), "orders"),
        (resource(recorded="orders", topicName="orders.v2"), (kafka_topic(),), "orders"),
        (
            resource(recorded="orders", deleting=True, deletionPolicy="delete"),
            (kafka_topic(),),
            "orders",
        ),
        (resource(recorded="orders", deleting=True), (kafka_topic(),), None),
    ],
    ids=[
        "created",
        "created under topicName",
        "refused before adoption",
        "refused when managed",
        "topicName changed",
        "being deleted",
        "released",
    ],
)
def test_verdict_names_the_topic_to_record_in_status(
    subject: TopicResource, kafka: tuple[TopicFacts, ...], topic_name: str | None
) -> None:
    assert plan(subject, kafka=kafka).verdicts["streaming/orders"].topic_name == topic_name


def test_a_conflict_loser_keeps_its_recorded_topic_name() -> None:
    result = plan(
        resource("a", created=EARLY, topicName="orders"),
        resource("b", created=LATE, topicName="orders", recorded="orders"),
    )
    assert result.verdicts["streaming/b"].reason == CONFLICT
    assert result.verdicts["streaming/b"].topic_name == "orders"


def test_verdicts_carry_the_generation_they_judged() -> None:
    assert plan(resource(generation=7)).verdicts["streaming/orders"].generation == 7


def test_plan_is_sorted_and_independent_of_input_order() -> None:
    names = [f"t{index:02d}" for index in range(24)]
    resources = [
        resource(
            name,
            uid=f"uid-{99 - index}",
            recorded=name if index % 2 else None,
            deleting=index % 4 == 3,
            deletionPolicy="delete",
            partitions=4,
            config={"a.b": index},
        )
        for index, name in enumerate(names)
    ]
    kafka = tuple(kafka_topic(name) for name in names if int(name[1:]) % 3)
    expected = plan(*resources, kafka=kafka)
    for seed in range(5):
        shuffled = list(resources)
        random.Random(seed).shuffle(shuffled)
        assert plan(*shuffled, kafka=kafka) == expected
    assert list(expected.verdicts) == [f"streaming/{name}" for name in names]
    for topics in [
        [create.name for create in expected.creates],
        list(expected.partition_increases),
        list(expected.config_changes),
        list(expected.deletions),
    ]:
        assert len(topics) > 1
        assert topics == sorted(topics)


# Random KafkaTopics and Kafka topics over a few names, so that claims collide often.
TOPIC_NAMES = ["a", "b", "c"]
CONFIG_KEYS = ["retention.ms", "cleanup.policy", "segment.bytes"]
CONFIG_VALUES = ["1", " 1", "2", "delete"]
KAFKA_DEFAULT_PARTITIONS = 1


_CONFIGS = st.dictionaries(st.sampled_from(CONFIG_KEYS), st.sampled_from(CONFIG_VALUES))
_KAFKA_CONFIGS = st.dictionaries(
    st.sampled_from([*CONFIG_KEYS, THROTTLE]), st.sampled_from(CONFIG_VALUES)
)
# Weighted towards the common case (a valid spec that matches Kafka's replication factor, a
# recorded name that is the spec's), so that updates are frequent beside the refusals.
_KAFKA_TOPIC = st.tuples(st.integers(1, 4), st.sampled_from([3, 3, 3, 1, 2]), _KAFKA_CONFIGS)
_SPEC = st.fixed_dictionaries(
    {
        "topicName": st.sampled_from(TOPIC_NAMES),
        "deletionPolicy": st.sampled_from(["retain", "delete"]),
        "config": _CONFIGS,
    },
    optional={"partitions": st.integers(1, 4), "replicationFactor": st.sampled_from([3, 3, 1])},
)
_RESOURCE = st.tuples(
    _SPEC,
    st.sampled_from([EARLY, LATE]),
    st.integers(0, 9),
    st.sampled_from(["none", "spec", "spec", "spec", "other"]),
    st.sampled_from([False, False, False, True]),
    st.sampled_from([(), (), (), (), ("bad",)]),
)


@st.composite
def kafka_topics(draw: st.DrawFn) -> tuple[dict[str, TopicFacts], dict[str, dict[str, str]]]:
    topics: dict[str, TopicFacts] = {}
    configs: dict[str, dict[str, str]] = {}
    for name in TOPIC_NAMES:
        found = draw(st.none() | _KAFKA_TOPIC)
        if found is not None:
            partitions, factor, configs[name] = found
            topics[name] = kafka_topic(name, partitions=partitions, factor=factor)
    return topics, configs


@st.composite
def kafka_topic_resources(draw: st.DrawFn) -> list[TopicResource]:
    resources = []
    for index, drawn in enumerate(draw(st.lists(_RESOURCE, max_size=6))):
        spec, created, uid, recorded_as, deleting, problems = drawn
        named = TOPIC_NAMES.index(spec["topicName"])
        recorded = {
            "none": None,
            "spec": spec["topicName"],
            "other": TOPIC_NAMES[(named + 1) % len(TOPIC_NAMES)],
        }[recorded_as]
        resources.append(
            resource(
                f"kt{index}",
                created=created,
                uid=f"{uid}-{index}",
                recorded=recorded,
                deleting=deleting,
                problems=problems,
                **spec,
            )
        )
    return resources


def carry_out(
    result: TopicPlan, topics: dict[str, TopicFacts], configs: dict[str, dict[str, str]]
) -> tuple[dict[str, TopicFacts], dict[str, dict[str, str]]]:
    """What Kafka holds after the plan, checking that each action is one Kafka would accept."""
    topics = dict(topics)
    configs = {name: dict(config) for name, config in configs.items()}
    for create in result.creates:
        assert create.name not in topics
        partitions = create.partitions or KAFKA_DEFAULT_PARTITIONS
        topics[create.name] = kafka_topic(
            create.name, partitions=partitions, factor=create.replication_factor
        )
        configs[create.name] = dict(create.config)
    for name, count in result.partition_increases.items():
        assert count > len(topics[name].partitions)
        topics[name] = kafka_topic(name, partitions=count, factor=topics[name].replication_factor)
    for name, change in result.config_changes.items():
        config = configs.setdefault(name, {})
        assert name in topics
        assert set(change.to_delete) <= set(config)
        config.update(change.to_set)
        for key in change.to_delete:
            del config[key]
    for name in result.deletions:
        del topics[name]
        configs.pop(name, None)
    return topics, configs


def touched(result: TopicPlan) -> set[str]:
    return {
        *(create.name for create in result.creates),
        *result.partition_increases,
        *result.config_changes,
        *result.deletions,
    }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(resources=kafka_topic_resources(), kafka=kafka_topics())
def test_carrying_out_a_plan_leaves_nothing_to_do(
    resources: list[TopicResource],
    kafka: tuple[dict[str, TopicFacts], dict[str, dict[str, str]]],
) -> None:
    topics, configs = kafka
    first = plan_topics(resources, actual=topics, configs=configs, cluster=CLUSTER)
    topics, configs = carry_out(first, topics, configs)
    # The KafkaCluster's rebalance gives the topics the replication factors left to it.
    for item in resources:
        verdict = first.verdicts[item.key]
        if verdict.reason == REPLICATION_FACTOR_CHANGING:
            assert verdict.topic_name is not None
            assert item.spec.replication_factor is not None
            count = len(topics[verdict.topic_name].partitions)
            topics[verdict.topic_name] = kafka_topic(
                verdict.topic_name, partitions=count, factor=item.spec.replication_factor
            )
    # What the operator does with the verdicts: record topic names, release finalizers.
    remaining = [
        replace(item, recorded_topic_name=first.verdicts[item.key].topic_name)
        for item in resources
        if not first.verdicts[item.key].release_finalizer
    ]
    second = plan_topics(remaining, actual=topics, configs=configs, cluster=CLUSTER)
    assert not second.has_work
    for item in remaining:
        before, after = first.verdicts[item.key], second.verdicts[item.key]
        assert after.state is not State.PENDING
        if before.state is not State.REFUSED:
            assert after.state in {State.READY, State.RELEASED}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(resources=kafka_topic_resources(), kafka=kafka_topics())
def test_no_action_touches_the_topic_of_a_refused_kafka_topic(
    resources: list[TopicResource],
    kafka: tuple[dict[str, TopicFacts], dict[str, dict[str, str]]],
) -> None:
    topics, configs = kafka
    result = plan_topics(resources, actual=topics, configs=configs, cluster=CLUSTER)
    for name in touched(result):
        claimants = [item for item in resources if item.claimed_topic == name]
        verdicts = [result.verdicts[item.key] for item in claimants]
        # Conflict losers share the topic of the owner that acts on it.
        assert all(v.state is not State.REFUSED or v.reason == CONFLICT for v in verdicts)
        acting = [
            item for item, v in zip(claimants, verdicts, strict=True) if v.state is State.PENDING
        ]
        assert len(acting) == 1
        assert acting[0].spec.topic_name == name
