"""Kafka admin access behind a small Protocol, implemented with kafka-python (pure Python, with the
KRaft APIs the operator needs: DescribeCluster, DescribeQuorum, DescribeFeatures, configs,
batched topic changes, partition reassignments with leader elections, SCRAM credentials and
client quotas).

Tests of planners use a fake of `KafkaAdmin`; this implementation is tested against real Kafka in
the Kafka tier.

Topic changes take many topics at once and cut them into requests (`split_requests`). Kafka's
answer for each topic comes back as a `TopicError`, or None when it succeeded: a topic Kafka
refuses never raises, so one bad topic does not stop the others; the same goes for partitions
(reassignments, leader elections) and brokers (their dynamic configs). A request that fails as a
whole because Kafka cannot be reached or does not answer in time raises `KafkaUnavailable`.
"""

from __future__ import annotations

import base64
import contextlib
import re
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeVar

import kafka.errors
from kafka import OffsetSpec, TopicPartition
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    AlterConfigOp,
    ConfigResource,
    ConfigResourceType,
    KafkaAdminClient,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
)
from kafka.admin._users import (
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)
from kafka.protocol.admin import (
    AlterClientQuotasRequest,
    AlterPartitionReassignmentsRequest,
    CreateAclsRequest,
    DeleteAclsRequest,
    DescribeAclsRequest,
    DescribeClientQuotasRequest,
    ElectionType,
)

from kopfka.kafka.facts import (
    Broker,
    ClusterFacts,
    ConfigValue,
    Partition,
    PartitionLag,
    QuorumFacts,
    QuorumMember,
    Reassigning,
    ScramCredential,
    TopicError,
    TopicFacts,
    UserFacts,
)
from kopfka.kafka.tls import identities
from kopfka.model.live_settings import CLUSTER_DEFAULT_SOURCE
from kopfka.model.user import Acl

# Kafka's controller refuses a whole CreateTopics or CreatePartitions request that would add more
# than 10,000 partitions (ReplicationControlManager.MAX_PARTITIONS_PER_BATCH: POLICY_VIOLATION,
# "Excessively large number of partitions per request"); requests stay within it.
MAX_PARTITIONS_PER_REQUEST = 10_000
# Topics per request: 10,000 topics take 20 round trips, and no request or answer grows large
# (a DescribeConfigs answer lists every config of each topic, some 40 entries).
TOPICS_PER_REQUEST = 500
# The SCRAM mechanism of KafkaUsers, and the PBKDF2 iterations of their credentials (Kafka's own
# kafka-configs default, and its minimum for SCRAM-SHA-512: a generated password of 32 random
# characters gains nothing from more, and every login pays for them).
SCRAM_MECHANISM = "SCRAM-SHA-512"
SCRAM_ITERATIONS = 4096
# The principal type of users (KafkaPrincipal.USER_TYPE): ACLs of User:<name>.
USER_PRINCIPAL_TYPE = "User"
# The quota entity type of a user (Kafka's ClientQuotaEntity.USER).
USER_ENTITY = "user"
# DescribeClientQuotas match types (Kafka's ClientQuotaFilterComponent).
_MATCH_EXACT, _MATCH_ANY = 0, 2
# Kafka's num.partitions when the cluster does not set it.
KAFKA_DEFAULT_NUM_PARTITIONS = 1
# The group type (and protocol type) of share groups (KIP-932): they keep no committed offsets
# for OffsetFetch to read.
SHARE_GROUP = "share"

T = TypeVar("T")
# A partition as Kafka names it: its topic and its index.
PartitionKey = tuple[str, int]


class KafkaUnavailable(Exception):
    """Kafka could not be reached, or did not answer in time: worth trying again later."""


class TopicToCreate(Protocol):
    """A topic to create; kopfka.topics.plan.TopicCreate is one."""

    @property
    def name(self) -> str: ...

    @property
    def partitions(self) -> int | None: ...  # None: the cluster's num.partitions

    @property
    def replication_factor(self) -> int: ...

    @property
    def config(self) -> Mapping[str, str]: ...


def split_requests(
    items: Iterable[T],
    *,
    weight: Callable[[T], int] = lambda _: 0,
    max_items: int = TOPICS_PER_REQUEST,
    max_weight: int = MAX_PARTITIONS_PER_REQUEST,
) -> Iterator[list[T]]:
    """`items` in order, cut into consecutive requests of at most `max_items` items and at most
    `max_weight` in total weight. An item heavier than `max_weight` goes alone, and Kafka answers
    it with its own error."""
    request: list[T] = []
    load = 0
    for item in items:
        item_weight = weight(item)
        if request and (len(request) == max_items or load + item_weight > max_weight):
            yield request
            request, load = [], 0
        request.append(item)
        load += item_weight
    if request:
        yield request


