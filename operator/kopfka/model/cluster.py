"""A KafkaCluster spec as typed, defaulted, validated objects.

`parse_cluster` turns what the API server stores into a `ClusterSpec` or raises `SpecError` with
every problem the CRD schema cannot express (cross-object arithmetic such as replication factors
against the broker count, or heap against the memory limit).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any

from kopfka.model import (
    jvm,
    kafka_config,
    kafka_rules,
    kubernetes_names,
    names,
    schema,
    validation,
)
from kopfka.model.defaults import apply_defaults
from kopfka.model.errors import SpecError
from kopfka.model.names import Role
from kopfka.model.network_policy import NetworkPolicy, parse_network_policy
from kopfka.model.quantity import QuantityError, mebibytes, parse_quantity, whole_bytes

DEFAULT_IMAGE_REPOSITORY = "kopfka/kafka"
DEFAULT_HEAP = {Role.CONTROLLER: "512Mi", Role.BROKER: "1Gi", Role.COMBINED: "1Gi"}


@dataclass(frozen=True)
class Storage:
    type: str
    size: str | None
    storage_class: str | None
    size_limit: str | None
    delete_claim: bool

    @property
    def persistent(self) -> bool:
        return self.type == "persistent-claim"


@dataclass(frozen=True)
class Pool:
    """The nodes of one role: one StatefulSet."""

    role: Role
    replicas: int
    resources: Mapping[str, Mapping[str, str]]
    storage: Storage
    heap_mib: int
    jvm_options: tuple[str, ...]

    def node_id(self, ordinal: int) -> int:
        return self.role.node_id_base + ordinal

    @property
    def node_ids(self) -> tuple[int, ...]:
        return tuple(self.node_id(ordinal) for ordinal in range(self.replicas))


@dataclass(frozen=True)
class Listener:
    name: str
    port: int
    type: str
    tls: bool
    authentication: str

    @property
    def kafka_name(self) -> str:
        return self.name.upper()

    @property
    def scram(self) -> bool:
        return self.authentication == schema.SCRAM_SHA_512

    @property
    def mtls(self) -> bool:
        """Clients present a certificate of the clients CA (ssl.client.auth=required)."""
        return self.authentication == schema.TLS_AUTHENTICATION

    @property
    def security_protocol(self) -> str:
        """Kafka's security protocol for the listener: TLS or not, SASL or not."""
        if self.scram:
            return "SASL_SSL" if self.tls else "SASL_PLAINTEXT"
        return "SSL" if self.tls else "PLAINTEXT"


@dataclass(frozen=True)
class Lifetime:
    """How long a certificate is valid, and how long before its end a new one is issued."""

    validity_days: int
    renewal_days: int


@dataclass(frozen=True)
class IssuerRef:
    """A cert-manager issuer (spec.clusterCa.certManager.issuerRef)."""

    name: str
    kind: str
    group: str


@dataclass(frozen=True)
class ClusterCa:
    """A CA of the cluster: the user's Secret, or (None) one kopfka makes. The cluster CA
    (spec.clusterCa) issues the brokers' TLS certificates; the clients CA (spec.clientsCa) the
    client certificates the listeners with authentication tls accept."""

    secret_name: str | None
    lifetime: Lifetime
    # spec.clusterCa.certManager: cert-manager issues the nodes' certificates from this issuer.
    cert_manager: IssuerRef | None = None


@dataclass(frozen=True)
class Metrics:
    """The Prometheus JMX exporter of every Kafka node: on or off, and the user's extra rules
    (exporter syntax, as the API server stored them) that go before kopfka's own."""

    enabled: bool
    rules: tuple[Mapping[str, Any], ...]
    # ObjectName patterns of the MBeans the user's rules read, besides those kopfka's read.
    include_object_names: tuple[str, ...]


@dataclass(frozen=True)
class Rebalance:
    """How a rebalance Job moves replicas: partitions reassigned at once, and the replication
    throttle (per broker, leader and follower side) that keeps the moves from taking over the
    network clients need. Read when a rebalance Job starts; changing them restarts nothing."""

    throttle_bytes_per_second: int
    wave_size: int


@dataclass(frozen=True)
class PodTemplate:
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    affinity: Mapping[str, Any]
    tolerations: tuple[Mapping[str, Any], ...]
    node_selector: Mapping[str, str]
    priority_class_name: str | None
    topology_spread_constraints: tuple[Mapping[str, Any], ...]
    image_pull_secrets: tuple[str, ...]


