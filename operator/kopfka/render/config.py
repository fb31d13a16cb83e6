"""Kafka's own configuration files for each role: server.properties and log4j2.yaml.

The files are the same for every pod of a role; the few per-pod values are `${...}` tokens that the
broker image's entrypoint fills in (node id, pod name, bind address, rack). See
docs/broker-image.md for that contract.

Each revision of the files that needs a restart gets its own ConfigMap, named by a hash of what
it holds: a pod mounts the revision it was made with, so a container that restarts (a crash, an
OOM kill) reads the config that matches its pod spec, never the next one. Settings Kafka can apply
live change their revision's ConfigMap in place (they are not pushed to running brokers yet,
which read them at their next start). Old revisions are deleted once no pod mounts them
(reconcile.py).
"""

from __future__ import annotations

from typing import Any

import jinja2

from kopfka.model import jvm, kafka_config, names, schema
from kopfka.model.cluster import ClusterSpec, Pool
from kopfka.model.hashing import stable_hash
from kopfka.model.names import Role
from kopfka.render import meta
from kopfka.render.properties import escape_value

DATA_MOUNT = "/var/lib/kafka"
CONFIG_MOUNT = "/etc/kopfka/config"
# Where a broker finds its TLS key store (the Secret names.broker_tls_secret_name): the
# entrypoint fills in ${KOPFKA_TLS_DIR} (this path in pods; local test processes set their own).
TLS_MOUNT = "/etc/kopfka/tls"
LOG_DIRS = f"{DATA_MOUNT}/data"

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("kopfka.render", "templates"),
    # The templates are part of the package and never change while it runs: no file checks at
    # every render (they were 3% of the operator's CPU at 200 clusters).
    auto_reload=False,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,
)


def voters(spec: ClusterSpec) -> str:
    """controller.quorum.voters: every controller's id@host:port, fixed for the cluster's life."""
    pool = spec.controller_pool
    return ",".join(
        f"{pool.node_id(ordinal)}@"
        f"{names.pod_host(spec.name, spec.namespace, pool.role, ordinal)}:{schema.CONTROLLER_PORT}"
        for ordinal in range(pool.replicas)
    )


def _endpoints(spec: ClusterSpec, role: Role) -> list[tuple[str, int]]:
    endpoints: list[tuple[str, int]] = []
    if role.is_controller:
        endpoints.append(("CONTROLLER", schema.CONTROLLER_PORT))
    if role.is_broker:
        endpoints.append(("REPLICATION", schema.REPLICATION_PORT))
        endpoints.extend((listener.kafka_name, listener.port) for listener in spec.listeners)
    return endpoints


# The login module of SCRAM listeners: brokers check client logins against the credentials
# Kafka keeps in its metadata (KafkaUser; AlterUserScramCredentials), so it needs no options.
SCRAM_LOGIN_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
SCRAM_MECHANISM = "SCRAM-SHA-512"


INTERNAL_LISTENERS = ("CONTROLLER", "REPLICATION")


def _protocol(spec: ClusterSpec, name: str) -> str:
    """The security protocol of a Kafka listener name: a client listener's own (SSL with tls,
    SASL_ with scram-sha-512); the cluster's own listeners (controller, replication) SSL with
    spec.internalListeners.tls, else plaintext inside the cluster."""
    if name in INTERNAL_LISTENERS:
        return "SSL" if spec.internal_tls else "PLAINTEXT"
    found = next((item for item in spec.listeners if item.kafka_name == name), None)
    return "PLAINTEXT" if found is None else found.security_protocol


def internal_tls_settings(spec: ClusterSpec, role: Role) -> list[tuple[str, str]]:
    """With spec.internalListeners.tls: mutual TLS on the controller and replication listeners.
    Each node presents its own certificate (the file named after its pod) and requires one of a
    CA in names.NODE_TRUST_FILE; Kafka uses the same listener settings when the node is the
    client (a broker connecting to the controllers, a follower fetching from a leader), and
    checks the peer's name against its certificate (Kafka's default, https). Brokers set the
    controller listener too, which they only connect to."""
    if not spec.internal_tls:
        return []
    settings: list[tuple[str, str]] = []
    for name in INTERNAL_LISTENERS if role.is_broker else INTERNAL_LISTENERS[:1]:
        prefix = f"listener.name.{name.lower()}.ssl."
        settings += [
            (f"{prefix}keystore.type", "PEM"),
            (
                f"{prefix}keystore.location",
                "${KOPFKA_TLS_DIR}/" + names.broker_tls_file("${POD_NAME}"),
            ),
            (f"{prefix}truststore.type", "PEM"),
            (f"{prefix}truststore.location", "${KOPFKA_TLS_DIR}/" + names.NODE_TRUST_FILE),
            (f"{prefix}client.auth", "required"),
        ]
    return settings


