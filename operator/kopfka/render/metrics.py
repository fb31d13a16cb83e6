"""The Prometheus JMX exporter's configuration: kopfka's rules for the Kafka 4.x metrics that count.

Every Kafka node (controllers too) runs the exporter as a Java agent when `spec.metrics.enabled`
(the broker image's entrypoint adds it), serving `/metrics` on the container port `metrics`.
The configuration lives in one ConfigMap per cluster, `<cluster>-kafka-metrics`, that pods mount
under a fixed name and that no restart hash covers: the exporter reads its file again at the first
scrape after the file changed, so a rule change reaches running nodes without a restart once the
kubelet has updated the mounted files (about a minute). The ConfigMap is rendered whether metrics
are on or not, so a pod made while they were on still finds it until it is restarted.

The rules name every family explicitly, with Prometheus units (`_bytes`, `_seconds`, `_total`
for counters of Kafka's meters), and keep cardinality bounded: per-topic series only for bytes and
messages in and out, per-partition series only for the log size; per-partition replication
state comes from the brokers' totals (docs/monitoring.md lists every family and why). The user's
rules come first, so one of theirs can take a bean before kopfka's rule for it.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from kopfka.model import names
from kopfka.model.cluster import ClusterSpec
from kopfka.render import meta

METRICS_MOUNT = "/etc/kopfka/metrics"
CONFIG_FILE = "jmx-exporter.yaml"
BROKERS, CONTROLLERS, ALL_NODES = "brokers", "controllers", "all"
# The head of a rule's pattern: domain, type and a literal bean name (not a group of names).
_BEAN = re.compile(r"([\w.]+)<type=([\w-]+)(?:, name=(\w+)[,>])?")


@dataclass(frozen=True)
class Family:
    """One metric family kopfka's rules make, and the MBean attribute pattern it comes from."""

    name: str
    type: str
    pattern: str
    help: str
    # Which nodes serve it: those with the broker role, the controller role, or every node.
    on: str = ALL_NODES
    labels: dict[str, str] = field(default_factory=dict)
    value_factor: float | None = None

    @property
    def object_name(self) -> str:
        """The ObjectName pattern of the MBeans the rule reads: its domain, type and, when the
        pattern names one, the bean name (`kafka.server:type=ReplicaManager,name=LeaderCount,*`)."""
        match = _BEAN.match(self.pattern)
        assert match is not None, f"{self.pattern}: not domain<type=...>"
        domain, bean_type, bean_name = match.groups()
        name = f",name={bean_name}" if bean_name else ""
        return f"{domain}:type={bean_type}{name},*"

    def rule(self) -> dict[str, Any]:
        rule: dict[str, Any] = {
            "pattern": self.pattern,
            "name": self.name,
            "type": self.type,
            "help": self.help,
            # Which rule a bean matched never depends on its value here, so the exporter may
            # remember it instead of trying every pattern on every bean at every scrape.
            "cache": True,
        }
        if self.labels:
            rule["labels"] = dict(self.labels)
        if self.value_factor is not None:
            rule["valueFactor"] = self.value_factor
        return rule


def _gauge(pattern: str, name: str, help: str, **extra: Any) -> Family:
    return Family(name=name, type="GAUGE", pattern=pattern, help=help, **extra)


def _counter(pattern: str, name: str, help: str, **extra: Any) -> Family:
    return Family(name=name, type="COUNTER", pattern=pattern, help=help, **extra)


def _replica_manager(bean: str, name: str, help: str) -> Family:
    return _gauge(f"kafka.server<type=ReplicaManager, name={bean}><>Value", name, help, on=BROKERS)


def _meter(domain_type: str, bean: str, name: str, help: str, **extra: Any) -> Family:
    """The count of one of Kafka's meters (its rates are left to PromQL's rate())."""
    return _counter(f"{domain_type}, name={bean}><>Count", name, help, **extra)