@dataclass(frozen=True)
class Authorization:
    super_users: tuple[str, ...]


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    namespace: str
    mode: str
    version: str
    image: str
    image_pull_policy: str
    user_config: Mapping[str, str]
    # The operator's size-aware settings (replication factors, minimum ISRs), chosen from the
    # broker count when the cluster was made and kept since (status.sizeDefaults).
    size_defaults: Mapping[str, str]
    pools: tuple[Pool, ...]
    listeners: tuple[Listener, ...]
    rack_topology_key: str | None
    # Rolling restarts take the brokers of one rack at once (when Kafka's ISRs allow it).
    roll_by_rack: bool
    metrics: Metrics
    rebalance: Rebalance
    template: PodTemplate
    cluster_ca: ClusterCa
    broker_certificates: Lifetime
    network_policy: NetworkPolicy
    clients_ca: ClusterCa
    user_certificates: Lifetime
    # spec.authorization: Kafka's ACL authorizer is on, with these super users (user names)
    # besides the internal listeners' principal; None: off.
    authorization: Authorization | None = None
    # spec.internalListeners.tls: mutual TLS on the controller and replication listeners.
    internal_tls: bool = False

    @property
    def tls(self) -> bool:
        """Some client listener is encrypted: the brokers serve it with their certificates."""
        return any(listener.tls for listener in self.listeners)

    @property
    def needs_certificates(self) -> bool:
        """The cluster needs its CA and node certificates: some client listener is encrypted,
        or the internal listeners are (then every node, controllers too, has a certificate, and
        the operator one of its own)."""
        return self.tls or self.internal_tls

    @property
    def mtls(self) -> bool:
        """Some client listener wants client certificates: the cluster needs its clients CA."""
        return any(listener.mtls for listener in self.listeners)

    @property
    def controller_pool(self) -> Pool:
        return next(pool for pool in self.pools if pool.role.is_controller)

    @property
    def broker_pool(self) -> Pool:
        return next(pool for pool in self.pools if pool.role.is_broker)

    @property
    def broker_count(self) -> int:
        return self.broker_pool.replicas

    @property
    def config(self) -> dict[str, str]:
        """Broker settings: the operator's size-aware defaults under the user's own."""
        return {**self.size_defaults, **self.user_config}

    @property
    def bootstrap_servers(self) -> str:
        """Where clients start: the bootstrap Service on the first listener (status)."""
        return names.bootstrap_address(self.name, self.namespace, self.listeners[0].port)

    @property
    def operator_bootstrap(self) -> str:
        """Where the operator and its Jobs reach Kafka (docs/security.md)."""
        pool = self.broker_pool
        return operator_bootstrap(
            self.name,
            self.namespace,
            self.listeners,
            role=pool.role,
            replicas=pool.replicas,
            authorization=self.authorization is not None,
            internal_tls=self.internal_tls,
        )


# Broker addresses the operator bootstraps from when it uses the replication listener.
_OPERATOR_BOOTSTRAP_BROKERS = 3


def operator_bootstrap(
    cluster: str,
    namespace: str,
    listeners: Sequence[Listener],
    *,
    role: Role,
    replicas: int,
    authorization: bool,
    internal_tls: bool,
) -> str:
    """Through the bootstrap Service on the first client listener without TLS or authentication,
    in plaintext; to the first brokers' own addresses on the internal replication listener
    (which Kafka advertises under the same names, and whose connections are the super user
    schema.INTERNAL_PRINCIPAL under authorization) when every client listener has TLS or
    authentication, when the cluster authorizes (a plaintext client is User:ANONYMOUS there,
    which ACLs govern), or when the internal listeners have TLS (then with the operator's own
    certificate: kafka/tls.py). Never plaintext to a TLS port, and never unauthenticated to a
    SCRAM one."""
    plain = next(
        (listener for listener in listeners if listener.security_protocol == "PLAINTEXT"), None
    )
    if plain is not None and not authorization and not internal_tls:
        return names.bootstrap_address(cluster, namespace, plain.port)
    return ",".join(
        f"{names.pod_host(cluster, namespace, role, ordinal)}:{schema.REPLICATION_PORT}"
        for ordinal in range(min(replicas, _OPERATOR_BOOTSTRAP_BROKERS))
    )


def internal_tls_of(spec: Mapping[str, Any]) -> bool:
    """spec.internalListeners.tls of a KafkaCluster's spec as the API server stores it."""
    return bool((spec.get("internalListeners") or {}).get("tls", False))