def sasl_settings(spec: ClusterSpec, role: Role) -> list[tuple[str, str]]:
    """Per-listener SASL settings of the SCRAM listeners: SCRAM-SHA-512 is the only mechanism
    they offer, and its server-side login module (no JAAS file: Kafka reads it per listener)."""
    if not role.is_broker:
        return []
    settings: list[tuple[str, str]] = []
    for listener in spec.listeners:
        if listener.scram:
            prefix = f"listener.name.{listener.name}."
            settings += [
                (f"{prefix}sasl.enabled.mechanisms", SCRAM_MECHANISM),
                (f"{prefix}{SCRAM_MECHANISM.lower()}.sasl.jaas.config", SCRAM_LOGIN_MODULE),
            ]
    return settings


# A client certificate's subject that starts with CN=<name> is the principal User:<name>, as a
# SCRAM login of that name is, so a KafkaUser's ACLs are the same whichever way it logs in; any
# other subject keeps Kafka's default principal (the whole distinguished name). Not lowercased:
# a CN of other case names no KafkaUser.
SSL_PRINCIPAL_MAPPING_RULES = "RULE:^CN=([^,]+)(,.*)?$/$1/,DEFAULT"


def tls_settings(spec: ClusterSpec, role: Role) -> list[tuple[str, str]]:
    """Per-listener key store settings of the TLS listeners: each broker reads its own PEM file
    (key, certificate, CA certificate) from the mounted Secret, named after its pod. Files, not
    inline PEM: server.properties is in a ConfigMap, which is not secret. A listener with
    authentication tls requires a client certificate, trusts only the clients CA (its
    certificates, from the same Secret; never its key) and maps the certificate's CN to the
    user name."""
    if not role.is_broker:
        return []
    settings: list[tuple[str, str]] = []
    for listener in spec.listeners:
        if listener.tls:
            prefix = f"listener.name.{listener.name}.ssl."
            settings += [
                (f"{prefix}keystore.type", "PEM"),
                (
                    f"{prefix}keystore.location",
                    "${KOPFKA_TLS_DIR}/" + names.broker_tls_file("${POD_NAME}"),
                ),
            ]
        if listener.mtls:
            prefix = f"listener.name.{listener.name}.ssl."
            settings += [
                (f"{prefix}client.auth", "required"),
                (f"{prefix}truststore.type", "PEM"),
                (f"{prefix}truststore.location", "${KOPFKA_TLS_DIR}/" + names.CLIENTS_CA_FILE),
                (f"{prefix}principal.mapping.rules", escape_value(SSL_PRINCIPAL_MAPPING_RULES)),
            ]
    return settings


def authorization_settings(spec: ClusterSpec) -> list[tuple[str, str]]:
    """With spec.authorization, on every node: Kafka's ACL authorizer, the broker image's
    principal builder (the internal listeners' connections are schema.INTERNAL_PRINCIPAL), and
    the super users: that principal and the spec's users. Controllers too: they authorize the
    requests brokers forward to them (ACL changes, topic creation)."""
    if spec.authorization is None:
        return []
    users = [f"User:{name}" for name in spec.authorization.super_users]
    return [
        ("authorizer.class.name", schema.AUTHORIZER_CLASS),
        ("principal.builder.class", schema.PRINCIPAL_BUILDER_CLASS),
        ("super.users", ";".join([schema.INTERNAL_PRINCIPAL, *users])),
    ]