def _topic_meter(bean: str, what: str, help: str) -> list[Family]:
    """A BrokerTopicMetrics meter: the broker's total, and the same per topic (two families, so
    that summing one never counts a byte twice)."""
    prefix = "kafka.server<type=BrokerTopicMetrics"
    return [
        _meter(prefix, bean, f"kafka_server_{what}_total", help, on=BROKERS),
        _counter(
            f"{prefix}, name={bean}, topic=(.+)><>Count",
            f"kafka_server_topic_{what}_total",
            f"{help}, per topic",
            on=BROKERS,
            labels={"topic": "$1"},
        ),
    ]


def _controller(bean: str, name: str, help: str, **extra: Any) -> Family:
    pattern = f"kafka.controller<type=KafkaController, name={bean}><>Value"
    return _gauge(pattern, name, help, on=CONTROLLERS, **extra)


def _raft(attribute: str, name: str, help: str, **extra: Any) -> Family:
    return _gauge(f"kafka.server<type=raft-metrics><>{attribute}", name, help, **extra)


_MS = 0.001

FAMILIES: tuple[Family, ...] = (
    # Replication state of the partitions a broker holds.
    _replica_manager(
        "UnderReplicatedPartitions",
        "kafka_server_under_replicated_partitions",
        "Partitions led by this broker with fewer in-sync replicas than replicas",
    ),
    _replica_manager(
        "UnderMinIsrPartitionCount",
        "kafka_server_under_min_isr_partitions",
        "Partitions led by this broker with fewer in-sync replicas than min.insync.replicas",
    ),
    _replica_manager(
        "OfflineReplicaCount",
        "kafka_server_offline_replicas",
        "Replicas on this broker that are offline (their log directory failed)",
    ),
    _replica_manager("PartitionCount", "kafka_server_partitions", "Replicas on this broker"),
    _replica_manager(
        "LeaderCount", "kafka_server_leader_partitions", "Partitions this broker leads"
    ),
    _meter(
        "kafka.server<type=ReplicaManager",
        "IsrShrinksPerSec",
        "kafka_server_isr_shrinks_total",
        "Times a replica dropped out of the in-sync set of a partition this broker leads",
        on=BROKERS,
    ),
    _meter(
        "kafka.server<type=ReplicaManager",
        "IsrExpandsPerSec",
        "kafka_server_isr_expands_total",
        "Times a replica joined the in-sync set of a partition this broker leads",
        on=BROKERS,
    ),
    # Traffic: bytes and messages, per broker and per topic.
    *_topic_meter("BytesInPerSec", "bytes_in", "Bytes clients produced to this broker"),
    *_topic_meter("BytesOutPerSec", "bytes_out", "Bytes this broker sent to consumers"),
    *_topic_meter("MessagesInPerSec", "messages_in", "Messages clients produced to this broker"),
    _meter(
        "kafka.server<type=BrokerTopicMetrics",
        "ReplicationBytesInPerSec",
        "kafka_server_replication_bytes_in_total",
        "Bytes this broker fetched from leaders as a follower",
        on=BROKERS,
    ),
    _meter(
        "kafka.server<type=BrokerTopicMetrics",
        "ReplicationBytesOutPerSec",
        "kafka_server_replication_bytes_out_total",
        "Bytes followers fetched from this broker",
        on=BROKERS,
    ),
    _meter(
        "kafka.server<type=BrokerTopicMetrics",
        "BytesRejectedPerSec",
        "kafka_server_bytes_rejected_total",
        "Bytes of produce requests this broker refused (too large)",
        on=BROKERS,
    ),
    _meter(
        "kafka.server<type=BrokerTopicMetrics",
        "FailedProduceRequestsPerSec",
        "kafka_server_failed_produce_requests_total",
        "Produce requests that failed on this broker",
        on=BROKERS,
    ),
    _meter(
        "kafka.server<type=BrokerTopicMetrics",
        "FailedFetchRequestsPerSec",
        "kafka_server_failed_fetch_requests_total",
        "Fetch requests that failed on this broker",
        on=BROKERS,
    ),
    # Requests, on every node (controllers serve the controller listener).
    _counter(
        r"kafka.network<type=RequestMetrics, name=RequestsPerSec, request=(\w+), version=(\d+)>"
        "<>Count",
        "kafka_network_requests_total",
        "Requests received, per request type and protocol version",
        labels={"request": "$1", "version": "$2"},
    ),
    _counter(
        r"kafka.network<type=RequestMetrics, name=ErrorsPerSec, request=(\w+), error=(\w+)>"
        "<>Count",
        "kafka_network_request_errors_total",
        "Responses per request type and error code (error NONE counts the successful ones)",
        labels={"request": "$1", "error": "$2"},
    ),
    *(
        _gauge(
            r"kafka.network<type=RequestMetrics, name=TotalTimeMs, "
            rf"request=(Produce|FetchConsumer|FetchFollower)><>{attribute}",
            "kafka_network_request_total_time_seconds",
            "Time from receiving a request to sending its response (a quantile over Kafka's "
            "recent samples)",
            labels={"request": "$1", "quantile": quantile},
            value_factor=_MS,
        )
        for attribute, quantile in (("50thPercentile", "0.5"), ("99thPercentile", "0.99"))
    ),
    _gauge(
        "kafka.server<type=KafkaRequestHandlerPool, name=RequestHandlerAvgIdlePercent>"
        "<>OneMinuteRate",
        "kafka_server_request_handler_avg_idle_ratio",
        "Share of time the request handler threads were idle (0 to 1; one-minute average)",
    ),
    _gauge(
        "kafka.network<type=SocketServer, name=NetworkProcessorAvgIdlePercent><>Value",
        "kafka_network_processor_avg_idle_ratio",
        "Share of time the network threads were idle (0 to 1)",
    ),
    # Disk.
    _gauge(
        "kafka.log<type=Log, name=Size, topic=(.+), partition=(.+)><>Value",
        "kafka_log_size_bytes",
        "Size on disk of a partition's log on this broker",
        labels={"topic": "$1", "partition": "$2"},
        on=BROKERS,
    ),
    _gauge(
        "kafka.log<type=LogManager, name=OfflineLogDirectoryCount><>Value",
        "kafka_log_offline_directories",
        "Log directories of this broker that failed",
        on=BROKERS,
    ),
    # The node's own state and its view of the metadata.
    _gauge(
        "kafka.server<type=KafkaServer, name=BrokerState><>Value",
        "kafka_server_broker_state",
        "Broker state: 0 not running, 1 starting, 2 recovery, 3 running, 6 pending controlled "
        "shutdown, 7 shutting down",
        on=BROKERS,
    ),
    _gauge(
        "kafka.server<type=broker-metadata-metrics><>last-applied-record-offset",
        "kafka_server_metadata_last_applied_record_offset",
        "Offset of the last metadata record this broker applied",
        on=BROKERS,
    ),
    _gauge(
        "kafka.server<type=broker-metadata-metrics><>last-applied-record-lag-ms",
        "kafka_server_metadata_last_applied_record_lag_seconds",
        "Age of the last metadata record this broker applied, when it applied it",
        value_factor=_MS,
        on=BROKERS,
    ),
    # The KRaft controllers.
    _controller(
        "ActiveControllerCount",
        "kafka_controller_active_controller_count",
        "1 on the active controller, 0 on the others: the sum over a cluster must be 1",
    ),
    _controller(
        "OfflinePartitionsCount",
        "kafka_controller_offline_partitions",
        "Partitions without a leader (reported by the active controller)",
    ),
    _controller("GlobalTopicCount", "kafka_controller_global_topics", "Topics in the cluster"),
    _controller(
        "GlobalPartitionCount", "kafka_controller_global_partitions", "Partitions in the cluster"
    ),
    _controller(
        "ActiveBrokerCount", "kafka_controller_active_brokers", "Brokers registered and unfenced"
    ),
    _controller(
        "FencedBrokerCount",
        "kafka_controller_fenced_brokers",
        "Brokers registered but fenced (not serving)",
    ),
    _controller(
        "PreferredReplicaImbalanceCount",
        "kafka_controller_preferred_replica_imbalance",
        "Partitions whose leader is not their preferred replica",
    ),
    _controller(
        "LastAppliedRecordOffset",
        "kafka_controller_last_applied_record_offset",
        "Offset of the last metadata record this controller applied",
    ),
    _controller(
        "LastCommittedRecordOffset",
        "kafka_controller_last_committed_record_offset",
        "Offset of the last metadata record the quorum committed, as this controller knows it",
    ),
    _controller(
        "LastAppliedRecordLagMs",
        "kafka_controller_last_applied_record_lag_seconds",
        "Age of the last metadata record this controller applied, when it applied it",
        value_factor=_MS,
    ),
    Family(
        name="kafka_controller_metadata_errors_total",
        type="COUNTER",
        pattern="kafka.controller<type=KafkaController, name=MetadataErrorCount><>Value",
        help="Errors this controller met applying metadata records",
        on=CONTROLLERS,
    ),
    _meter(
        "kafka.controller<type=ControllerStats",
        "UncleanLeaderElectionsPerSec",
        "kafka_controller_unclean_leader_elections_total",
        "Leaders elected from out-of-sync replicas (data may have been lost)",
        on=CONTROLLERS,
    ),
    _gauge(
        "kafka.controller<type=ControllerEventManager, name=AvgIdleRatio><>Value",
        "kafka_controller_event_queue_idle_ratio",
        "Share of time the controller's event thread was idle (0 to 1)",
        on=CONTROLLERS,
    ),
    # The metadata log's Raft state, on every node (brokers follow it as observers).
    _raft(
        "current-leader", "kafka_raft_current_leader", "Node id of the quorum leader, -1 if none"
    ),
    _raft("current-epoch", "kafka_raft_current_epoch", "Epoch of the quorum leader"),
    _raft(
        "high-watermark",
        "kafka_raft_high_watermark",
        "High watermark of the metadata log (committed offset), -1 if unknown",
    ),
    _raft(
        "log-end-offset",
        "kafka_raft_log_end_offset",
        "End offset of this node's copy of the metadata log",
    ),
    _raft(
        "commit-latency-avg",
        "kafka_raft_commit_latency_seconds",
        "Average time to commit a metadata record (leader only)",
        value_factor=_MS,
    ),
    _raft(
        "number-unknown-voter-connections",
        "kafka_raft_unknown_voter_connections",
        "Voters this node has no connection to",
    ),
)


