"""What the operator reads from Kafka, as plain immutable values.

Planners (rollout, rebalance, topics) take these, never a client, so they stay pure and are tested
with tables of hand-made facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from kopfka.model.user import Acl


@dataclass(frozen=True)
class Broker:
    node_id: int
    host: str
    port: int
    rack: str | None


@dataclass(frozen=True)
class ClusterFacts:
    cluster_id: str
    controller_id: int
    brokers: tuple[Broker, ...]

    @property
    def broker_ids(self) -> frozenset[int]:
        return frozenset(broker.node_id for broker in self.brokers)


@dataclass(frozen=True)
class QuorumMember:
    node_id: int
    log_end_offset: int


@dataclass(frozen=True)
class QuorumFacts:
    leader_id: int
    leader_epoch: int
    high_watermark: int
    voters: tuple[QuorumMember, ...]
    observers: tuple[QuorumMember, ...]


@dataclass(frozen=True)
class Partition:
    partition: int
    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]

    @property
    def under_replicated(self) -> bool:
        return len(self.isr) < len(self.replicas)


@dataclass(frozen=True)
class TopicFacts:
    name: str
    topic_id: str
    partitions: tuple[Partition, ...]

    @property
    def replication_factor(self) -> int:
        return max((len(p.replicas) for p in self.partitions), default=0)

    def settled(self, moving: Mapping[tuple[str, int], Reassigning]) -> TopicFacts:
        """The topic with each partition Kafka is reassigning (`moving`, by topic and partition)
        listed with its target replicas: while a replica is copied, Kafka's metadata lists the
        old and the new ones together, which is no replication factor the topic has or will
        have."""
        return replace(
            self,
            partitions=tuple(
                replace(p, replicas=target.target)
                if (target := moving.get((self.name, p.partition))) is not None
                else p
                for p in self.partitions
            ),
        )


@dataclass(frozen=True)
class ConfigValue:
    value: str
    source: str  # Kafka's name for where it comes from, e.g. STATIC_BROKER_CONFIG


@dataclass(frozen=True)
class TopicError:
    """Why Kafka refused a change to one topic: its error name (e.g. INVALID_CONFIG, as Kafka's
    `Errors` enum spells it) and its own message, or the error's standard description when Kafka
    sent none."""

    code: str
    message: str


@dataclass(frozen=True)
class Reassigning:
    """A partition Kafka is reassigning: its replicas while it does (the target's, then those
    still to be removed), the replicas being added and those being removed."""

    replicas: tuple[int, ...]
    adding: tuple[int, ...]
    removing: tuple[int, ...]

    @property
    def target(self) -> tuple[int, ...]:
        """The replica list the partition will have, in order: Kafka lists the target's replicas
        first and appends those it will remove."""
        return tuple(replica for replica in self.replicas if replica not in self.removing)


@dataclass(frozen=True)
class PartitionLag:
    """How far a consumer group's committed offset of one partition is behind the partition's
    end: `committed` is the offset of the next message the group will read, `end` the offset the
    next message written will get."""

    group: str
    topic: str
    partition: int
    committed: int
    end: int

    @property
    def lag(self) -> int:
        """Messages written that the group has not committed; never negative (a group may commit
        an offset beyond the end, and an unclean leader election may cut a log below a commit)."""
        return max(0, self.end - self.committed)


@dataclass(frozen=True)
class ScramCredential:
    """A SCRAM credential Kafka holds for a user: its mechanism (as Kafka names it, e.g.
    SCRAM-SHA-512) and PBKDF2 iterations. Kafka never shows the password or its salted form."""

    mechanism: str
    iterations: int


@dataclass(frozen=True)
class UserFacts:
    """What Kafka holds for a user (a principal User:<name>): its SCRAM credentials, the quotas
    of its `user` entity (without a client id), e.g. {"producer_byte_rate": 1048576.0}, and its
    ACLs."""

    credentials: tuple[ScramCredential, ...] = ()
    quotas: Mapping[str, float] = field(default_factory=dict)
    # The ACLs of principal User:<name>, sorted (read only from clusters with an authorizer).
    acls: tuple[Acl, ...] = ()