class KafkaAdmin(Protocol):
    def cluster(self) -> ClusterFacts: ...

    def quorum(self) -> QuorumFacts: ...

    def metadata_version_level(self) -> int | None: ...

    def topics(self, names: Iterable[str] | None = None) -> dict[str, TopicFacts]: ...

    def broker_config(self, broker: int) -> dict[str, ConfigValue]: ...

    def cluster_defaults(self) -> dict[str, ConfigValue]: ...

    def alter_broker_config(self, broker: int, changes: Mapping[str, str | None]) -> None: ...

    def alter_broker_configs(
        self, changes: Mapping[int, Mapping[str, str | None]]
    ) -> dict[int, TopicError | None]: ...

    def topic_configs(self, names: Iterable[str]) -> dict[str, dict[str, str]]: ...

    def create_topics(self, topics: Sequence[TopicToCreate]) -> dict[str, TopicError | None]: ...

    def create_partitions(self, counts: Mapping[str, int]) -> dict[str, TopicError | None]: ...

    def alter_topic_configs(
        self, changes: Mapping[str, Mapping[str, str | None]]
    ) -> dict[str, TopicError | None]: ...

    def delete_topics(self, names: Sequence[str]) -> dict[str, TopicError | None]: ...

    def reassignments(self) -> dict[PartitionKey, Reassigning]: ...

    def replica_sizes(
        self, partitions: Iterable[PartitionKey]
    ) -> dict[PartitionKey, dict[int, int]]: ...

    def reassign(
        self, targets: Mapping[PartitionKey, Sequence[int]]
    ) -> dict[PartitionKey, TopicError | None]: ...

    def elect_preferred_leaders(
        self, partitions: Iterable[PartitionKey]
    ) -> dict[PartitionKey, TopicError | None]: ...

    def consumer_lag(self) -> tuple[PartitionLag, ...]: ...

    def users(self, names: Iterable[str], *, acls: bool = False) -> dict[str, UserFacts]: ...

    def alter_user_acls(
        self, creations: Mapping[str, Iterable[Acl]], deletions: Mapping[str, Iterable[Acl]]
    ) -> dict[str, TopicError | None]: ...

    def alter_user_credentials(
        self, upserts: Mapping[str, str], deletions: Iterable[str]
    ) -> dict[str, TopicError | None]: ...

    def alter_user_quotas(
        self, changes: Mapping[str, Mapping[str, float | None]]
    ) -> dict[str, TopicError | None]: ...

    def close(self) -> None: ...


# How the operator's work gets a client for a cluster's bootstrap address (tests pass their own).
Connect = Callable[[str], "KafkaAdmin"]
# The operator's reads of Kafka (topic syncs, rolls, live settings): connecting, and each answer.
OPERATOR_CONNECT_TIMEOUT_MS = 5_000
OPERATOR_REQUEST_TIMEOUT_MS = 15_000


def operator_client(bootstrap: str) -> KafkaAdmin:
    """The admin client the operator reads a cluster's Kafka with (its Jobs connect their own)."""
    return KafkaPythonAdmin(
        bootstrap,
        client_id="kopfka-operator",
        timeout_ms=OPERATOR_REQUEST_TIMEOUT_MS,
        connect_timeout_ms=OPERATOR_CONNECT_TIMEOUT_MS,
        ssl_context=identities.context(bootstrap),
    )


# After a bootstrap address could not be read, how long refresh-time work leaves it alone.
UNREACHABLE_SECONDS = 30.0