def object_names(spec: ClusterSpec) -> list[str]:
    """The MBeans the exporter reads at each scrape: those kopfka's rules name, then the user's.

    Reading every MBean of a broker takes seconds per scrape (thousands of them, most per
    partition or per client); the listed ones take a tenth of that (docs/monitoring.md)."""
    ours = (family.object_name for family in FAMILIES)
    return list(dict.fromkeys([*ours, *spec.metrics.include_object_names]))


def exporter_config(spec: ClusterSpec) -> dict[str, Any]:
    """The exporter's YAML configuration as data: the user's rules, then kopfka's."""
    return {
        "includeObjectNames": object_names(spec),
        "lowercaseOutputName": True,
        "lowercaseOutputLabelNames": True,
        "rules": [*(dict(rule) for rule in spec.metrics.rules), *(f.rule() for f in FAMILIES)],
    }


def config_map(spec: ClusterSpec) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta.object_meta(
            spec,
            names.metrics_config_map_name(spec.name),
            names.labels(spec.name, "metrics", version=spec.version),
        ),
        "data": {CONFIG_FILE: _as_yaml(json.dumps(exporter_config(spec)))},
    }


@functools.lru_cache(maxsize=64)
def _as_yaml(config: str) -> str:
    """The exporter's configuration (as JSON text, which keeps its order) in YAML. Remembered:
    PyYAML's pure-Python emitter took a sixth of the operator's CPU at 200 clusters, which
    nearly all share the same rules."""
    return yaml.safe_dump(json.loads(config), sort_keys=False, width=200)