def operator_bootstrap_of(name: str, namespace: str, spec: Mapping[str, Any]) -> str:
    """`operator_bootstrap` of a KafkaCluster's spec as the API server stores it (its defaults
    filled in), without parsing the whole spec: for periodic work that only needs the address."""
    combined = spec.get("mode") == "combined"
    pool = spec.get("controllers" if combined else "brokers") or {}
    listeners = [
        Listener(
            name=str(item.get("name", "")),
            port=int(item.get("port", 0)),
            type=str(item.get("type", "internal")),
            tls=bool(item.get("tls", False)),
            authentication=str((item.get("authentication") or {}).get("type", "none")),
        )
        for item in spec.get("listeners") or _DEFAULT_LISTENERS
    ]
    return operator_bootstrap(
        name,
        namespace,
        listeners,
        role=Role.COMBINED if combined else Role.BROKER,
        replicas=int(pool.get("replicas", 3)),
        authorization=spec.get("authorization") is not None,
        internal_tls=internal_tls_of(spec),
    )


_DEFAULT_LISTENERS = schema.cluster_spec()["properties"]["listeners"]["default"]


def parse_cluster(
    name: str,
    namespace: str,
    spec: Mapping[str, Any],
    *,
    size_defaults: Mapping[str, str] | None = None,
) -> ClusterSpec:
    """Default and validate a KafkaCluster spec; raises SpecError listing every problem.

    First the shape, as the API server checks it (so a spec that never passed admission, or a
    field the schema leaves free, cannot reach the code below in a shape it does not expect);
    then everything the schema cannot say. `size_defaults` are the settings the operator chose
    from the broker count when the cluster was made (status.sizeDefaults): a running cluster keeps
    them when its broker count changes; without them they follow the broker count.
    """
    shape = schema.cluster_spec()
    raw = apply_defaults(dict(spec), shape)
    problems = validation.check(raw, shape, "spec")
    name_problem = names.cluster_name_problem(name)
    if name_problem:
        problems.append(name_problem)
    if problems:
        raise SpecError(problems)
    kafka = raw["kafka"]
    user_config = _user_config(kafka["version"], kafka.get("config") or {}, problems)
    combined = raw["mode"] == "combined"
    pools = [_pool(Role.COMBINED if combined else Role.CONTROLLER, raw["controllers"], problems)]
    if not combined:
        if "brokers" not in raw:
            problems.append("spec.brokers is required in dedicated mode")
        else:
            pools.append(_pool(Role.BROKER, raw["brokers"], problems))
    elif "brokers" in raw:
        problems.append("spec.brokers must not be set in combined mode")
    listeners = tuple(_listener(item, problems) for item in raw["listeners"])
    _check_listeners(listeners, problems)
    defaults: dict[str, str] = {}
    if pools and any(pool.role.is_broker for pool in pools):
        brokers = next(pool for pool in pools if pool.role.is_broker).replicas
        chosen = kafka_config.replication_defaults(kafka["version"], brokers)
        recorded = {k: v for k, v in (size_defaults or {}).items() if k in chosen}
        defaults = {**chosen, **recorded}
        effective = {**defaults, **user_config}
        _check_replication(effective, brokers, problems, chosen=defaults.keys() - user_config)
        problems.extend(
            f"spec.kafka.config.{problem}"
            for problem in kafka_rules.server_problems(kafka["version"], effective)
        )
    metrics = _metrics(raw["metrics"], problems)
    rebalance = _rebalance(raw["rebalance"], problems)
    template = _template((raw.get("template") or {}).get("pod") or {}, problems)
    cert_manager = raw["clusterCa"].get("certManager")
    issuer = cert_manager and cert_manager["issuerRef"]
    if issuer and raw["clusterCa"].get("secretName"):
        problems.append(f"spec.clusterCa: {schema.CERT_MANAGER_RULE_MESSAGE}")
    cluster_ca = ClusterCa(
        secret_name=raw["clusterCa"].get("secretName"),
        lifetime=_lifetime(raw["clusterCa"], "spec.clusterCa", problems),
        cert_manager=IssuerRef(name=issuer["name"], kind=issuer["kind"], group=issuer["group"])
        if issuer
        else None,
    )
    broker_certificates = _lifetime(raw["brokerCertificates"], "spec.brokerCertificates", problems)
    network_policy = parse_network_policy(raw["networkPolicy"], problems)
    clients_ca = ClusterCa(
        secret_name=raw["clientsCa"].get("secretName"),
        lifetime=_lifetime(raw["clientsCa"], "spec.clientsCa", problems),
    )
    user_certificates = _lifetime(raw["userCertificates"], "spec.userCertificates", problems)
    if problems:
        raise SpecError(problems)
    return ClusterSpec(
        name=name,
        namespace=namespace,
        mode=raw["mode"],
        version=kafka["version"],
        image=kafka.get("image") or f"{DEFAULT_IMAGE_REPOSITORY}:{kafka['version']}",
        image_pull_policy=kafka["imagePullPolicy"],
        user_config=user_config,
        size_defaults=defaults,
        pools=tuple(pools),
        listeners=listeners,
        rack_topology_key=(raw.get("rack") or {}).get("topologyKey"),
        roll_by_rack=bool((raw.get("rack") or {}).get("rollByRack", False)),
        metrics=metrics,
        rebalance=rebalance,
        template=template,
        cluster_ca=cluster_ca,
        broker_certificates=broker_certificates,
        network_policy=network_policy,
        clients_ca=clients_ca,
        user_certificates=user_certificates,
        authorization=(
            None
            if raw.get("authorization") is None
            else Authorization(tuple(raw["authorization"].get("superUsers") or ()))
        ),
        internal_tls=bool(raw["internalListeners"]["tls"]),
    )