class Unreachable:
    """When each bootstrap address last could not be read, so that work run on every status
    refresh (rolls, live settings) does not wait on a connect timeout on every pod event (the
    integration tier's clusters have no Kafka at all)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._since: dict[str, float] = {}

    def recently(self, bootstrap: str) -> bool:
        with self._lock:
            at = self._since.get(bootstrap)
        return at is not None and time.monotonic() - at < UNREACHABLE_SECONDS

    def mark(self, bootstrap: str, *, reachable: bool) -> None:
        with self._lock:
            if reachable:
                self._since.pop(bootstrap, None)
            else:
                self._since[bootstrap] = time.monotonic()


unreachable = Unreachable()


class KafkaPythonAdmin:
    """`KafkaAdmin` over kafka-python's KafkaAdminClient."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_id: str = "kopfka",
        timeout_ms: int = 15000,
        connect_timeout_ms: int = 30000,
        ssl_context: ssl.SSLContext | None = None,
    ):
        """Connects at once; raises KafkaUnavailable when no bootstrap server answers within
        `connect_timeout_ms`. `timeout_ms` bounds each request. With `ssl_context`, over TLS
        (kafka/tls.py: the operator's certificate on the internal listeners)."""
        security: dict[str, Any] = (
            {} if ssl_context is None else {"security_protocol": "SSL", "ssl_context": ssl_context}
        )
        with _unavailable_on_retriable_errors():
            self._client = _bootstrapped_client(
                bootstrap_servers=bootstrap_servers,
                client_id=client_id,
                request_timeout_ms=timeout_ms,
                bootstrap_timeout_ms=connect_timeout_ms,
                **security,
            )
        self._timeout_ms = timeout_ms

    def cluster(self) -> ClusterFacts:
        raw: dict[str, Any] = self._client.describe_cluster()
        return ClusterFacts(
            cluster_id=str(raw["cluster_id"]),
            controller_id=int(raw["controller_id"]),
            brokers=tuple(
                sorted(
                    (
                        Broker(
                            node_id=int(item["broker_id"]),
                            host=str(item["host"]),
                            port=int(item["port"]),
                            rack=item.get("rack"),
                        )
                        for item in raw["brokers"]
                        if not item.get("is_fenced", False)
                    ),
                    key=lambda broker: broker.node_id,
                )
            ),
        )

    def quorum(self) -> QuorumFacts:
        raw: dict[str, Any] = self._client.describe_metadata_quorum()
        partition = raw["topics"][0]["partitions"][0]

        def members(key: str) -> tuple[QuorumMember, ...]:
            return tuple(
                QuorumMember(
                    node_id=int(item["replica_id"]), log_end_offset=int(item["log_end_offset"])
                )
                for item in partition[key]
            )

        return QuorumFacts(
            leader_id=int(partition["leader_id"]),
            leader_epoch=int(partition["leader_epoch"]),
            high_watermark=int(partition["high_watermark"]),
            voters=members("current_voters"),
            observers=members("observers"),
        )

    def metadata_version_level(self) -> int | None:
        raw: dict[str, Any] = self._client.describe_features()
        finalized = raw.get("metadata.version", {}).get("finalized")
        return None if finalized is None else int(finalized[1])

    def topics(self, names: Iterable[str] | None = None) -> dict[str, TopicFacts]:
        with _unavailable_on_retriable_errors():
            raw: list[dict[str, Any]] = self._client.describe_topics(
                None if names is None else list(names)
            )
        return {
            item["name"]: TopicFacts(
                name=item["name"],
                topic_id=_kafka_uuid(item.get("topic_id")),
                partitions=tuple(
                    sorted(
                        (
                            Partition(
                                partition=int(p["partition_index"]),
                                leader=int(p["leader_id"]),
                                replicas=tuple(int(r) for r in p["replica_nodes"]),
                                isr=tuple(int(r) for r in p["isr_nodes"]),
                            )
                            for p in item["partitions"]
                        ),
                        key=lambda p: p.partition,
                    )
                ),
            )
            for item in raw
            if item.get("error_code", 0) == 0
        }

    def broker_config(self, broker: int) -> dict[str, ConfigValue]:
        """Settings of one broker that differ from Kafka's defaults, with where each comes from."""
        resource = ConfigResource(ConfigResourceType.BROKER, str(broker))
        raw: dict[str, Any] = self._client.describe_configs([resource], config_filter="all")
        return {
            name: ConfigValue(value=str(entry["value"]), source=str(entry["config_source"]))
            for name, entry in raw["broker"][str(broker)].items()
            if entry.get("value") is not None and entry["config_source"] != "DEFAULT_CONFIG"
        }

    def cluster_defaults(self) -> dict[str, ConfigValue]:
        """Kafka's cluster-wide dynamic broker defaults (`kafka-configs --entity-type brokers
        --entity-default`), each as the text it was set with; values Kafka does not show
        (passwords) are left out.

        kafka-python refuses the default broker resource (the empty name) in describe_configs and
        alter_configs alike (ValueError: broker names must be integers), so the defaults are read
        from one broker's description instead: each setting there lists its value from every
        source (its synonyms), the cluster-wide default among them. A broker answers from its copy
        of the metadata, which may lag a change just made: poll.
        """
        brokers = self.cluster().brokers
        if not brokers:
            raise KafkaUnavailable("no broker is registered with the cluster")
        broker = str(brokers[0].node_id)
        resource = ConfigResource(ConfigResourceType.BROKER, broker)
        with _unavailable_on_retriable_errors():
            raw: dict[str, Any] = self._client.describe_configs(
                [resource], include_synonyms=True, config_filter="all"
            )
        defaults: dict[str, ConfigValue] = {}
        for entry in raw["broker"][broker].values():
            for synonym in entry.get("synonyms") or ():
                if synonym["source"] == CLUSTER_DEFAULT_SOURCE and synonym.get("value") is not None:
                    defaults[str(synonym["name"])] = ConfigValue(
                        value=str(synonym["value"]), source=CLUSTER_DEFAULT_SOURCE
                    )
        return dict(sorted(defaults.items()))

    def alter_broker_config(self, broker: int, changes: Mapping[str, str | None]) -> None:
        """Set (or, with None, remove) per-broker dynamic settings; Kafka applies them live.

        kafka-python names brokers by id only, so cluster-wide defaults are set broker by broker.
        """
        resource = ConfigResource(
            ConfigResourceType.BROKER, str(broker), configs=_config_ops(changes)
        )
        self._client.alter_configs([resource], incremental=True)

    def alter_broker_configs(
        self, changes: Mapping[int, Mapping[str, str | None]]
    ) -> dict[int, TopicError | None]:
        """Set (or, with None, remove) per-broker dynamic settings of several brokers, each
        request going to its broker; Kafka's answer per broker. Unlike `alter_broker_config`, a
        broker that refuses does not go unnoticed, and Kafka going away raises KafkaUnavailable.
        """
        resources = [
            ConfigResource(ConfigResourceType.BROKER, str(broker), configs=_config_ops(change))
            for broker, change in sorted(changes.items())
        ]
        if not resources:
            return {}
        with _unavailable_on_retriable_errors():
            raw: dict[str, Any] = self._client.alter_configs(
                resources, raise_on_unknown=False, incremental=True
            )
        answers = raw.get("broker", {})
        return {broker: _alter_configs_error(answers.get(str(broker))) for broker in changes}

    def topic_configs(self, names: Iterable[str]) -> dict[str, dict[str, str]]:
        """The dynamic topic configs (source DYNAMIC_TOPIC_CONFIG: the topic's own overrides) of
        the named topics; a topic without any, or unknown to Kafka, is left out."""
        found: dict[str, dict[str, str]] = {}
        for request in split_requests(sorted(set(names))):
            resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in request]
            with _unavailable_on_retriable_errors():
                raw: dict[str, Any] = self._client.describe_configs(resources)
            for name, entries in raw.get("topic", {}).items():
                overrides = {
                    key: str(entry["value"])
                    for key, entry in entries.items()
                    if entry["config_source"] == "DYNAMIC_TOPIC_CONFIG"
                    and entry.get("value") is not None
                }
                if overrides:
                    found[name] = overrides
        return found

    def create_topics(self, topics: Sequence[TopicToCreate]) -> dict[str, TopicError | None]:
        """Create the topics, many per CreateTopics request. A topic without a partition count
        gets the cluster's num.partitions (Kafka's -1), which counts for Kafka's limit of
        partitions per request, so it is read first."""
        default_count = 0
        if any(topic.partitions is None for topic in topics):
            with _unavailable_on_retriable_errors():
                default_count = self._num_partitions()

        def partitions(topic: TopicToCreate) -> int:
            return default_count if topic.partitions is None else topic.partitions

        results: dict[str, TopicError | None] = {}
        for request in split_requests(topics, weight=partitions):
            new_topics = {
                topic.name: {
                    "num_partitions": -1 if topic.partitions is None else topic.partitions,
                    "replication_factor": topic.replication_factor,
                    "configs": dict(topic.config),
                }
                for topic in request
            }
            with _unavailable_on_retriable_errors():
                raw: dict[str, Any] = self._client.create_topics(new_topics, raise_errors=False)
            results.update(_errors_by_topic(raw["topics"], request=new_topics))
        return results

    def create_partitions(self, counts: Mapping[str, int]) -> dict[str, TopicError | None]:
        """Raise each topic's partition count to the given total, many topics per request (the
        totals count against Kafka's limit: the partitions they add are fewer)."""
        results: dict[str, TopicError | None] = {}
        for request in split_requests(sorted(counts.items()), weight=lambda item: item[1]):
            with _unavailable_on_retriable_errors():
                raw = self._client.create_partitions(dict(request), raise_errors=False)
            results.update(_errors_by_topic(raw.to_dict()["results"], request=dict(request)))
        return results

    def alter_topic_configs(
        self, changes: Mapping[str, Mapping[str, str | None]]
    ) -> dict[str, TopicError | None]:
        """Incremental config changes, many topics per request: each key is set to its value, or
        with None removed (back to the broker default); the topic's other configs stay."""
        results: dict[str, TopicError | None] = {}
        for request in split_requests(sorted(changes.items())):
            resources = [
                ConfigResource(ConfigResourceType.TOPIC, name, configs=_config_ops(change))
                for name, change in request
            ]
            # Unknown keys go to Kafka, which refuses them for their topic alone.
            with _unavailable_on_retriable_errors():
                raw: dict[str, Any] = self._client.alter_configs(
                    resources, raise_on_unknown=False, incremental=True
                )
            answers = raw.get("topic", {})
            results.update({name: _alter_configs_error(answers.get(name)) for name, _ in request})
        return results

    def delete_topics(self, names: Sequence[str]) -> dict[str, TopicError | None]:
        """Delete the topics, many per DeleteTopics request."""
        results: dict[str, TopicError | None] = {}
        for request in split_requests(names):
            with _unavailable_on_retriable_errors():
                raw: dict[str, Any] = self._client.delete_topics(request, raise_errors=False)
            results.update(_errors_by_topic(raw["topics"], request=request))
        return results

    def replica_sizes(
        self, partitions: Iterable[PartitionKey]
    ) -> dict[PartitionKey, dict[int, int]]:
        """The bytes of each replica of `partitions`, by broker: DescribeLogDirs, one request per
        broker. A replica being moved between log directories of its broker counts once (the
        future copy is left out)."""
        by_topic: dict[str, list[int]] = {}
        for topic, index in sorted(set(partitions)):
            by_topic.setdefault(topic, []).append(index)
        if not by_topic:
            return {}
        with _unavailable_on_retriable_errors():
            answers: list[dict[str, Any]] = self._client.describe_log_dirs(by_topic)
        wanted = {(topic, index) for topic, indexes in by_topic.items() for index in indexes}
        sizes: dict[PartitionKey, dict[int, int]] = {}
        for answer in answers:
            broker = int(answer["broker"])
            for log_dir in answer["log_dirs"]:
                for topic in log_dir.get("topics") or ():
                    for partition in topic.get("partitions") or ():
                        key = (str(topic["name"]), int(partition["partition_index"]))
                        if key in wanted and not partition.get("is_future_key"):
                            held = sizes.setdefault(key, {})
                            held[broker] = held.get(broker, 0) + int(partition["partition_size"])
        return sizes

    def reassignments(self) -> dict[PartitionKey, Reassigning]:
        """Every partition reassignment in progress, as Kafka's active controller knows it."""
        with _unavailable_on_retriable_errors():
            raw: dict[TopicPartition, dict[str, list[int]]] = (
                self._client.list_partition_reassignments()
            )
        return {
            (str(tp.topic), int(tp.partition)): Reassigning(
                replicas=tuple(int(r) for r in answer["replicas"]),
                adding=tuple(int(r) for r in answer["adding_replicas"]),
                removing=tuple(int(r) for r in answer["removing_replicas"]),
            )
            for tp, answer in raw.items()
        }

    def reassign(
        self, targets: Mapping[PartitionKey, Sequence[int]]
    ) -> dict[PartitionKey, TopicError | None]:
        """Start reassigning each partition to its target replica list (preferred leader first),
        many partitions per request; Kafka's answer per partition. A partition already being
        reassigned gets the new target instead.

        kafka-python's `alter_partition_reassignments` keeps only the error class of a refused
        partition and drops Kafka's message (the one that names the broker that does not exist),
        so the request is sent here through the same controller seam that method uses.
        """
        results: dict[PartitionKey, TopicError | None] = {}
        for request in split_requests(sorted(targets.items())):
            message = AlterPartitionReassignmentsRequest(
                timeout_ms=self._timeout_ms,
                topics=KafkaAdminClient._process_alter_partition_reassignments_input(
                    {
                        TopicPartition(topic, index): list(replicas)
                        for (topic, index), replicas in request
                    }
                ),
            )
            with _unavailable_on_retriable_errors():
                response = self._client._manager.run(
                    self._client._send_request_to_controller, message, _top_level_error
                )
            answers = {
                (str(topic.name), int(partition.partition_index)): _topic_error(
                    int(partition.error_code), partition.error_message
                )
                for topic in response.responses
                for partition in topic.partitions
            }
            results.update({key: answers.get(key, _NOT_MENTIONED) for key, _ in request})
        return results

    def elect_preferred_leaders(
        self, partitions: Iterable[PartitionKey]
    ) -> dict[PartitionKey, TopicError | None]:
        """Make each partition's preferred replica (the first of its list) its leader; Kafka's
        answer per partition, None also when the preferred replica leads already."""
        by_topic: dict[str, list[int]] = {}
        for topic, index in sorted(set(partitions)):
            by_topic.setdefault(topic, []).append(index)
        if not by_topic:
            return {}
        with _unavailable_on_retriable_errors():
            response = self._client.elect_leaders(
                ElectionType.PREFERRED, by_topic, timeout_ms=self._timeout_ms, raise_errors=False
            )
        whole = int(getattr(response, "error_code", 0) or 0)
        answers: dict[PartitionKey, TopicError | None] = {}
        for result in response.replica_election_results:
            for partition in result.partition_result:
                code = int(partition.error_code)
                answers[(str(result.topic), int(partition.partition_id))] = (
                    None
                    if code == kafka.errors.ElectionNotNeededError.errno
                    else _topic_error(code, partition.error_message)
                )
        refused = _topic_error(whole, None) or _NOT_MENTIONED
        return {
            (topic, index): answers.get((topic, index), refused)
            for topic, indexes in by_topic.items()
            for index in indexes
        }

    def consumer_lag(self) -> tuple[PartitionLag, ...]:
        """The lag of every committed offset of every consumer group, sorted: how far each
        group's commit of a partition is behind the partition's end (its high watermark, as
        `kafka-consumer-groups.sh --describe` reads it). Share groups commit no offsets and are
        left out; so are partitions without a leader at the moment (their end cannot be read).

        What one call asks of Kafka, with B brokers: DescribeCluster (1 request), ListGroups to
        every broker (B), one batched FindCoordinator for all groups (1), OffsetFetch for all
        groups of a coordinator in one request (at most B), Metadata for the topics with commits,
        read twice (2: once here to leave leaderless partitions out, once by kafka-python to
        route), and ListOffsets for all partitions a broker leads in one request (at most B):
        at most 3B + 4 requests, however many groups and partitions there are. The requests'
        sizes grow with the groups and partitions; each is a read the brokers answer from
        memory (the group coordinator's cache and the partitions' high watermarks).

        A broker that cannot be asked for its groups (it is restarting) is skipped: the groups
        it coordinated move to another broker, which lists them once it has loaded them. When
        none can be asked, or a later request fails for want of Kafka, this raises
        KafkaUnavailable.
        """
        with _unavailable_on_retriable_errors():
            groups = self._consumer_groups()
            if not groups:
                return ()
            raw: dict[str, dict[TopicPartition, Any]] = self._client.list_group_offsets(
                dict.fromkeys(sorted(groups))
            )
            committed = {
                (str(group), str(tp.topic), int(tp.partition)): int(answer.offset)
                for group, offsets in raw.items()
                for tp, answer in offsets.items()
                if answer.offset >= 0  # -1: nothing committed
            }
            ends = self._end_offsets({(topic, partition) for _, topic, partition in committed})
        return tuple(
            PartitionLag(
                group=group,
                topic=topic,
                partition=partition,
                committed=offset,
                end=ends[(topic, partition)],
            )
            for (group, topic, partition), offset in sorted(committed.items())
            if (topic, partition) in ends
        )

    def users(self, names: Iterable[str], *, acls: bool = False) -> dict[str, UserFacts]:
        """What Kafka holds for each named user that has a SCRAM credential, a quota of its own
        or (with `acls`, for a cluster with an authorizer) an ACL; a user with none is left out.
        DescribeUserScramCredentials for the names, one DescribeClientQuotas for every user
        entity (without a client id), and with `acls` one DescribeAcls for every ACL."""
        wanted = sorted(set(names))
        if not wanted:
            return {}
        with _unavailable_on_retriable_errors():
            raw: dict[str, dict[str, Any]] = self._client.describe_user_scram_credentials(wanted)
            quotas = self._user_quotas()
            bindings = self._user_acls() if acls else {}
        credentials = {
            str(user): tuple(
                ScramCredential(
                    mechanism=ScramMechanism(int(info["mechanism"])).name.replace("_", "-"),
                    iterations=int(info["iterations"]),
                )
                for info in answer.get("credential_infos") or ()
            )
            for user, answer in raw.items()
            if answer.get("error") is None
        }
        return {
            user: UserFacts(
                credentials=credentials.get(user, ()),
                quotas=quotas.get(user, {}),
                acls=bindings.get(user, ()),
            )
            for user in wanted
            if credentials.get(user) or quotas.get(user) or bindings.get(user)
        }

    def _user_acls(self) -> dict[str, tuple[Acl, ...]]:
        """Every ACL of a User principal, by user name, sorted."""
        request = DescribeAclsRequest(
            resource_type_filter=ResourceType.ANY,
            resource_name_filter=None,
            pattern_type_filter=ACLResourcePatternType.ANY,
            principal_filter=None,
            host_filter=None,
            operation=ACLOperation.ANY,
            permission_type=ACLPermissionType.ANY,
        )
        response = self._client._manager.run(self._send, request)
        error = _topic_error(int(response.error_code), response.error_message)
        if error is not None:
            raise KafkaUnavailable(f"DescribeAcls failed: {error.code}: {error.message}")
        found: dict[str, list[Acl]] = {}
        for resource in response.resources:
            for binding in resource.acls:
                kind, _, user = str(binding.principal).partition(":")
                if kind != USER_PRINCIPAL_TYPE:
                    continue
                found.setdefault(user, []).append(
                    Acl(
                        resource_type=ResourceType(resource.resource_type).name,
                        name=str(resource.resource_name),
                        pattern_type=ACLResourcePatternType(resource.pattern_type).name,
                        operation=ACLOperation(binding.operation).name,
                        permission=ACLPermissionType(binding.permission_type).name,
                        host=str(binding.host),
                    )
                )
        return {user: tuple(sorted(bindings)) for user, bindings in found.items()}

    def alter_user_acls(
        self, creations: Mapping[str, Iterable[Acl]], deletions: Mapping[str, Iterable[Acl]]
    ) -> dict[str, TopicError | None]:
        """Create and delete ACL bindings of users (principal User:<name>): one CreateAcls and
        one DeleteAcls request (each binding deleted by an exact filter); Kafka's first refusal
        per user, or None."""
        created = [(user, acl) for user, acls in sorted(creations.items()) for acl in sorted(acls)]
        deleted = [(user, acl) for user, acls in sorted(deletions.items()) for acl in sorted(acls)]
        answers: list[tuple[str, Any]] = []
        with _unavailable_on_retriable_errors():
            if created:
                request = CreateAclsRequest(
                    creations=[
                        KafkaAdminClient._convert_create_acls_resource_request(_kafka_acl(*item))
                        for item in created
                    ]
                )
                response = self._client._manager.run(self._send, request)
                answers += zip([user for user, _ in created], response.results, strict=True)
            if deleted:
                request = DeleteAclsRequest(
                    filters=[
                        KafkaAdminClient._convert_delete_acls_resource_request(_acl_filter(*item))
                        for item in deleted
                    ]
                )
                response = self._client._manager.run(self._send, request)
                answers += zip([user for user, _ in deleted], response.filter_results, strict=True)
        results: dict[str, TopicError | None] = dict.fromkeys({*creations, *deletions})
        for user, answer in answers:
            if results[user] is None:  # the first refusal of a user's changes
                results[user] = _topic_error(int(answer.error_code), answer.error_message)
        return results

    def _user_quotas(self) -> dict[str, dict[str, float]]:
        request = DescribeClientQuotasRequest(
            components=[
                DescribeClientQuotasRequest.ComponentData(
                    entity_type=USER_ENTITY, match_type=_MATCH_ANY, match=None
                )
            ],
            strict=True,  # the user's own quotas, not those of (user, client id) pairs
        )
        response = self._client._manager.run(self._send, request)
        error = _topic_error(int(response.error_code), response.error_message)
        if error is not None:
            raise KafkaUnavailable(f"DescribeClientQuotas failed: {error.code}: {error.message}")
        found: dict[str, dict[str, float]] = {}
        for entry in response.entries or ():
            entities = {entity.entity_type: entity.entity_name for entity in entry.entity}
            name = entities.get(USER_ENTITY)
            if len(entities) == 1 and name is not None:
                found[str(name)] = {str(value.key): float(value.value) for value in entry.values}
        return found

    def alter_user_credentials(
        self, upserts: Mapping[str, str], deletions: Iterable[str]
    ) -> dict[str, TopicError | None]:
        """Set each user's SCRAM-SHA-512 credential from its password (salted here: Kafka gets
        the salt and the salted password, never the password), and delete those of `deletions`,
        in one AlterUserScramCredentials request; Kafka's answer per user. Deleting a credential
        that is not there is no error."""
        alterations: list[Any] = [
            UserScramCredentialUpsertion(
                user, SCRAM_MECHANISM, password, iterations=SCRAM_ITERATIONS
            )
            for user, password in sorted(upserts.items())
        ]
        gone = sorted(set(deletions))
        alterations += [UserScramCredentialDeletion(user, SCRAM_MECHANISM) for user in gone]
        if not alterations:
            return {}
        with _unavailable_on_retriable_errors():
            raw: dict[str, str | None] = self._client.alter_user_scram_credentials(alterations)
        results: dict[str, TopicError | None] = {}
        for user in [*sorted(upserts), *gone]:
            if user not in raw:
                results[user] = TopicError("UNKNOWN", "Kafka's answer did not mention this user")
            elif raw[user] is None or (user in gone and _NO_CREDENTIAL in str(raw[user])):
                results[user] = None
            else:
                results[user] = TopicError("REFUSED", str(raw[user]))
        return results

    def alter_user_quotas(
        self, changes: Mapping[str, Mapping[str, float | None]]
    ) -> dict[str, TopicError | None]:
        """Set (or, with None, remove) quotas of each user's own entity, in one
        AlterClientQuotas request; Kafka's answer per user."""
        if not changes:
            return {}
        request = AlterClientQuotasRequest(
            entries=[
                AlterClientQuotasRequest.EntryData(
                    entity=[
                        AlterClientQuotasRequest.EntryData.EntityData(
                            entity_type=USER_ENTITY, entity_name=user
                        )
                    ],
                    ops=[
                        AlterClientQuotasRequest.EntryData.OpData(
                            key=key, value=0.0 if value is None else value, remove=value is None
                        )
                        for key, value in sorted(change.items())
                    ],
                )
                for user, change in sorted(changes.items())
            ],
            validate_only=False,
        )
        with _unavailable_on_retriable_errors():
            response = self._client._manager.run(self._send, request)
        answers: dict[str, TopicError | None] = {}
        for entry in response.entries:
            entities = {entity.entity_type: entity.entity_name for entity in entry.entity}
            answers[str(entities.get(USER_ENTITY))] = _topic_error(
                int(entry.error_code), entry.error_message
            )
        return {
            user: answers.get(user, TopicError("UNKNOWN", "Kafka's answer did not mention it"))
            for user in changes
        }

    async def _send(self, request: Any) -> Any:
        """Send a request kafka-python has no admin method for to any broker (in KRaft, brokers
        forward quota changes to the controller)."""
        return await self._client._manager.send(request)

    def _consumer_groups(self) -> set[str]:
        """The ids of every group but share groups, from each broker (a broker lists the groups
        it coordinates)."""
        brokers = self.cluster().brokers
        groups: set[str] = set()
        answered = 0
        for broker in brokers:
            try:
                listed: list[dict[str, Any]] = self._client.list_groups(broker_ids=[broker.node_id])
            except kafka.errors.RetriableError:
                continue
            answered += 1
            groups.update(
                str(group["group_id"])
                for group in listed
                if SHARE_GROUP not in (group.get("group_type"), group.get("protocol_type"))
            )
        if brokers and not answered:
            raise KafkaUnavailable("no broker answered with its consumer groups")
        return groups

    def _end_offsets(self, partitions: set[PartitionKey]) -> dict[PartitionKey, int]:
        """The end offset (high watermark) of each partition that has a leader now, with one
        ListOffsets request per leader."""
        if not partitions:
            return {}
        led = {
            (name, partition.partition)
            for name, topic in self.topics({topic for topic, _ in partitions}).items()
            for partition in topic.partitions
            if partition.leader >= 0
        }
        wanted = {
            TopicPartition(topic, index): OffsetSpec.LATEST
            for topic, index in sorted(partitions & led)
        }
        if not wanted:
            return {}
        raw: dict[TopicPartition, Any] = self._client.list_partition_offsets(wanted)
        return {
            (str(tp.topic), int(tp.partition)): int(answer.offset) for tp, answer in raw.items()
        }

    def _num_partitions(self) -> int:
        """The cluster's num.partitions. Read from a broker: kopfka renders the same static value
        for the controllers, whose value Kafka uses."""
        brokers = self.cluster().brokers
        if not brokers:
            raise KafkaUnavailable("no broker is registered with the cluster")
        setting = self.broker_config(brokers[0].node_id).get("num.partitions")
        return KAFKA_DEFAULT_NUM_PARTITIONS if setting is None else int(setting.value)

    def close(self) -> None:
        self._client.close()


