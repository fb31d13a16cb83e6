"""Which Kafka settings the operator owns, which ones apply without a restart, and their defaults.

Keeping these facts in one table lets the CRD schema (admission rules), the model (validation) and
the renderer (restart hash) agree on them.
"""

from __future__ import annotations

from collections.abc import Mapping

SUPPORTED_KAFKA_VERSIONS: tuple[str, ...] = ("4.3.1", "4.4.0")
DEFAULT_KAFKA_VERSION = "4.4.0"

# Set by the operator from the topology it renders; a user value would break the cluster.
OWNED_KEYS: frozenset[str] = frozenset(
    {
        "node.id",
        "broker.id",
        "process.roles",
        "listeners",
        "advertised.listeners",
        "listener.security.protocol.map",
        "inter.broker.listener.name",
        "security.inter.broker.protocol",
        "controller.listener.names",
        "log.dirs",
        "log.dir",
        "metadata.log.dir",
        "broker.rack",
    }
)
# Prefixes the operator owns: the quorum, per-listener settings, and security (set by listeners).
OWNED_PREFIXES: tuple[str, ...] = (
    "controller.quorum.",
    "listener.name.",
    "advertised.",
    "ssl.",
    "sasl.",
)

# Cluster-wide settings Kafka can change at run time (Kafka docs, "Updating Broker Configs",
# update mode cluster-wide). A change to these alone does not restart brokers.
DYNAMIC_KEYS: frozenset[str] = frozenset(
    {
        "background.threads",
        "compression.type",
        "log.cleaner.backoff.ms",
        "log.cleaner.dedupe.buffer.size",
        "log.cleaner.delete.retention.ms",
        "log.cleaner.io.buffer.load.factor",
        "log.cleaner.io.buffer.size",
        "log.cleaner.io.max.bytes.per.second",
        "log.cleaner.max.compaction.lag.ms",
        "log.cleaner.min.cleanable.ratio",
        "log.cleaner.min.compaction.lag.ms",
        "log.cleaner.threads",
        "log.cleanup.policy",
        "log.flush.interval.messages",
        "log.flush.interval.ms",
        "log.index.interval.bytes",
        "log.index.size.max.bytes",
        "log.message.timestamp.after.max.ms",
        "log.message.timestamp.before.max.ms",
        "log.message.timestamp.type",
        "log.preallocate",
        "log.retention.bytes",
        "log.retention.ms",
        "log.roll.jitter.ms",
        "log.roll.ms",
        "log.segment.bytes",
        "log.segment.delete.delay.ms",
        "max.connection.creation.rate",
        "max.connections",
        "max.connections.per.ip",
        "max.connections.per.ip.overrides",
        "message.max.bytes",
        "min.insync.replicas",
        "num.io.threads",
        "num.network.threads",
        "num.recovery.threads.per.data.dir",
        "num.replica.fetchers",
        "unclean.leader.election.enable",
    }
)

# Replication settings whose Kafka defaults (3) would make a smaller cluster unusable.
REPLICATION_KEYS: tuple[str, ...] = (
    "default.replication.factor",
    "offsets.topic.replication.factor",
    "transaction.state.log.replication.factor",
)


def is_owned(key: str) -> bool:
    return key in OWNED_KEYS or key.startswith(OWNED_PREFIXES)


def is_dynamic(key: str) -> bool:
    return key in DYNAMIC_KEYS


def replication_defaults(brokers: int) -> dict[str, str]:
    """Defaults that keep internal topics creatable and writes safe for the cluster's size."""
    factor = min(3, brokers)
    return {
        **dict.fromkeys(REPLICATION_KEYS, str(factor)),
        "min.insync.replicas": str(max(1, factor - 1)),
        "transaction.state.log.min.isr": str(max(1, factor - 1)),
    }


def format_value(value: object) -> str:
    """How a YAML scalar is written in server.properties (YAML booleans become true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def effective_config(user: Mapping[str, object], brokers: int) -> dict[str, str]:
    """The user's settings on top of the operator's size-aware defaults, as strings."""
    merged = replication_defaults(brokers)
    merged.update({key: format_value(value) for key, value in user.items()})
    return merged
