"""Kafka admin access behind a small Protocol, implemented with kafka-python (pure Python, with the
KRaft APIs the operator needs: DescribeCluster, DescribeQuorum, DescribeFeatures, configs).

Tests of planners use a fake of `KafkaAdmin`; this implementation is tested against real Kafka in
the Kafka tier.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from kafka.admin import AlterConfigOp, ConfigResource, ConfigResourceType, KafkaAdminClient

from kopfka.kafka.facts import (
    Broker,
    ClusterFacts,
    ConfigValue,
    Partition,
    QuorumFacts,
    QuorumMember,
    TopicFacts,
)


class KafkaAdmin(Protocol):
    def cluster(self) -> ClusterFacts: ...

    def quorum(self) -> QuorumFacts: ...

    def metadata_version_level(self) -> int | None: ...

    def topics(self, names: Iterable[str] | None = None) -> dict[str, TopicFacts]: ...

    def broker_config(self, broker: int) -> dict[str, ConfigValue]: ...

    def alter_broker_config(self, broker: int, changes: Mapping[str, str | None]) -> None: ...

    def close(self) -> None: ...


class KafkaPythonAdmin:
    """`KafkaAdmin` over kafka-python's KafkaAdminClient."""

    def __init__(
        self, bootstrap_servers: str, *, client_id: str = "kopfka", timeout_ms: int = 15000
    ):
        self._client = KafkaAdminClient(
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            request_timeout_ms=timeout_ms,
        )

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
        raw: list[dict[str, Any]] = self._client.describe_topics(
            None if names is None else list(names)
        )
        return {
            item["name"]: TopicFacts(
                name=item["name"],
                topic_id=str(item.get("topic_id", "")),
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

    def alter_broker_config(self, broker: int, changes: Mapping[str, str | None]) -> None:
        """Set (or, with None, remove) per-broker dynamic settings; Kafka applies them live.

        kafka-python names brokers by id only, so cluster-wide defaults are set broker by broker.
        """
        configs = {
            key: (AlterConfigOp.DELETE, None) if value is None else (AlterConfigOp.SET, value)
            for key, value in changes.items()
        }
        resource = ConfigResource(ConfigResourceType.BROKER, str(broker), configs=configs)
        self._client.alter_configs([resource], incremental=True)

    def close(self) -> None:
        self._client.close()
