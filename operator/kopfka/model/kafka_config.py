"""Which Kafka settings exist, which the operator owns, which apply live, and their defaults.

Kafka's own definitions (names, types, validators, dynamic update modes) come from the Kafka jars of
each supported version, generated into `kafka_configs/<version>.json` (docs/kafka-config-tables.md).
The operator's facts on top of them (keys it owns, size-aware defaults) live here, so the model
(validation) and the renderer (restart hash) agree on them.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from importlib import resources

from kopfka.model.kafka_values import Setting, check_value, java_list, java_trim

SUPPORTED_KAFKA_VERSIONS: tuple[str, ...] = ("4.3.1", "4.4.0")
DEFAULT_KAFKA_VERSION = "4.4.0"

# What Kafka setting names look like: lowercase words joined by '.', '_' or '-'. Such a key is
# written into server.properties as it is and Java reads it back unchanged, so comparing keys
# as written is comparing them as Kafka reads them.
KEY_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:[._-][a-z0-9]+)*")

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
        "early.start.listeners",
        # The authorizer and its super users arrive with spec.authorization: set by hand they
        # would lock the operator and the nodes out.
        "authorizer.class.name",
        "super.users",
        "log.dirs",
        "log.dir",
        "cordoned.log.dirs",
        "metadata.log.dir",
        "broker.rack",
        # Config providers would let a value read files or the environment of the pod.
        "config.providers",
    }
)
# Prefixes the operator owns: the quorum, per-listener settings, security (set by listeners),
# and config provider parameters.
OWNED_PREFIXES: tuple[str, ...] = (
    "controller.quorum.",
    "listener.name.",
    "advertised.",
    "ssl.",
    "sasl.",
    "config.providers.",
)
# Types whose values kopfka cannot check from a spec: a class name may or may not be in the image,
# and a password does not belong in a resource that every reader of the namespace can see.
UNSUPPORTED_TYPES = {
    "CLASS": "names a Java class, which kopfka cannot check is in the image",
    "PASSWORD": "is a password, which does not belong in a spec",
}

# Text settings that name Java classes (or plugins by short name), with the values built into
# Kafka that kopfka accepts besides Kafka's default; for lists, per item.
PLUGIN_VALUES: dict[str, frozenset[str]] = {
    "group.consumer.assignors": frozenset({"uniform", "range"}),
    "group.share.assignors": frozenset({"simple"}),
    "group.streams.assignors": frozenset({"sticky"}),
    "group.share.dlq.manager.class.name": frozenset(),
    "group.share.persister.class.name": frozenset(),
    "kafka.metrics.reporters": frozenset(),
    "metric.reporters": frozenset({"org.apache.kafka.common.metrics.JmxReporter"}),
    "remote.log.metadata.manager.class.name": frozenset(),
    "remote.log.metadata.manager.class.path": frozenset(),
    "remote.log.storage.manager.class.name": frozenset(),
    "remote.log.storage.manager.class.path": frozenset(),
    "replica.selector.class": frozenset(
        {"org.apache.kafka.common.replica.RackAwareReplicaSelector"}
    ),
}

# Replication settings whose Kafka defaults (3) would make a smaller cluster unusable.
REPLICATION_KEYS: tuple[str, ...] = (
    "default.replication.factor",
    "offsets.topic.replication.factor",
    "transaction.state.log.replication.factor",
    "share.coordinator.state.topic.replication.factor",
)
# Each minimum in-sync replica count and the replication factor of the topics it governs.
MIN_ISR_KEYS: dict[str, tuple[str, ...]] = {
    "min.insync.replicas": ("default.replication.factor", "offsets.topic.replication.factor"),
    "transaction.state.log.min.isr": ("transaction.state.log.replication.factor",),
    "share.coordinator.state.topic.min.isr": ("share.coordinator.state.topic.replication.factor",),
}


def is_owned(key: str) -> bool:
    return key in OWNED_KEYS or key.startswith(OWNED_PREFIXES)


@functools.cache
def _table(version: str) -> Mapping[str, Mapping[str, Setting]]:
    path = resources.files("kopfka.model").joinpath("kafka_configs", f"{version}.json")
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {
        scope: {
            name: Setting(
                name=name,
                type=entry["type"],
                validator=entry.get("validator"),
                default=entry.get("default"),
                dynamic=entry.get("dynamic", "read-only"),
                server_default=entry.get("serverDefault"),
            )
            for name, entry in raw[scope].items()
        }
        for scope in ("server", "topic")
    }


def server_settings(version: str) -> Mapping[str, Setting]:
    """Kafka's broker and controller settings (KafkaConfig) of `version`."""
    return _table(version)["server"]


def topic_settings(version: str) -> Mapping[str, Setting]:
    """Kafka's topic-level settings (LogConfig) of `version`."""
    return _table(version)["topic"]


def is_dynamic(version: str, key: str) -> bool:
    """Kafka applies a cluster-wide change of this setting without a restart."""
    setting = server_settings(version).get(key)
    return setting is not None and setting.dynamic == "cluster-wide"


def check_setting(
    settings: Mapping[str, Setting], version: str, key: str, value: str
) -> str | None:
    """Why Kafka `version` would refuse `key=value` (a phrase after the key), or None."""
    if not KEY_PATTERN.fullmatch(key):
        return (
            "is not a Kafka setting name (lowercase letters and digits in words joined by "
            "'.', '_' or '-')"
        )
    setting = settings.get(key)
    if setting is None:
        return f"is not a setting of Kafka {version}"
    if setting.type in UNSUPPORTED_TYPES:
        return UNSUPPORTED_TYPES[setting.type]
    if key in PLUGIN_VALUES:
        return _check_plugins(setting, PLUGIN_VALUES[key], value)
    if any(0xD800 <= ord(char) <= 0xDFFF for char in value):
        return "contains a lone UTF-16 surrogate, which is not text"
    return check_value(setting, value)


def _check_plugins(setting: Setting, built_in: frozenset[str], value: str) -> str | None:
    """Only Kafka's own classes: kopfka cannot check that a plugin is in the image."""
    allowed = built_in | {setting.default or ""}
    items = java_list(value) if setting.type == "LIST" else [java_trim(value)]
    wrong = [item for item in items if item not in allowed]
    if not wrong:
        return check_value(setting, value)
    choices = ", ".join(sorted(item or "(empty)" for item in allowed))
    return (
        f"names plugins ({', '.join(wrong)}); kopfka accepts only those built into Kafka, which "
        f"it can check are in the image: {choices}"
    )


def replication_defaults(version: str, brokers: int) -> dict[str, str]:
    """Defaults that keep internal topics creatable and writes safe for the cluster's size."""
    factor = min(3, brokers)
    defaults = {
        **dict.fromkeys(REPLICATION_KEYS, str(factor)),
        **dict.fromkeys(MIN_ISR_KEYS, str(max(1, factor - 1))),
    }
    known = server_settings(version)
    return {key: value for key, value in defaults.items() if key in known}


def format_value(value: object) -> str:
    """How a YAML scalar is written in server.properties (YAML booleans become true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