def _lifetime(raw: Mapping[str, Any], field: str, problems: list[str]) -> Lifetime:
    lifetime = Lifetime(
        validity_days=int(raw["validityDays"]), renewal_days=int(raw["renewalDays"])
    )
    if lifetime.renewal_days >= lifetime.validity_days:
        problems.append(f"{field}: {schema.RENEWAL_RULE_MESSAGE}")
    return lifetime


def _user_config(version: str, config: Mapping[str, Any], problems: list[str]) -> dict[str, str]:
    settings = kafka_config.server_settings(version)
    result: dict[str, str] = {}
    for key, value in sorted(config.items()):
        if kafka_config.is_owned(key):
            problems.append(
                f"spec.kafka.config.{key} is set by the operator and cannot be configured"
            )
            continue
        if isinstance(value, dict | list) or value is None:
            problems.append(f"spec.kafka.config.{key} must be a string, number or boolean")
            continue
        text = kafka_config.format_value(value)
        problem = kafka_config.check_setting(settings, version, key, text)
        if problem:
            problems.append(f"spec.kafka.config.{key} {problem}")
        else:
            result[key] = text
    return result


def _pool(role: Role, raw: Mapping[str, Any], problems: list[str]) -> Pool:
    field = "spec.controllers" if role.is_controller else "spec.brokers"
    resources = {
        kind: {
            resource: str(amount)
            for resource, amount in (raw.get("resources") or {}).get(kind, {}).items()
        }
        for kind in ("requests", "limits")
        if (raw.get("resources") or {}).get(kind)
    }
    _check_resources(field, resources, problems)
    storage_raw = raw["storage"]
    for size_field in ("size", "sizeLimit"):
        if storage_raw.get(size_field) is not None:
            _, problem = whole_bytes(storage_raw[size_field], f"{field}.storage.{size_field}")
            if problem:
                problems.append(problem)
    storage = Storage(
        type=storage_raw["type"],
        size=_opt_str(storage_raw.get("size")),
        storage_class=storage_raw.get("class"),
        size_limit=_opt_str(storage_raw.get("sizeLimit")),
        delete_claim=bool(storage_raw.get("deleteClaim", False)),
    )
    if storage.persistent and storage.size is None:
        problems.append(f"{field}.storage.size is required for persistent-claim storage")
    jvm_raw = raw.get("jvm") or {}
    options = tuple(jvm_raw.get("options") or ())
    for index, option in enumerate(options):
        problem = jvm.check_option(option)
        if problem:
            problems.append(f"{field}.jvm.options[{index}] {option!r} {problem}")
    heap_mib = _heap_mib(
        field,
        role,
        heap=jvm_raw.get("heap"),
        options=options,
        resources=resources,
        problems=problems,
    )
    return Pool(
        role=role,
        replicas=int(raw["replicas"]),
        resources=resources,
        storage=storage,
        heap_mib=heap_mib,
        jvm_options=options,
    )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _check_resources(
    field: str, resources: Mapping[str, Mapping[str, str]], problems: list[str]
) -> None:
    requests, limits = resources.get("requests", {}), resources.get("limits", {})
    for kind, amounts in resources.items():
        for resource, amount in amounts.items():
            if resource not in schema.RESOURCE_NAMES:
                problems.append(
                    f"{field}.resources.{kind}.{resource}: resources are "
                    + ", ".join(schema.RESOURCE_NAMES)
                )
                return
            try:
                negative = parse_quantity(amount) < 0
            except QuantityError as error:
                problems.append(f"{field}.resources.{kind}.{resource}: {error}")
                return
            if negative:
                problems.append(
                    f"{field}.resources.{kind}.{resource} {amount} must not be negative"
                )
                return
    for resource, request in requests.items():
        limit = limits.get(resource)
        if limit is not None and parse_quantity(request) > parse_quantity(limit):
            problems.append(
                f"{field}.resources.requests.{resource} {request} exceeds the limit {limit}"
            )