def container_ports(spec: ClusterSpec, role: Role) -> list[tuple[str, int]]:
    """(port name, number) of every port a node of this role listens on: its Kafka listeners,
    the probe agent's, and with metrics on the JMX exporter's (the pod and the headless Service
    name them all)."""
    ports = [(name.lower()[:15], port) for name, port in _endpoints(spec, role)]
    ports.append(("probes", schema.PROBE_PORT))
    if spec.metrics.enabled:
        ports.append(("metrics", schema.METRICS_PORT))
    return ports


# Kafka's log cleaner holds one dedupe buffer of this size (128 MiB unless set) and allocates a
# new one whenever it restarts, which Kafka does on a live change of message.max.bytes or any
# cleaner setting. In a small heap that one large allocation can fail and stop the broker
# (OutOfMemoryError), so kopfka sizes it to the heap unless spec.kafka.config sets it.
DEDUPE_BUFFER_KEY = "log.cleaner.dedupe.buffer.size"
KAFKA_DEDUPE_BUFFER_BYTES = 128 * 2**20
DEDUPE_BUFFER_HEAP_SHARE = 8


def heap_settings(spec: ClusterSpec, pool: Pool) -> list[tuple[str, str]]:
    """Settings sized to the pool's heap: the log cleaner's dedupe buffer on brokers, an eighth
    of the heap when that is below Kafka's own 128 MiB."""
    if not pool.role.is_broker or DEDUPE_BUFFER_KEY in spec.config:
        return []
    heap_mib = jvm.effective_heap(pool.heap_mib, pool.jvm_options).max_mib
    share = heap_mib * 2**20 // DEDUPE_BUFFER_HEAP_SHARE
    # Kafka's own value is left to Kafka, so heaps of 1 GiB and up render nothing new.
    return [(DEDUPE_BUFFER_KEY, str(share))] if share < KAFKA_DEDUPE_BUFFER_BYTES else []


def server_properties(spec: ClusterSpec, pool: Pool, *, dynamic: bool = True) -> str:
    """server.properties of a role; `dynamic=False` leaves out settings Kafka applies live."""
    endpoints = _endpoints(spec, pool.role)
    host = f"${{POD_NAME}}.{names.pool_name(spec.name, pool.role)}.{spec.namespace}.svc"
    config = sorted(
        (key, escape_value(value))
        for key, value in spec.config.items()
        if dynamic or not kafka_config.is_dynamic(spec.version, key)
    )
    context: dict[str, Any] = {
        "cluster": spec.name,
        "role": pool.role.value,
        "process_roles": pool.role.process_roles,
        "voters": voters(spec),
        "listeners": ",".join(
            f"{name}://${{KOPFKA_BIND_ADDRESS}}:{port}" for name, port in endpoints
        ),
        "advertised_listeners": ",".join(f"{name}://{host}:{port}" for name, port in endpoints),
        # Brokers reach the controllers too, so every role maps the CONTROLLER listener.
        "protocol_map": ",".join(
            f"{name}:{_protocol(spec, name)}"
            for name in dict.fromkeys(["CONTROLLER", *(n for n, _ in endpoints)])
        ),
        "listener_settings": (
            internal_tls_settings(spec, pool.role)
            + tls_settings(spec, pool.role)
            + sasl_settings(spec, pool.role)
        ),
        "authorization_settings": authorization_settings(spec),
        "is_broker": pool.role.is_broker,
        "log_dirs": LOG_DIRS,
        "rack": spec.rack_topology_key is not None and pool.role.is_broker,
        "heap_settings": heap_settings(spec, pool),
        "config": config,
    }
    return _templates.get_template("server.properties.j2").render(context)


def log4j2_yaml() -> str:
    return _templates.get_template("log4j2.yaml.j2").render(root_level="INFO")


def config_revision(spec: ClusterSpec, pool: Pool) -> str:
    """Names a pool's config files, except the settings Kafka applies live (10 hex digits)."""
    return stable_hash(server_properties(spec, pool, dynamic=False), log4j2_yaml())[:10]


def config_map_name(spec: ClusterSpec, pool: Pool) -> str:
    return names.config_map_name(spec.name, pool.role, config_revision(spec, pool))


def config_map(spec: ClusterSpec, pool: Pool) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta.object_meta(
            spec, config_map_name(spec, pool), meta.pool_labels(spec, pool)
        ),
        "data": {
            "server.properties": server_properties(spec, pool),
            "log4j2.yaml": log4j2_yaml(),
        },
    }
