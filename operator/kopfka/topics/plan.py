"""What to change in Kafka so that its topics match the KafkaTopics of one KafkaCluster.

A pure function of the desired KafkaTopics and the topics Kafka reports; the topic Job carries
the plan out in batches, and the operator writes each KafkaTopic's verdict into its status. The
rules, which the user documentation states as well:

Ownership. Every KafkaTopic claims one Kafka topic: the name recorded in its status when it
created or adopted the topic, else `spec.topicName`. When several claim the same topic, one owns
it: a KafkaTopic that is not being deleted before one that is (so that renaming a KafkaTopic in
git, which creates the new one and deletes the old, hands the topic over instead of deleting it),
then the older by creationTimestamp, then the lower uid. The others are refused with `Conflict`
(or, when being deleted, released without touching the topic). Ownership goes by age, not by
validity: a refused owner still keeps its topic from the others.

Refusals touch nothing. A KafkaTopic whose spec failed its checks against the cluster
(`InvalidSpec`), whose `topicName` differs from the name it manages (`TopicNameChanged`), that
asks for fewer partitions than Kafka has (`PartitionDecrease`, also when partitions were added
in Kafka directly: Kafka cannot remove partitions) gets no action at all, not even its config
changes. Its verdict lists every problem. Other KafkaTopics are planned as usual.

The spec owns the topic. Once a KafkaTopic manages a topic, the spec is the whole truth for:
- its dynamic topic configs: keys the spec names are set to the spec's values, and every other
  dynamic topic override Kafka has is removed (the topic falls back to the broker default), except
  the replication throttles, which rebalances set and clear;
- its partition count when `spec.partitions` is set: raised to it, never lowered;
- its replication factor when `spec.replicationFactor` is set: when a partition has another
  number of replicas, the verdict is `ReplicationFactorChanging` (its other changes are planned as
  usual) and the KafkaCluster's rebalance (kopfka.live.rebalance) adds or drops the replicas: a
  replication factor takes replica moves, which belong with the rebalance's waves and throttle.
An unset `partitions` or `replicationFactor` takes the cluster's default at creation and is never
compared afterwards. Config values are compared as Kafka reads them, after Java's trim.

Adoption is the same rule applied to a topic that already exists in Kafka when its KafkaTopic
first claims it: its configs, partitions and replication factor are brought to the spec as above
(overrides the spec does not name are removed), its data and topic id stay. A topic the spec
cannot adopt (fewer partitions) is refused and left as it is, and not adopted.
Drift is found the same way: a managed topic changed in Kafka directly is set back on the next
plan, and a managed topic deleted in Kafka directly is created again.

Deletion. A KafkaTopic being deleted that owns its topic, with `deletionPolicy: delete`, deletes
it; its finalizer may be released once Kafka no longer has the topic. With `retain`, or when it
does not own the topic, or when its `topicName` changed, Kafka is left alone and the finalizer
may be released at once. A KafkaTopic with `deletionPolicy: delete` that adopted a topic deletes
that topic too: adoption makes it the topic's manager.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import KW_ONLY, dataclass
from datetime import datetime
from itertools import groupby

from kopfka.kafka.facts import TopicFacts
from kopfka.model.cluster import ClusterSpec
from kopfka.model.kafka_values import java_trim
from kopfka.model.topic import OWNED_TOPIC_KEYS, TopicSpec, effective_replication_factor

# Verdict reasons (the Ready condition's reason). Ready:
IN_SYNC = "InSync"
ADOPTED = "Adopted"
# Pending, work is planned:
CREATING = "Creating"
ADOPTING = "Adopting"
UPDATING = "Updating"
DELETING = "Deleting"
# Released, the finalizer may go:
DELETED = "Deleted"
RETAINED = "Retained"
# Refused, nothing is touched (InvalidSpec is the reason the topic handler already reports):
INVALID_SPEC = "InvalidSpec"
CONFLICT = "Conflict"
TOPIC_NAME_CHANGED = "TopicNameChanged"
PARTITION_DECREASE = "PartitionDecrease"
# Pending, the KafkaCluster's rebalance carries the change out:
REPLICATION_FACTOR_CHANGING = "ReplicationFactorChanging"


class State(enum.Enum):
    READY = "Ready"  # Kafka matches the spec
    PENDING = "Pending"  # the plan holds work for this KafkaTopic
    REFUSED = "Refused"  # the spec asks for what kopfka will not do; nothing is touched
    RELEASED = "Released"  # being deleted and done with Kafka: the finalizer may be released


@dataclass(frozen=True)
class TopicResource:
    """One KafkaTopic of the cluster, as far as planning needs it."""

    namespace: str
    name: str
    _: KW_ONLY
    uid: str
    created: str  # metadata.creationTimestamp, as the API server writes it (ISO 8601)
    generation: int
    spec: TopicSpec
    # status.topicName: the Kafka topic it created or adopted, None before it has one.
    recorded_topic_name: str | None = None
    deleting: bool = False  # metadata.deletionTimestamp is set
    # What check_against_cluster found wrong; such a KafkaTopic keeps its claim but is refused.
    problems: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def claimed_topic(self) -> str:
        return self.recorded_topic_name or self.spec.topic_name


@dataclass(frozen=True)
class TopicCreate:
    name: str
    partitions: int | None  # None: Kafka's num.partitions
    replication_factor: int
    config: Mapping[str, str]


@dataclass(frozen=True)
class ConfigChange:
    """An incremental config change: SET these values, DELETE these keys; others stay."""

    to_set: Mapping[str, str]
    to_delete: tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    state: State
    reason: str
    message: str
    # For status.topicName: the Kafka topic this KafkaTopic creates, adopts, manages or deletes;
    # when refused, the one it recorded before (if any); None once released.
    topic_name: str | None
    generation: int  # the generation judged: the status's observedGeneration

    @property
    def ready(self) -> bool:
        return self.state is State.READY

    @property
    def release_finalizer(self) -> bool:
        return self.state is State.RELEASED


@dataclass(frozen=True)
class TopicPlan:
    """Every change for Kafka, each list and mapping sorted by topic name, and a verdict for each
    KafkaTopic (by `namespace/name`, sorted)."""

    creates: tuple[TopicCreate, ...]
    partition_increases: Mapping[str, int]
    config_changes: Mapping[str, ConfigChange]
    deletions: tuple[str, ...]
    verdicts: Mapping[str, Verdict]

    @property
    def has_work(self) -> bool:
        return bool(
            self.creates or self.partition_increases or self.config_changes or self.deletions
        )


@dataclass(frozen=True)
class _Actions:
    """What the plan does to the topic that one KafkaTopic owns."""

    topic: str
    _: KW_ONLY
    create: TopicCreate | None = None
    partitions: int | None = None
    config: ConfigChange | None = None
    delete: bool = False


_Decision = tuple[Verdict, _Actions | None]


def plan_topics(
    desired: Iterable[TopicResource],
    *,
    actual: Mapping[str, TopicFacts],
    configs: Mapping[str, Mapping[str, str]],
    cluster: ClusterSpec,
) -> TopicPlan:
    """The plan for `desired`, the KafkaTopics of `cluster`, against the `actual` topics in Kafka
    and their dynamic topic configs (`configs`: topic -> key -> value, the entries Kafka reports
    with source DYNAMIC_TOPIC_CONFIG; a topic missing there has none)."""
    verdicts: dict[str, Verdict] = {}
    actions: list[_Actions] = []
    for topic, claimants in groupby(sorted(desired, key=_claim_order), key=_claimed_topic):
        owner, *others = claimants
        verdict, owned = _decide_owner(owner, actual.get(topic), configs.get(topic, {}), cluster)
        verdicts[owner.key] = verdict
        if owned is not None:
            actions.append(owned)
        for other in others:
            verdicts[other.key] = _decide_other(other, owner)
    actions.sort(key=lambda action: action.topic)
    return TopicPlan(
        creates=tuple(action.create for action in actions if action.create),
        partition_increases={
            action.topic: action.partitions for action in actions if action.partitions is not None
        },
        config_changes={action.topic: action.config for action in actions if action.config},
        deletions=tuple(action.topic for action in actions if action.delete),
        verdicts=dict(sorted(verdicts.items())),
    )


def _claimed_topic(resource: TopicResource) -> str:
    return resource.claimed_topic


def _created(resource: TopicResource) -> datetime:
    return datetime.fromisoformat(resource.created)


def _claim_order(resource: TopicResource) -> tuple[str, bool, datetime, str]:
    """Claimants of a topic one after the other, its owner first."""
    return (resource.claimed_topic, resource.deleting, _created(resource), resource.uid)


def _verdict(
    resource: TopicResource, state: State, reason: str, message: str, *, topic_name: str | None
) -> Verdict:
    return Verdict(state, reason, message, topic_name, resource.generation)


def _decide_owner(
    owner: TopicResource,
    topic: TopicFacts | None,
    config: Mapping[str, str],
    cluster: ClusterSpec,
) -> _Decision:
    if owner.deleting:
        return _decide_deletion(owner, exists=topic is not None)
    refusals = _refusals(owner, topic)
    if refusals:
        message = "; ".join(text for _, text in refusals)
        message += ". Nothing in Kafka is changed for this KafkaTopic meanwhile"
        verdict = _verdict(
            owner, State.REFUSED, refusals[0][0], message, topic_name=owner.recorded_topic_name
        )
        return verdict, None
    if topic is None:
        return _create(owner, cluster)
    return _update(owner, topic, config)


def _decide_other(other: TopicResource, owner: TopicResource) -> Verdict:
    """The verdict of a KafkaTopic that claims a topic another one owns."""
    topic = owner.claimed_topic
    if other.deleting:
        message = (
            f"Kafka topic {topic!r} belongs to KafkaTopic {owner.key}: deleting this KafkaTopic "
            "leaves it in Kafka"
        )
        return _verdict(other, State.RELEASED, RETAINED, message, topic_name=None)
    older = (
        "older"
        if _created(owner) != _created(other)
        else "as old (created in the same second) and has the lower uid"
    )
    message = (
        f"Kafka topic {topic!r} belongs to KafkaTopic {owner.key}, which is {older}: this "
        "KafkaTopic changes nothing in Kafka while that one claims the topic"
    )
    return _verdict(other, State.REFUSED, CONFLICT, message, topic_name=other.recorded_topic_name)


def _decide_deletion(owner: TopicResource, *, exists: bool) -> _Decision:
    name = owner.claimed_topic
    if name != owner.spec.topic_name:
        message = (
            f"Kafka topic {name!r} stays in Kafka: spec.topicName ({owner.spec.topic_name!r}) "
            "no longer names it"
        )
        return _verdict(owner, State.RELEASED, RETAINED, message, topic_name=None), None
    policy = owner.spec.deletion_policy
    if policy != "delete":
        message = f"deletionPolicy is {policy}: Kafka topic {name!r} stays in Kafka"
        return _verdict(owner, State.RELEASED, RETAINED, message, topic_name=None), None
    if not exists:
        message = f"Kafka topic {name!r} is not in Kafka"
        return _verdict(owner, State.RELEASED, DELETED, message, topic_name=None), None
    message = f"deleting Kafka topic {name!r} (deletionPolicy is delete)"
    verdict = _verdict(owner, State.PENDING, DELETING, message, topic_name=name)
    return verdict, _Actions(name, delete=True)


def _refusals(owner: TopicResource, topic: TopicFacts | None) -> list[tuple[str, str]]:
    """(reason, message) of every change the spec asks for that kopfka will not make."""
    spec = owner.spec
    found = [(INVALID_SPEC, problem) for problem in owner.problems]
    recorded = owner.recorded_topic_name
    if recorded is not None and recorded != spec.topic_name:
        found.append(
            (
                TOPIC_NAME_CHANGED,
                f"spec.topicName is {spec.topic_name!r}, but this KafkaTopic manages Kafka topic "
                f"{recorded!r} and Kafka cannot rename a topic: set topicName back to "
                f"{recorded!r}, or create another KafkaTopic for the new name",
            )
        )
    elif topic is not None:
        have = len(topic.partitions)
        if spec.partitions is not None and spec.partitions < have:
            found.append(
                (
                    PARTITION_DECREASE,
                    f"Kafka topic {topic.name!r} has {have} partitions, more than "
                    f"spec.partitions {spec.partitions}, and Kafka cannot remove partitions: "
                    f"set spec.partitions to {have} or more",
                )
            )
    return found


def _create(owner: TopicResource, cluster: ClusterSpec) -> _Decision:
    spec = owner.spec
    factor = effective_replication_factor(spec, cluster)
    create = TopicCreate(
        spec.topic_name, spec.partitions, factor, dict(sorted(spec.config.items()))
    )
    count = (
        f"{spec.partitions} partitions"
        if spec.partitions is not None
        else "the cluster's default number of partitions"
    )
    message = f"creating Kafka topic {spec.topic_name!r} with {count}, replication factor {factor}"
    verdict = _verdict(owner, State.PENDING, CREATING, message, topic_name=spec.topic_name)
    return verdict, _Actions(spec.topic_name, create=create)


def _update(owner: TopicResource, topic: TopicFacts, config: Mapping[str, str]) -> _Decision:
    """Bring an existing topic (managed, or adopted now) to the spec."""
    spec = owner.spec
    name = spec.topic_name
    adopting = owner.recorded_topic_name is None
    have = len(topic.partitions)
    grow = spec.partitions if spec.partitions is not None and spec.partitions > have else None
    change = _config_change(spec.config, config)
    factor = spec.replication_factor
    factors = sorted({len(p.replicas) for p in topic.partitions})
    refactor = factor is not None and factors != [factor]
    if grow is None and change is None and not refactor:
        if adopting:
            message = f"Kafka topic {name!r} existed already and matches the spec; adopted"
            return _verdict(owner, State.READY, ADOPTED, message, topic_name=name), None
        message = f"Kafka topic {name!r} matches the spec"
        return _verdict(owner, State.READY, IN_SYNC, message, topic_name=name), None
    steps = []
    if grow is not None:
        steps.append(f"partitions {have} -> {grow}")
    if change is not None and change.to_set:
        steps.append(f"set {', '.join(change.to_set)}")
    if change is not None and change.to_delete:
        steps.append(f"remove {', '.join(change.to_delete)} (back to the broker default)")
    actions = (
        _Actions(name, partitions=grow, config=change)
        if grow is not None or change is not None
        else None
    )
    if refactor:
        have_factor = " or ".join(str(count) for count in factors)
        steps.append(
            f"replication factor {have_factor} -> {factor}, by the rebalance of KafkaCluster "
            f"{spec.cluster} (its status.rebalance shows the progress)"
        )
        doing = "adopting existing" if adopting else "updating"
        message = f"{doing} Kafka topic {name!r}: {'; '.join(steps)}"
        verdict = _verdict(
            owner, State.PENDING, REPLICATION_FACTOR_CHANGING, message, topic_name=name
        )
        return verdict, actions
    if adopting:
        reason, message = ADOPTING, f"adopting existing Kafka topic {name!r}: {'; '.join(steps)}"
    else:
        reason, message = UPDATING, f"updating Kafka topic {name!r}: {'; '.join(steps)}"
    verdict = _verdict(owner, State.PENDING, reason, message, topic_name=name)
    return verdict, actions


def _config_change(wanted: Mapping[str, str], current: Mapping[str, str]) -> ConfigChange | None:
    """The incremental change from Kafka's dynamic topic configs to the spec's; the replication
    throttles that rebalances own are left alone."""
    managed = {key: value for key, value in current.items() if key not in OWNED_TOPIC_KEYS}
    to_set = {
        key: value
        for key, value in sorted(wanted.items())
        if key not in managed or java_trim(managed[key]) != java_trim(value)
    }
    to_delete = tuple(sorted(managed.keys() - wanted.keys()))
    if not to_set and not to_delete:
        return None
    return ConfigChange(to_set, to_delete)