def _bootstrapped_client(**configs: Any) -> KafkaAdminClient:
    """A KafkaAdminClient, connected. One that cannot bootstrap stops the I/O thread it started:
    kafka-python (3.0.12) raises from its constructor and leaves that thread running, with its
    sockets, for the life of the process, so an operator that reads an unreachable cluster every
    interval would gather threads."""
    client = KafkaAdminClient.__new__(KafkaAdminClient)
    try:
        client.__init__(**configs)
    except BaseException:
        if hasattr(client, "_net"):  # it got as far as starting the thread
            client._closed = False  # set only after bootstrapping; close() does nothing without
            client.close()
        raise
    return client


@contextlib.contextmanager
def _unavailable_on_retriable_errors() -> Iterator[None]:
    """Per-topic errors never raise here (they are asked for as results), so a retriable error
    means the request itself failed: no connection, or no answer in time."""
    try:
        yield
    except kafka.errors.RetriableError as error:
        raise KafkaUnavailable(str(error)) from error


def _top_level_error(response: Any) -> Iterator[type[kafka.errors.KafkaError]]:
    """The error of a response as a whole, for kafka-python's controller seam to raise."""
    yield kafka.errors.for_code(response.error_code)


_NOT_MENTIONED = TopicError("UNKNOWN", "Kafka's answer did not mention this partition")
# Kafka's answer to deleting a SCRAM credential that is not there (RESOURCE_NOT_FOUND).
_NO_CREDENTIAL = "Attempt to delete a user credential that does not exist"