def _heap_mib(
    field: str,
    role: Role,
    *,
    heap: Any,
    options: tuple[str, ...],
    resources: Mapping[str, Mapping[str, str]],
    problems: list[str],
) -> int:
    """jvm.heap in MiB (defaulted); checks the heap the JVM will really get against the limit."""
    memory_limit = resources.get("limits", {}).get("memory")
    try:
        limit_mib = mebibytes(memory_limit) if memory_limit is not None else None
    except QuantityError:
        limit_mib = None  # reported with the other resources
    if heap is None:
        heap_mib = mebibytes(DEFAULT_HEAP[role]) if limit_mib is None else limit_mib // 2
    else:
        size, problem = whole_bytes(heap, f"{field}.jvm.heap")
        if size is None:
            problems.append(str(problem))
            return 0
        heap_mib = size // 2**20
    effective = jvm.effective_heap(heap_mib, options)
    where = "jvm.heap" if effective.max_mib == heap_mib else "-Xmx in jvm.options"
    if effective.max_mib < jvm.MIN_HEAP_MIB:
        problems.append(
            f"{field}: the heap ({where}, {effective.max_mib}Mi) is below the "
            f"{jvm.MIN_HEAP_MIB}Mi Kafka needs to start"
        )
    if effective.initial_mib > effective.max_mib:
        problems.append(
            f"{field}: the initial heap ({effective.initial_mib}Mi) exceeds the maximum heap "
            f"({effective.max_mib}Mi); the JVM would not start"
        )
    if limit_mib is not None and effective.max_mib + jvm.NON_HEAP_MIB > limit_mib:
        problems.append(
            f"{field}: the heap ({where}, {effective.max_mib}Mi) must leave "
            f"{jvm.NON_HEAP_MIB}Mi of resources.limits.memory {memory_limit} for the JVM "
            "outside the heap"
        )
    return heap_mib


def _listener(raw: Mapping[str, Any], problems: list[str]) -> Listener:
    listener = Listener(
        name=str(raw["name"]),
        port=int(raw["port"]),
        type=str(raw["type"]),
        tls=bool(raw["tls"]),
        authentication=str((raw.get("authentication") or {}).get("type", "none")),
    )
    if listener.mtls and not listener.tls:
        problems.append(f"listener {listener.name}: {schema.MTLS_NEEDS_TLS}")
    return listener


def _check_listeners(listeners: tuple[Listener, ...], problems: list[str]) -> None:
    reserved = set(schema.RESERVED_PORTS)
    seen_names: set[str] = set()
    seen_ports: set[int] = set()
    for listener in listeners:
        if listener.name in schema.RESERVED_LISTENER_NAMES:
            problems.append(f"listener name {listener.name} is used by the operator")
        if listener.port in reserved:
            problems.append(
                f"listener {listener.name}: port {listener.port} is used by the operator"
            )
        if listener.name in seen_names:
            problems.append(f"listener name {listener.name} is used twice")
        if listener.port in seen_ports:
            problems.append(f"listener port {listener.port} is used twice")
        seen_names.add(listener.name)
        seen_ports.add(listener.port)


# Regular expression syntax that Python's re reads but Java's Pattern reads differently or
# refuses: named groups in Python's spelling, inline comments, and {,n} quantifiers.
_JAVA_INCOMPATIBLE = re.compile(r"\(\?P|\(\?#|\{,")
_LABEL_NAME = re.compile(r"[a-zA-Z_$][a-zA-Z0-9_$]*")