def _topic_error(code: int, message: str | None) -> TopicError | None:
    if code == 0:
        return None
    known = kafka.errors.kafka_errors.get(code)
    if known is None:
        return TopicError(f"ERROR_{code}", message or f"Kafka error code {code}")
    return TopicError(str(known.message), message or str(known.description))


def _errors_by_topic(
    answers: Iterable[Mapping[str, Any]], *, request: Iterable[str]
) -> dict[str, TopicError | None]:
    """Kafka's answer for each topic of a request, from the per-topic results of its response."""
    errors = {
        str(answer["name"]): _topic_error(int(answer["error_code"]), answer.get("error_message"))
        for answer in answers
    }
    return {
        name: errors.get(name, TopicError("UNKNOWN", "Kafka's answer did not mention this topic"))
        for name in request
    }


# kafka-python reports a refused resource of an AlterConfigs request as the text of the error it
# would raise: "[Error <Kafka's error code>] <ErrorClass>: <Kafka's message>".
_ALTER_CONFIGS_ERROR = re.compile(r"\[Error (-?\d+)\] \w+: (.*)", re.DOTALL)


def _alter_configs_error(answer: str | None) -> TopicError | None:
    if answer == "OK":
        return None
    match = _ALTER_CONFIGS_ERROR.fullmatch(answer or "")
    if match is None:
        return TopicError("UNKNOWN", answer or "Kafka's answer did not mention this topic")
    message = match.group(2)
    return _topic_error(int(match.group(1)), None if message == "None" else message)


def _kafka_acl(user: str, acl: Acl) -> ACL:
    return ACL(
        principal=f"{USER_PRINCIPAL_TYPE}:{user}",
        host=acl.host,
        operation=ACLOperation[acl.operation],
        permission_type=ACLPermissionType[acl.permission],
        resource_pattern=ResourcePattern(
            ResourceType[acl.resource_type], acl.name, ACLResourcePatternType[acl.pattern_type]
        ),
    )


def _acl_filter(user: str, acl: Acl) -> ACLFilter:
    """A filter matching exactly one binding."""
    return ACLFilter(
        principal=f"{USER_PRINCIPAL_TYPE}:{user}",
        host=acl.host,
        operation=ACLOperation[acl.operation],
        permission_type=ACLPermissionType[acl.permission],
        resource_pattern=ResourcePatternFilter(
            ResourceType[acl.resource_type], acl.name, ACLResourcePatternType[acl.pattern_type]
        ),
    )


def _config_ops(change: Mapping[str, str | None]) -> dict[str, tuple[AlterConfigOp, str | None]]:
    return {
        key: (AlterConfigOp.DELETE, None) if value is None else (AlterConfigOp.SET, value)
        for key, value in change.items()
    }


def _kafka_uuid(value: object) -> str:
    """A topic id as Kafka's own tools print it: URL-safe base64 of its 16 bytes, unpadded.
    kafka-python hands it over as a `uuid.UUID` or in the UUID's text form."""
    if value is None:
        return ""
    try:
        parsed = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return str(value)  # already in Kafka's form
    return base64.urlsafe_b64encode(parsed.bytes).decode().rstrip("=")