def _metrics(raw: Mapping[str, Any], problems: list[str]) -> Metrics:
    """The exporter settings. A pattern Java cannot compile would stop the exporter at the next
    start of a node, and with it the JVM: patterns are checked here, conservatively, since the
    exporter refuses a bad file only when it reloads one."""
    rules = tuple(dict(item) for item in raw.get("rules") or ())
    for index, item in enumerate(rules):
        field = f"spec.metrics.rules[{index}]"
        pattern = str(item["pattern"])
        try:
            re.compile(pattern)
        except re.error as error:
            problems.append(f"{field}.pattern {pattern!r} is not a regular expression: {error}")
        else:
            if _JAVA_INCOMPATIBLE.search(pattern):
                problems.append(
                    f"{field}.pattern {pattern!r} uses (?P, (?# or {{,n}}, which Java's regular "
                    "expressions read differently"
                )
        if ("help" in item or "labels" in item) and "name" not in item:
            problems.append(f"{field}: a rule with help or labels needs a name")
        problems.extend(
            f"{field}.labels.{label} is not a label name (letters, digits, _ and $1...)"
            for label in item.get("labels") or {}
            if not _LABEL_NAME.fullmatch(label)
        )
    return Metrics(
        enabled=bool(raw["enabled"]),
        rules=rules,
        include_object_names=tuple(raw.get("includeObjectNames") or ()),
    )


def _rebalance(raw: Mapping[str, Any], problems: list[str]) -> Rebalance:
    """The schema bounds waveSize; a throttle of 0 (or below) would never let a moved replica
    catch up, and Kafka's throttled rate is a whole number of bytes."""
    throttle, problem = whole_bytes(raw["throttle"], "spec.rebalance.throttle")
    if problem:
        problems.append(problem)
    return Rebalance(throttle_bytes_per_second=throttle or 0, wave_size=int(raw["waveSize"]))


def _check_replication(
    config: Mapping[str, str], brokers: int, problems: list[str], *, chosen: Set[str]
) -> None:
    """Replication factors fit the brokers; a minimum in-sync count above the factor it governs
    makes every acks=all write (for internal topics: offset commits, transactions) fail."""
    factors: dict[str, int] = {}
    for key in (*kafka_config.REPLICATION_KEYS, *kafka_config.MIN_ISR_KEYS):
        try:
            factors[key] = int(config[key])
        except (KeyError, ValueError):
            continue  # not in this Kafka version, or reported by the value check already
    for key in kafka_config.REPLICATION_KEYS:
        if factors.get(key, 0) > brokers:
            why = (
                " (chosen by kopfka when the cluster was made; it does not follow the broker count)"
                if key in chosen
                else ""
            )
            problems.append(
                f"spec.kafka.config.{key} is {factors[key]}{why} but the cluster has "
                f"{brokers} broker{'s' if brokers != 1 else ''}"
            )
    for minimum, governed in kafka_config.MIN_ISR_KEYS.items():
        for factor in governed:
            low, high = factors.get(minimum), factors.get(factor)
            if low is not None and high is not None and low > high:
                problems.append(
                    f"spec.kafka.config.{minimum} ({low}) exceeds {factor} ({high}): "
                    "acks=all writes would always fail"
                )


def _template(raw: Mapping[str, Any], problems: list[str]) -> PodTemplate:
    metadata = raw.get("metadata") or {}
    field = "spec.template.pod"
    reserved = [
        key
        for key in metadata.get("labels") or {}
        if key.startswith(schema.RESERVED_LABEL_PREFIXES)
    ]
    if reserved:
        problems.append(
            f"{field}.metadata.labels {', '.join(reserved)}: labels under "
            f"{' and '.join(schema.RESERVED_LABEL_PREFIXES)} are set by the operator"
        )
    problems.extend(
        kubernetes_names.label_problems(metadata.get("labels") or {}, f"{field}.metadata.labels")
    )
    problems.extend(
        kubernetes_names.annotation_problems(
            metadata.get("annotations") or {}, f"{field}.metadata.annotations"
        )
    )
    problems.extend(
        kubernetes_names.label_problems(raw.get("nodeSelector") or {}, f"{field}.nodeSelector")
    )
    return PodTemplate(
        labels=dict(metadata.get("labels") or {}),
        annotations=dict(metadata.get("annotations") or {}),
        affinity=dict(raw.get("affinity") or {}),
        tolerations=tuple(raw.get("tolerations") or ()),
        node_selector=dict(raw.get("nodeSelector") or {}),
        priority_class_name=raw.get("priorityClassName"),
        topology_spread_constraints=tuple(raw.get("topologySpreadConstraints") or ()),
        image_pull_secrets=tuple(item["name"] for item in raw.get("imagePullSecrets") or ()),
    )
