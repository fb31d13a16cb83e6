"""The OpenAPI schemas of KafkaCluster and KafkaTopic: fields, descriptions, defaults, CEL rules.

This is the single source of the API's shape. `crds.py` wraps it into CustomResourceDefinitions and
`defaults.py` applies its defaults, so the model sees exactly what the API server would store.
"""

from __future__ import annotations

from kopfka.model import k8s_core, kafka_config
from kopfka.model.schema_dsl import (
    Schema,
    array,
    boolean,
    integer,
    obj,
    quantity,
    rule,
    string,
    string_map,
)

RESERVED_LABEL_PREFIXES = ("app.kubernetes.io/", "kopfka.dev/")
CONTROLLER_PORT = 9093
REPLICATION_PORT = 9091
# The Prometheus JMX exporter's own customary port, on every Kafka pod (docs/monitoring.md).
METRICS_PORT = 9404
# The probe agent's HTTP port (GET /ready, /live) on every Kafka pod (docs/broker-image.md).
PROBE_PORT = 9405
# Names of container ports the operator gives every Kafka pod; no listener may take them.
RESERVED_LISTENER_NAMES = ("controller", "replication", "metrics", "probes")
RESERVED_PORTS = (REPLICATION_PORT, CONTROLLER_PORT, METRICS_PORT, PROBE_PORT)
# The exporter's rule fields (io.prometheus.jmx 1.0.1) and metric types.
METRIC_TYPES = ("GAUGE", "COUNTER", "UNTYPED")
MAX_METRICS_RULES = 100
# A JMX ObjectName pattern without quoted values: domain:key=value,... with an optional
# trailing ",*" (or only "*"); wildcards * and ? in the domain and the values.
_OBJECT_NAME_KEY_VALUE = r"[^:,=*?\n\"]+=[^,=:\n\"]+"
OBJECT_NAME_PATTERN = (
    rf"^[^:\n\"]*:(\*|{_OBJECT_NAME_KEY_VALUE}(,{_OBJECT_NAME_KEY_VALUE})*(,\*)?)$"
)
DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
RACK_TOPOLOGY_KEYS = ("topology.kubernetes.io/zone", "topology.kubernetes.io/region")
MAX_REBALANCE_WAVE_SIZE = 1000
# Listener authentication: none, scram-sha-512, or tls (client certificates of the clients CA).
SCRAM_SHA_512 = "scram-sha-512"
TLS_AUTHENTICATION = "tls"
LISTENER_AUTHENTICATIONS = ("none", SCRAM_SHA_512, TLS_AUTHENTICATION)
USER_AUTHENTICATIONS = (SCRAM_SHA_512, TLS_AUTHENTICATION)
MTLS_NEEDS_TLS = (
    "authentication tls (client certificates) needs tls: true on the listener: the client "
    "certificate is checked in the TLS handshake"
)
USER_AUTHENTICATION_IMMUTABLE = (
    "authentication.type cannot change: delete the KafkaUser and make it again with the new "
    "type (its Secret goes with it)"
)
# A user's own password (spec.authentication.password): only SCRAM users have one, and the
# Secret it is read from is not the one kopfka writes (the KafkaUser's name).
USER_PASSWORD_ONLY_SCRAM = "authentication.password is only for type scram-sha-512"
USER_PASSWORD_OWN_SECRET = (
    "authentication.password.valueFrom.secretKeyRef.name must not be the KafkaUser's own name: "
    "kopfka writes the Secret of that name (password and sasl.jaas.config); keep your password "
    "in a Secret of another name"
)
# Secret data keys: what the API server allows (IsConfigMapKey).
SECRET_KEY_PATTERN = r"^[-._a-zA-Z0-9]+$"
# Certificate lifetimes (docs/security.md).
DEFAULT_CA_VALIDITY_DAYS = 1825
DEFAULT_CERTIFICATE_VALIDITY_DAYS = 365
DEFAULT_RENEWAL_DAYS = 30
MAX_VALIDITY_DAYS = 36500


def _kafka_config(description: str) -> Schema:
    return {
        "type": "object",
        "description": description,
        # Values may be strings, numbers or booleans, as people write them in YAML. CEL cannot
        # see the keys of such a free-form map (Kubernetes 1.36), so operator-owned keys are
        # refused by the model with a Ready=False condition instead of at admission.
        "additionalProperties": {"x-kubernetes-preserve-unknown-fields": True},
    }


RESOURCE_NAMES = ("cpu", "memory", "ephemeral-storage")


def _resource_amounts(description: str) -> Schema:
    return string_map(
        description,
        additionalProperties=quantity("A resource quantity."),
        maxProperties=len(RESOURCE_NAMES),
        **{
            "x-kubernetes-validations": [
                rule(
                    "self.all(k, k in " + str(list(RESOURCE_NAMES)) + ")",
                    "resources are " + ", ".join(RESOURCE_NAMES),
                )
            ]
        },
    )


def _resources() -> Schema:
    return obj(
        "Compute resources of the Kafka container (requests and limits of cpu, memory and "
        "ephemeral-storage).",
        {
            "requests": _resource_amounts("Minimum resources, e.g. {cpu: 500m, memory: 2Gi}."),
            "limits": _resource_amounts("Maximum resources, e.g. {memory: 4Gi}."),
        },
    )


def _storage(default_size: str) -> Schema:
    return obj(
        "Where the node keeps its log and metadata. Persistent claims survive pod restarts and are "
        "kept when the cluster is deleted unless deleteClaim is true.",
        {
            "type": string(
                "persistent-claim (a PersistentVolumeClaim per node) or ephemeral (an emptyDir: "
                "data is lost when the pod goes away; for tests and demos).",
                enum=["persistent-claim", "ephemeral"],
                default="persistent-claim",
            ),
            "size": quantity("Size of each node's volume (persistent-claim), e.g. 100Gi."),
            "class": string("StorageClass of the claims; the cluster default when unset."),
            "sizeLimit": quantity("Size limit of the emptyDir (ephemeral)."),
            "deleteClaim": boolean(
                "Delete the claims when the KafkaCluster is deleted. Default false: data is kept.",
                default=False,
            ),
        },
        default={"type": "persistent-claim", "size": default_size},
        rules=[
            rule(
                "self.type != 'persistent-claim' || has(self.size)",
                "persistent-claim storage needs a size",
            ),
            rule(
                "self.type == oldSelf.type",
                "storage type cannot change: the nodes would lose their data",
            ),
            rule(
                "(has(self.size) == has(oldSelf.size)) && "
                "(!has(self.size) || self.size == oldSelf.size)",
                "storage size cannot change yet: volume expansion is not supported",
            ),
            rule(
                "(has(self.class) == has(oldSelf.class)) && "
                "(!has(self.class) || self.class == oldSelf.class)",
                "storage class cannot change: existing volumes would not follow it",
            ),
        ],
    )


def _jvm() -> Schema:
    return obj(
        "JVM settings of the Kafka process.",
        {
            "heap": quantity(
                "Heap size (-Xms and -Xmx). Default: half the memory limit when one is set, "
                "otherwise 512Mi for controllers and 1Gi for brokers."
            ),
            "options": array(
                "Extra JVM options, one per item, e.g. -XX:MaxGCPauseMillis=50 or -Dname=value. "
                "-XX flags must be product flags of the image's JVM; options that take a second "
                "argument, select another garbage collector or load agents are refused.",
                string("One JVM option (one argument to java).", maxLength=1024),
                maxItems=32,
            ),
        },
    )


def _pool(role: str, replicas: Schema, default_size: str) -> Schema:
    return obj(
        f"The {role} nodes.",
        {
            "replicas": replicas,
            "resources": _resources(),
            "storage": _storage(default_size),
            "jvm": _jvm(),
        },
    )


def _listener() -> Schema:
    return obj(
        "A listener clients connect to, inside the Kubernetes cluster. With tls, brokers present "
        "certificates of the cluster CA (spec.clusterCa; docs/security.md); with authentication "
        "tls too, clients present certificates of the clients CA (spec.clientsCa).",
        {
            "name": string(
                "Name of the listener, unique in the cluster (lowercase letters and digits).",
                pattern="^[a-z][a-z0-9]{0,14}$",
            ),
            "port": integer(
                "Port on every broker. "
                + ", ".join(map(str, RESERVED_PORTS))
                + " are used by the operator.",
                minimum=1024,
                maximum=65535,
            ),
            "type": string(
                "internal: reachable inside the Kubernetes cluster through the bootstrap and "
                "per-broker DNS names.",
                enum=["internal"],
                default="internal",
            ),
            "tls": boolean(
                "Encrypt the listener with TLS: each broker presents its own certificate, issued "
                "by the cluster CA for its DNS names; clients trust the CA's ca.crt (Secret "
                "<cluster>-cluster-ca-cert). Changing it restarts the brokers (one at a time).",
                default=False,
            ),
            "authentication": obj(
                "How clients authenticate on this listener.",
                {
                    "type": string(
                        "none; scram-sha-512: clients log in with SASL SCRAM-SHA-512 as a "
                        "KafkaUser (SASL_SSL with tls, else SASL_PLAINTEXT); or tls (with tls: "
                        "true): clients present a certificate of the clients CA (a TLS "
                        "KafkaUser's Secret), whose CN is their user name (docs/security.md).",
                        enum=list(LISTENER_AUTHENTICATIONS),
                        default="none",
                    )
                },
                default={"type": "none"},
            ),
        },
        required=["name", "port"],
        rules=[
            rule(
                "!has(self.authentication) || self.authentication.type != 'tls' || "
                "(has(self.tls) && self.tls)",
                MTLS_NEEDS_TLS,
            ),
            rule(
                f"!(self.name in {list(RESERVED_LISTENER_NAMES)})",
                "listener names "
                + ", ".join(RESERVED_LISTENER_NAMES)
                + " are used by the operator",
            ),
            rule(
                f"!(self.port in {list(RESERVED_PORTS)})",
                "ports " + ", ".join(map(str, RESERVED_PORTS)) + " are used by the operator",
            ),
        ],
    )


def _validity(what: str, *, validity_days: int, renewal_days: int) -> dict[str, Schema]:
    return {
        "validityDays": integer(
            f"Days {what} is valid from when it is issued.",
            minimum=2,
            maximum=MAX_VALIDITY_DAYS,
            default=validity_days,
        ),
        "renewalDays": integer(
            f"Days before {what} expires that kopfka issues a new one (checked at every "
            "reconcile, at least once a minute). Shorter than validityDays.",
            minimum=1,
            maximum=MAX_VALIDITY_DAYS - 1,
            default=renewal_days,
        ),
    }


RENEWAL_RULE_MESSAGE = "renewalDays must be shorter than validityDays"


def _renewal_rule() -> Schema:
    return rule(
        "!has(self.renewalDays) || !has(self.validityDays) || self.renewalDays < self.validityDays",
        RENEWAL_RULE_MESSAGE,
    )


# The principal of the cluster's own listeners (controller, replication) when spec.authorization
# is set: the broker image's principal builder names their plaintext connections so (the
# operator and its Jobs use the replication listener then), and it is a super user. Upper-case
# letters: no KafkaUser or superUsers entry can have this name.
INTERNAL_PRINCIPAL = "User:KOPFKA-INTERNAL"
PRINCIPAL_BUILDER_CLASS = "dev.kopfka.agent.InternalListenerPrincipalBuilder"
AUTHORIZER_CLASS = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
# A Kafka user name kopfka manages: a KafkaUser's name, so a lowercase DNS subdomain.
USER_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"


INTERNAL_TLS_IMMUTABLE = (
    "internalListeners.tls cannot change after creation: the nodes of a running cluster could "
    "not reach each other while they restart one at a time (make a new cluster)"
)


def _internal_listeners() -> Schema:
    return obj(
        "The cluster's own listeners, which are not in listeners: controller (the KRaft quorum, "
        f"port {CONTROLLER_PORT}) and replication (between brokers, port {REPLICATION_PORT}; the "
        "operator and its Jobs use it too). docs/security.md.",
        {
            "tls": boolean(
                "Mutual TLS on both: every node presents a certificate of the cluster CA and "
                "accepts only peers that present one (the operator and its Jobs get their own). "
                "Off by default: inside the cluster's network the nodes are then trusted by "
                "where a connection comes from (spec.networkPolicy). Fixed at creation.",
                default=False,
                **{"x-kubernetes-validations": [rule("self == oldSelf", INTERNAL_TLS_IMMUTABLE)]},
            ),
        },
        default={},
    )


def _authorization() -> Schema:
    return obj(
        "Kafka's ACL authorizer (KRaft's StandardAuthorizer) on every node: a client may do only "
        "what an ACL allows it (KafkaUser spec.authorization.acls); an unauthenticated client of "
        "a plaintext listener is User:ANONYMOUS. The cluster's own listeners (controller, "
        "replication), which the nodes, the operator and its Jobs use, are super users. "
        "Changing it restarts the nodes (one at a time).",
        {
            "type": string(
                "simple: Kafka's ACL authorizer, with ACLs kept in the KRaft metadata.",
                enum=["simple"],
            ),
            "superUsers": array(
                "Users allowed everything whatever the ACLs say (principal User:<name>), e.g. "
                "an administrator's KafkaUser.",
                string("A Kafka user name.", pattern=USER_NAME_PATTERN, maxLength=253),
                maxItems=64,
                **{"x-kubernetes-list-type": "set"},
            ),
        },
        required=["type"],
    )


def _cluster_ca() -> Schema:
    return obj(
        "The certificate authority that issues the brokers' TLS certificates (used only when a "
        "listener has tls). By default kopfka makes one (EC P-256) and keeps it in the Secret "
        "<cluster>-cluster-ca; clients find its certificate in <cluster>-cluster-ca-cert "
        "(ca.crt). docs/security.md.",
        {
            "secretName": string(
                "Your own CA instead: a Secret in this namespace with ca.crt (PEM, a CA "
                "certificate) and ca.key (PEM, its unencrypted private key). kopfka never "
                "changes it; renewing it is yours (a new one restarts the brokers).",
                maxLength=253,
                pattern=DNS_SUBDOMAIN_PATTERN,
            ),
            "certManager": _cert_manager(),
            **_validity(
                "the CA kopfka makes",
                validity_days=DEFAULT_CA_VALIDITY_DAYS,
                renewal_days=DEFAULT_RENEWAL_DAYS,
            ),
        },
        default={},
        rules=[
            _renewal_rule(),
            rule("!has(self.secretName) || !has(self.certManager)", CERT_MANAGER_RULE_MESSAGE),
        ],
    )


CERT_MANAGER_RULE_MESSAGE = (
    "secretName and certManager cannot both be set: the CA is either your Secret's or "
    "cert-manager's issuer's"
)


def _cert_manager() -> Schema:
    return obj(
        "cert-manager issues the nodes' certificates instead of kopfka: one cert-manager.io/v1 "
        "Certificate per node (and for the operator, with internalListeners.tls), from your "
        "issuer, whose CA key kopfka never sees. kopfka copies what cert-manager issued into "
        "the Secret the nodes mount; a renewal restarts them one at a time. The issuer must "
        "put its CA's certificate in ca.crt (CA, Vault and Venafi issuers do; SelfSigned and "
        "ACME do not). brokerCertificates sets the certificates' duration and renewBefore; "
        "validityDays and renewalDays here are not used. docs/security.md.",
        {
            "issuerRef": obj(
                "The cert-manager issuer of the certificates.",
                {
                    "name": string(
                        "Name of the Issuer (in this namespace) or ClusterIssuer.",
                        maxLength=253,
                        pattern=DNS_SUBDOMAIN_PATTERN,
                    ),
                    "kind": string(
                        "Issuer or ClusterIssuer, or another kind of an external issuer's group.",
                        default="Issuer",
                        maxLength=63,
                        pattern="^[A-Z][A-Za-z0-9]*$",
                    ),
                    "group": string(
                        "The issuer's API group.",
                        default="cert-manager.io",
                        maxLength=253,
                        pattern=DNS_SUBDOMAIN_PATTERN,
                    ),
                },
                required=["name"],
            ),
        },
        required=["issuerRef"],
    )


def _clients_ca() -> Schema:
    return obj(
        "The certificate authority whose client certificates the listeners with authentication "
        "tls accept (used only when a listener has it), and which issues TLS KafkaUsers' "
        "certificates. By default kopfka makes one (EC P-256) and keeps it in the Secret "
        "<cluster>-clients-ca; brokers get its certificate only. docs/security.md.",
        {
            "secretName": string(
                "Your own CA instead: a Secret in this namespace with ca.crt (PEM, a CA "
                "certificate) and ca.key (PEM, its unencrypted private key). kopfka never "
                "changes it; renewing it is yours (a new one restarts the brokers and issues "
                "every TLS KafkaUser's certificate again).",
                maxLength=253,
                pattern=DNS_SUBDOMAIN_PATTERN,
            ),
            **_validity(
                "the clients CA kopfka makes",
                validity_days=DEFAULT_CA_VALIDITY_DAYS,
                renewal_days=DEFAULT_RENEWAL_DAYS,
            ),
        },
        default={},
        rules=[_renewal_rule()],
    )


def _broker_certificates() -> Schema:
    return obj(
        "The brokers' TLS certificates, issued by the cluster CA (used only when a listener has "
        "tls). A certificate is issued again when it is within renewalDays of expiring, when the "
        "broker's DNS names change or when the CA changes; the brokers then restart one at a "
        "time to use it.",
        _validity(
            "a broker certificate",
            validity_days=DEFAULT_CERTIFICATE_VALIDITY_DAYS,
            renewal_days=DEFAULT_RENEWAL_DAYS,
        ),
        default={},
        rules=[_renewal_rule()],
    )


def _user_certificates() -> Schema:
    return obj(
        "The client certificates of the cluster's TLS KafkaUsers, issued by the clients CA. A "
        "certificate is issued again when it is within renewalDays of expiring or when the "
        "clients CA changes; the user's Secret then holds the new one.",
        _validity(
            "a user certificate",
            validity_days=DEFAULT_CERTIFICATE_VALIDITY_DAYS,
            renewal_days=DEFAULT_RENEWAL_DAYS,
        ),
        default={},
        rules=[_renewal_rule()],
    )


def _metrics_rule() -> Schema:
    return obj(
        "A rule of the Prometheus JMX exporter (1.0.1), in its own syntax: the first rule whose "
        "pattern matches an MBean attribute names the sample. Patterns match "
        "'domain<key=value, ...><>attribute: value', e.g. "
        "'kafka.server<type=BrokerTopicMetrics, name=BytesInPerSec, topic=(.+)><>Count'.",
        {
            "pattern": string(
                "Regular expression (Java syntax; kopfka accepts those Python's re also "
                "compiles, and refuses (?P, (?# and {,n} which Java reads differently).",
                minLength=1,
                maxLength=1024,
            ),
            "name": string(
                "Metric name; $1, $2... are the pattern's groups. Without it the exporter's "
                "default name (domain_type_attribute) is used.",
                pattern=r"^[a-zA-Z_:$][a-zA-Z0-9_:$]*$",
                maxLength=200,
            ),
            "value": {
                "description": "The sample's value instead of the attribute's: a number or $1...",
                "anyOf": [{"type": "integer"}, {"type": "string"}],
                "x-kubernetes-int-or-string": True,
            },
            "valueFactor": {
                "type": "number",
                "description": "Multiplies the value, e.g. 0.001 to turn milliseconds into "
                "seconds.",
            },
            "type": string(
                "GAUGE, COUNTER or UNTYPED (the exporter's default).", enum=list(METRIC_TYPES)
            ),
            "help": string("Help text of the metric.", maxLength=1024),
            "labels": string_map(
                "Labels of the sample; names (letters, digits, _) and values may use $1, $2...",
                maxProperties=16,
            ),
            "cache": boolean(
                "Cache which rule matched each bean: saves work at every scrape; wrong for "
                "rules whose pattern reads the value."
            ),
            "attrNameSnakeCase": boolean("Turn camelCase attribute names into snake_case."),
        },
        required=["pattern"],
        rules=[
            rule(
                "has(self.name) || !(has(self.help) || has(self.labels))",
                "a rule with help or labels needs a name",
            )
        ],
    )


def _metrics() -> Schema:
    return obj(
        "Prometheus metrics of every Kafka node (brokers and controllers): the Prometheus JMX "
        f"exporter agent serves them on port {METRICS_PORT} (container port metrics).",
        {
            "enabled": boolean(
                "Run the exporter. Changing it restarts the nodes (one at a time).", default=True
            ),
            "rules": array(
                "Extra exporter rules, tried before kopfka's own (the first match wins). "
                "Changing them restarts nothing: the exporter reads its configuration again "
                "at the next scrape after the kubelet updates the mounted ConfigMap.",
                _metrics_rule(),
                maxItems=MAX_METRICS_RULES,
            ),
            "includeObjectNames": array(
                "MBeans the extra rules read, as JMX ObjectName patterns, e.g. "
                "kafka.coordinator.group:type=GroupMetadataManager,*. The exporter reads only "
                "these and the MBeans of kopfka's own rules at each scrape: reading every MBean "
                "of a broker costs seconds per scrape.",
                string(
                    "An ObjectName pattern: domain:key=value,... with an optional trailing ,* "
                    "(no quoted values).",
                    pattern=OBJECT_NAME_PATTERN,
                    maxLength=512,
                ),
                maxItems=50,
            ),
        },
        default={},
    )


def _rebalance() -> Schema:
    return obj(
        "How a rebalance moves partition replicas (docs/rebalance.md): how many partitions at "
        "once, and how fast their data copies. Changing it restarts nothing; it applies from the "
        "next rebalance Job (one already running keeps the values it started with).",
        {
            "throttle": quantity(
                "Replication throttle of the moves, in bytes per second, on every broker that "
                "sends or receives a replica (Kafka's leader and follower throttled rates), e.g. "
                "50Mi, 100M or 52428800. A positive whole number of bytes: 0 would stop the moves "
                "forever.",
                default="50Mi",
            ),
            "waveSize": integer(
                "Partitions reassigned at once; as each finishes, the next is submitted.",
                minimum=1,
                maximum=MAX_REBALANCE_WAVE_SIZE,
                default=10,
            ),
        },
        default={},
    )


# spec.networkPolicy (docs/security.md, "Network policy"): the messages of its CEL rules, which
# the model gives for the same mistakes (model/network_policy.py).
MAX_NETWORK_POLICY_CLIENTS = 64
MAX_IP_BLOCK_EXCEPT = 32
# The longest CIDR is an IPv6 address in its longest form and /128: 49 characters.
MAX_CIDR_LENGTH = 64
NETWORK_POLICY_NO_CLIENTS = (
    "networkPolicy.clients must not be empty: leave it out to let every pod reach the client "
    "listeners, or list who may (an empty list would read as nobody, and in a NetworkPolicy "
    "means everybody)"
)
NETWORK_POLICY_EMPTY_PEER = "a client needs podSelector, namespaceSelector or ipBlock"
NETWORK_POLICY_IP_BLOCK_ALONE = "ipBlock cannot be combined with podSelector or namespaceSelector"
NETWORK_POLICY_NOT_A_CIDR = "ipBlock.cidr must be a CIDR such as 10.0.0.0/8 or fd00::/8"
NETWORK_POLICY_HOST_BITS = (
    "ipBlock.cidr must be a network address, with no bits set after the prefix (10.0.0.0/8, not "
    "10.1.2.3/8)"
)
NETWORK_POLICY_EXCEPT = (
    "each of ipBlock.except must be a network address (no bits set after the prefix) strictly "
    "inside ipBlock.cidr"
)


def _network_policy_client() -> Schema:
    """A NetworkPolicy peer, with Kubernetes' own rules for peers as CEL rules, so a peer the
    API server would refuse in the NetworkPolicy is refused at `kubectl apply` of the cluster."""
    ip_block = "has(self.ipBlock)"
    cidr = "cidr(self.ipBlock.cidr)"
    peer = k8s_core.network_policy_peer()
    # Bounds Kubernetes' schema leaves out; without them the API server estimates the CIDR rules'
    # cost beyond its budget for a CRD, and refuses the CRD.
    block = peer["properties"]["ipBlock"]["properties"]
    block["cidr"]["maxLength"] = MAX_CIDR_LENGTH
    block["except"]["maxItems"] = MAX_IP_BLOCK_EXCEPT
    block["except"]["items"]["maxLength"] = MAX_CIDR_LENGTH
    return peer | {
        "description": "A client that may connect (networking/v1 NetworkPolicyPeer).",
        "x-kubernetes-validations": [
            rule(
                f"has(self.podSelector) || has(self.namespaceSelector) || {ip_block}",
                NETWORK_POLICY_EMPTY_PEER,
            ),
            rule(
                f"!{ip_block} || !(has(self.podSelector) || has(self.namespaceSelector))",
                NETWORK_POLICY_IP_BLOCK_ALONE,
            ),
            rule(f"!{ip_block} || isCIDR(self.ipBlock.cidr)", NETWORK_POLICY_NOT_A_CIDR),
            rule(
                f"!{ip_block} || !isCIDR(self.ipBlock.cidr) || {cidr} == {cidr}.masked()",
                NETWORK_POLICY_HOST_BITS,
            ),
            rule(
                f"!{ip_block} || !has(self.ipBlock.except) || !isCIDR(self.ipBlock.cidr) || "
                f"self.ipBlock.except.all(e, isCIDR(e) && cidr(e) == cidr(e).masked() && "
                f"{cidr}.containsCIDR(e) && cidr(e).prefixLength() > {cidr}.prefixLength())",
                NETWORK_POLICY_EXCEPT,
            ),
        ],
    }


def _network_policy() -> Schema:
    return obj(
        "A NetworkPolicy <cluster>-kafka for the cluster's Kafka pods (docs/security.md): the "
        "controller and replication listeners only from the cluster's own pods, kopfka's Jobs "
        "for the cluster and the operator; the client listeners from clients (and kopfka's "
        "Jobs and the operator); metrics and probes from anywhere; nothing else. It only takes "
        "effect where the cluster's network plugin enforces NetworkPolicies.",
        {
            "enabled": boolean(
                "Make the NetworkPolicy. Turning it off deletes it. Changing anything here "
                "restarts nothing.",
                default=False,
            ),
            "clients": array(
                "Who may reach the client listeners, as NetworkPolicy peers: podSelector alone "
                "selects pods of the cluster's namespace; namespaceSelector alone, every pod of "
                "the namespaces it selects; both, the selected pods of the selected namespaces; "
                "ipBlock, addresses. Left out: anybody. An empty list is refused: leave it out.",
                _network_policy_client(),
                maxItems=MAX_NETWORK_POLICY_CLIENTS,
                **{"x-kubernetes-validations": [rule("size(self) > 0", NETWORK_POLICY_NO_CLIENTS)]},
            ),
        },
        default={},
    )


def _pod_template() -> Schema:
    labels_rule = rule(
        "!self.exists(k, "
        + " || ".join(f"k.startsWith('{p}')" for p in RESERVED_LABEL_PREFIXES)
        + ")",
        "labels under app.kubernetes.io/ and kopfka.dev/ are set by the operator",
    )
    return obj(
        "Customises the Kafka pods.",
        {
            "metadata": obj(
                "Extra labels and annotations of the pods.",
                {
                    "labels": string_map(
                        "Extra pod labels.", **{"x-kubernetes-validations": [labels_rule]}
                    ),
                    "annotations": string_map("Extra pod annotations."),
                },
            ),
            "affinity": k8s_core.affinity()
            | {"description": "Pod affinity (core/v1 Affinity), added to the operator's own."},
            "tolerations": array("Pod tolerations (core/v1 Toleration).", k8s_core.toleration()),
            "nodeSelector": string_map("Node selector of the pods."),
            "priorityClassName": string(
                "PriorityClass of the pods.", maxLength=253, pattern=DNS_SUBDOMAIN_PATTERN
            ),
            "topologySpreadConstraints": array(
                "Extra topology spread constraints (core/v1 TopologySpreadConstraint).",
                k8s_core.topology_spread_constraint(),
            ),
            "imagePullSecrets": array(
                "Secrets for pulling the Kafka image.",
                obj(
                    "A secret reference.",
                    {"name": string("Secret name.", maxLength=253, pattern=DNS_SUBDOMAIN_PATTERN)},
                    required=["name"],
                ),
            ),
        },
    )


def _condition(types: str) -> Schema:
    return obj(
        "A standard condition.",
        {
            "type": string(f"{types}."),
            "status": string("True, False or Unknown.", enum=["True", "False", "Unknown"]),
            "reason": string("Why, in one CamelCase word."),
            "message": string("Why, in a sentence."),
            "lastTransitionTime": string("When the status last changed.", format="date-time"),
            "observedGeneration": integer("The generation this condition describes."),
        },
        required=["type", "status"],
    )


def _conditions(types: str) -> Schema:
    """Conditions of `types` ("Ready, Reconciling, Degraded or Stalled")."""
    return array(
        f"Standard conditions ({types}), with reason and message.",
        _condition(types),
        **{"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )


def cluster_spec() -> Schema:
    return obj(
        "The desired Kafka cluster.",
        {
            "mode": string(
                "dedicated: a controller quorum and separate brokers (production). combined: the "
                "controller nodes also act as brokers (one or three nodes; laptops and demos).",
                enum=["dedicated", "combined"],
                default="dedicated",
                **{
                    "x-kubernetes-validations": [
                        rule("self == oldSelf", "mode cannot change after creation")
                    ]
                },
            ),
            "kafka": obj(
                "Kafka itself: version, image and broker configuration.",
                {
                    "version": string(
                        "Kafka version; the image follows it unless image is set.",
                        enum=list(kafka_config.SUPPORTED_KAFKA_VERSIONS),
                        default=kafka_config.DEFAULT_KAFKA_VERSION,
                    ),
                    "image": string("Overrides the image (it must run this Kafka version)."),
                    "imagePullPolicy": string(
                        "Pull policy of the Kafka image.",
                        enum=["Always", "IfNotPresent", "Never"],
                        default="IfNotPresent",
                    ),
                    "config": _kafka_config(
                        "Broker settings (server.properties keys). Keys that follow from the "
                        "topology (node.id, process.roles, listeners, controller.quorum.*, "
                        "log.dirs, ...) are set by the operator and refused here."
                    ),
                },
                default={},
            ),
            "controllers": _pool(
                "KRaft controller (in combined mode: controller and broker)",
                integer(
                    "Number of controllers: 1, 3 or 5 (a quorum tolerates (n-1)/2 failures). "
                    "Cannot change after creation yet.",
                    enum=[1, 3, 5],
                    default=3,
                    **{
                        "x-kubernetes-validations": [
                            rule(
                                "self == oldSelf",
                                "controllers.replicas cannot change yet: resizing the quorum is "
                                "not supported",
                            )
                        ]
                    },
                ),
                "10Gi",
            )
            | {"default": {}},
            "brokers": _pool(
                "broker",
                integer("Number of brokers.", minimum=1, maximum=999, default=3),
                "100Gi",
            ),
            "listeners": array(
                "Client listeners.",
                _listener(),
                default=[
                    {
                        "name": "plain",
                        "port": 9092,
                        "type": "internal",
                        "tls": False,
                        "authentication": {"type": "none"},
                    }
                ],
                minItems=1,
                maxItems=8,
                **{
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "x-kubernetes-validations": [
                        rule(
                            "self.all(l, self.exists_one(m, m.port == l.port))",
                            "listener ports must be unique",
                        )
                    ],
                },
            ),
            "rack": obj(
                "Rack awareness: brokers learn their rack (broker.rack) from the node label "
                "that the API server copies onto each pod (Kubernetes 1.35+), and pods spread "
                "across its values.",
                {
                    "topologyKey": string(
                        "The node label that names the rack.", enum=list(RACK_TOPOLOGY_KEYS)
                    ),
                    "rollByRack": boolean(
                        "Rolling restarts restart the brokers of one rack together, when every "
                        "partition keeps min.insync.replicas in sync with that whole rack down "
                        "(each partition's replicas span the racks); otherwise, and for "
                        "controllers, one node at a time.",
                        default=False,
                    ),
                },
                required=["topologyKey"],
            ),
            "internalListeners": _internal_listeners(),
            "authorization": _authorization(),
            "clusterCa": _cluster_ca(),
            "clientsCa": _clients_ca(),
            "brokerCertificates": _broker_certificates(),
            "userCertificates": _user_certificates(),
            "metrics": _metrics(),
            "rebalance": _rebalance(),
            "networkPolicy": _network_policy(),
            "template": obj("Customises what the operator creates.", {"pod": _pod_template()}),
        },
        rules=[
            rule(
                "self.mode != 'combined' || !has(self.brokers)",
                "brokers must not be set in combined mode: the controller nodes are the brokers",
            ),
            rule(
                "self.mode != 'dedicated' || has(self.brokers)",
                "brokers is required in dedicated mode",
            ),
        ],
    )


def cluster_status() -> Schema:
    return obj(
        "What the operator observed.",
        {
            "observedGeneration": integer("The generation of the spec last reconciled."),
            "conditions": _conditions("Ready, Reconciling, Degraded or Stalled"),
            "clusterId": string(
                "The KRaft cluster id, generated once and never changed; also recorded on the "
                "volume claims, so a cluster re-created over kept volumes gets it back."
            ),
            "sizeDefaults": string_map(
                "Settings the operator chose from the broker count when the cluster was made "
                "(replication factors, minimum in-sync replicas); kept when the broker count "
                "changes, so scaling never changes them silently. spec.kafka.config overrides them."
            ),
            "kafkaVersion": string("The Kafka version the nodes run."),
            "metadataVersion": string(
                "The KRaft metadata version Kafka has finalized (e.g. 4.4-IV2): recorded when the "
                "cluster is made and when kopfka raises it after an upgrade."
            ),
            "metadataVersionLevel": integer("The feature level of metadataVersion."),
            "bootstrapServers": string("host:port of the bootstrap service for clients."),
            "readyBrokers": integer("Brokers whose pods are ready."),
            "nodes": array(
                "One entry per Kafka node.",
                obj(
                    "A Kafka node.",
                    {
                        "nodeId": integer("Kafka node id."),
                        "role": string("controller, broker or combined."),
                        "pod": string("Pod name."),
                        "ready": boolean("The pod is ready."),
                        "upToDate": boolean("The pod runs the current restart hash."),
                        "node": string("The Kubernetes node the pod runs on."),
                    },
                ),
            ),
            "liveSettings": obj(
                "The settings Kafka applies live, kept as Kafka's cluster-wide dynamic defaults.",
                {
                    "digest": string(
                        "Names the settings last found in effect; Kafka is read again when the "
                        "spec's differ."
                    ),
                    "managed": array(
                        "Cluster-wide defaults kopfka set (it removes only these).",
                        string("Setting name."),
                    ),
                    "job": string("The last settings Job."),
                    "notSent": array(
                        "Settings whose value kafka-configs cannot carry (a bracket); nodes read "
                        "them from server.properties at their next start.",
                        string("Setting name."),
                    ),
                },
            ),
            "rebalance": obj(
                "Where partition replicas are moved to keep the brokers balanced: after a "
                "scale-up, before a scale-down removes brokers, and on request "
                "(kopfka.dev/rebalance).",
                {
                    "balancedBrokers": array(
                        "The brokers the last finished rebalance balanced the replicas over.",
                        integer("Node id."),
                    ),
                    "requested": string("The kopfka.dev/rebalance value last handled."),
                    "job": string("The rebalance Job moving replicas now."),
                    "moves": integer("Replicas the running rebalance copies to another broker."),
                    "partitions": integer(
                        "Partitions whose replicas the running rebalance changes."
                    ),
                    "done": integer("Of those, the partitions Kafka shows at their target."),
                    "bytesLeft": integer(
                        "Bytes the replicas of the other partitions still have to copy, from the "
                        "replica sizes Kafka reports."
                    ),
                    "leaving": array(
                        "Brokers a scale-down removes, kept until they hold no replicas.",
                        integer("Node id."),
                    ),
                    "drained": array(
                        "Brokers that hold no replicas any more: the StatefulSet shrinks.",
                        integer("Node id."),
                    ),
                    "unregister": array(
                        "Removed brokers still to be unregistered from the KRaft metadata.",
                        integer("Node id."),
                    ),
                },
            ),
            "rollout": obj(
                "Progress of a change that needs pods restarted.",
                {
                    "pending": array(
                        "Pods that still have to restart: they run an outdated configuration, "
                        "or a roll was asked for.",
                        string("Pod name."),
                    ),
                    "restartHashes": string_map("Current restart hash per role."),
                    "step": obj(
                        "What the rolling restart does now.",
                        {
                            "kind": string("Restart, Wait or Blocked."),
                            "message": string("What it does or waits for, in words."),
                        },
                    ),
                    "restarting": obj(
                        "The restart kopfka started last: one node, or with rack.rollByRack the "
                        "brokers of one rack. It is finished when the new pods are ready and "
                        "their nodes caught up.",
                        {
                            "pods": array(
                                "The pods restarted.",
                                obj(
                                    "A pod, by the uid of the pod that was restarted.",
                                    {"name": string("Pod name."), "uid": string("Pod uid.")},
                                ),
                            ),
                            "rack": string("The rack whose brokers restart together."),
                            "reason": string("Why they restarted."),
                        },
                    ),
                    "requested": obj(
                        "The roll the KafkaCluster's kopfka.dev/roll annotation asked for.",
                        {
                            "token": string("The annotation's value this roll is for."),
                            "remaining": array("Pods still to restart.", string("Pod name.")),
                        },
                    ),
                },
            ),
        },
    )


def topic_spec() -> Schema:
    return obj(
        "The desired Kafka topic.",
        {
            "cluster": string(
                "Name of the KafkaCluster in this namespace that holds the topic.",
                minLength=1,
                **{
                    "x-kubernetes-validations": [
                        rule("self == oldSelf", "cluster cannot change: move topics by copying")
                    ]
                },
            ),
            "topicName": string(
                "Topic name in Kafka; defaults to metadata.name. Names starting with __ are "
                "Kafka's own.",
                pattern="^[a-zA-Z0-9._-]{1,249}$",
                **{
                    "x-kubernetes-validations": [
                        rule(
                            "!self.startsWith('__')",
                            "topic names starting with __ are kept for Kafka's internal topics",
                        ),
                        rule("self != '.' && self != '..'", "topic names . and .. are not valid"),
                    ]
                },
            ),
            "partitions": integer(
                "Number of partitions; the cluster's num.partitions when unset. Can only grow.",
                minimum=1,
                maximum=100000,
                **{
                    "x-kubernetes-validations": [
                        rule(
                            "self >= oldSelf",
                            "partitions cannot decrease (Kafka cannot merge them)",
                        )
                    ]
                },
            ),
            "replicationFactor": integer(
                "Replicas of each partition; the cluster's default.replication.factor when unset.",
                minimum=1,
                maximum=32767,
            ),
            "config": {
                "type": "object",
                "description": "Topic settings, e.g. retention.ms, cleanup.policy.",
                "additionalProperties": {"x-kubernetes-preserve-unknown-fields": True},
            },
            "deletionPolicy": string(
                "What deleting this resource does to the topic: retain (default: the topic and "
                "its data stay in Kafka) or delete.",
                enum=["retain", "delete"],
                default="retain",
            ),
        },
        required=["cluster"],
        rules=[
            rule(
                "has(self.topicName) == has(oldSelf.topicName) && "
                "(!has(self.topicName) || self.topicName == oldSelf.topicName)",
                "topicName cannot change",
            )
        ],
    )


def topic_status() -> Schema:
    return obj(
        "What the operator observed in Kafka.",
        {
            "observedGeneration": integer("The generation of the spec last reconciled."),
            "conditions": _conditions("Ready"),
            "topicName": string("The topic name in Kafka."),
            "topicId": string("The topic id Kafka assigned."),
            "partitions": integer("Partitions the topic has in Kafka."),
            "replicationFactor": integer("Replicas of each partition in Kafka."),
            "config": string_map(
                "The topic's own settings in Kafka (its overrides of the broker defaults)."
            ),
        },
    )


# KafkaUser quotas: spec field -> Kafka's quota key of the user's entity (docs/security.md).
USER_QUOTA_KEYS = {
    "producerByteRate": "producer_byte_rate",
    "consumerByteRate": "consumer_byte_rate",
    "requestPercentage": "request_percentage",
    "controllerMutationRate": "controller_mutation_rate",
}


def _positive_number(description: str, *, whole: bool) -> Schema:
    if whole:
        return integer(description, minimum=1)
    return {"type": "number", "description": description, "minimum": 0, "exclusiveMinimum": True}


# KafkaUser ACLs: spec resource type -> Kafka's ResourceType, and the operations Kafka checks on
# each (an ACL naming another operation would never allow anything).
ACL_RESOURCE_TYPES = {
    "topic": "TOPIC",
    "group": "GROUP",
    "transactionalId": "TRANSACTIONAL_ID",
    "cluster": "CLUSTER",
}
ACL_OPERATIONS = {
    "All": "ALL",
    "Read": "READ",
    "Write": "WRITE",
    "Create": "CREATE",
    "Delete": "DELETE",
    "Alter": "ALTER",
    "Describe": "DESCRIBE",
    "ClusterAction": "CLUSTER_ACTION",
    "DescribeConfigs": "DESCRIBE_CONFIGS",
    "AlterConfigs": "ALTER_CONFIGS",
    "IdempotentWrite": "IDEMPOTENT_WRITE",
}
ACL_OPERATIONS_BY_RESOURCE = {
    "topic": [
        "All",
        "Read",
        "Write",
        "Create",
        "Delete",
        "Alter",
        "Describe",
        "DescribeConfigs",
        "AlterConfigs",
    ],
    "group": ["All", "Read", "Describe", "Delete"],
    "transactionalId": ["All", "Write", "Describe"],
    "cluster": [
        "All",
        "Create",
        "Alter",
        "Describe",
        "ClusterAction",
        "DescribeConfigs",
        "AlterConfigs",
        "IdempotentWrite",
    ],
}
ACL_PATTERN_TYPES = {"literal": "LITERAL", "prefix": "PREFIXED"}
ACL_PERMISSIONS = {"allow": "ALLOW", "deny": "DENY"}
# Kafka's one name of the cluster resource.
CLUSTER_RESOURCE_NAME = "kafka-cluster"


def _acl() -> Schema:
    operations_rules = [
        rule(
            f"self.resource.type != '{kind}' || self.operations.all(o, o in {allowed})",
            f"operations on a {kind} must be among {', '.join(allowed)}",
        )
        for kind, allowed in ACL_OPERATIONS_BY_RESOURCE.items()
    ]
    return obj(
        "An ACL of the user: the operations it may (or, with type deny, may not) do on a resource.",
        {
            "resource": obj(
                "What the ACL is about.",
                {
                    "type": string(
                        "topic, group (consumer group), transactionalId or cluster.",
                        enum=list(ACL_RESOURCE_TYPES),
                    ),
                    "name": string(
                        "The resource's name, or with patternType prefix the start of the names "
                        "(topic: Kafka's topic characters a-z, A-Z, 0-9, '.', '_', '-'). '*' "
                        "with patternType literal is every resource of the type. Not for "
                        "cluster.",
                        minLength=1,
                        maxLength=249,
                    ),
                    "patternType": string(
                        "literal: the resource of this name. prefix: every resource whose name "
                        "starts with it.",
                        enum=list(ACL_PATTERN_TYPES),
                        default="literal",
                    ),
                },
                required=["type"],
                rules=[
                    rule(
                        "self.type == 'cluster' ? !has(self.name) : has(self.name)",
                        "resource.name is required, except for type cluster (which has no name)",
                    ),
                    rule(
                        "self.type != 'cluster' || self.patternType == 'literal'",
                        "a cluster resource takes patternType literal",
                    ),
                    rule(
                        "self.type != 'topic' || !has(self.name) || "
                        "self.name.matches('^[a-zA-Z0-9._-]+$') || "
                        "(self.name == '*' && self.patternType == 'literal')",
                        "a topic name (or prefix) has only a-z, A-Z, 0-9, '.', '_' and '-', or "
                        "is '*' with patternType literal",
                    ),
                    rule(
                        "!has(self.name) || self.name != '*' || self.patternType == 'literal'",
                        "'*' means every resource only with patternType literal",
                    ),
                ],
            ),
            "operations": array(
                "The operations (Kafka's names).",
                string("An operation.", enum=list(ACL_OPERATIONS)),
                minItems=1,
                maxItems=len(ACL_OPERATIONS),
                **{"x-kubernetes-list-type": "set"},
            ),
            "type": string(
                "allow, or deny (which wins over every allow).",
                enum=list(ACL_PERMISSIONS),
                default="allow",
            ),
            "host": string(
                "The client address the ACL is for: '*' (any) or one IP address.",
                pattern=r"^(\*|[0-9]{1,3}(\.[0-9]{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)$",
                maxLength=45,
                default="*",
            ),
        },
        required=["resource", "operations"],
        rules=operations_rules,
    )


def _user_password() -> Schema:
    return obj(
        "A password of your own for a scram-sha-512 user, instead of one kopfka generates: read "
        "from a Secret of yours in this namespace, which kopfka only reads (never writes, owns "
        "or deletes). kopfka copies it into the Secret of the KafkaUser's name (password and "
        "sasl.jaas.config) and sets Kafka's credential from it; a changed password is set "
        "again at the next sync of the cluster's users (at least once a minute). Removed from "
        "the spec, kopfka generates a new password. docs/security.md.",
        {
            "valueFrom": obj(
                "Where the password is.",
                {
                    "secretKeyRef": obj(
                        "A key of a Secret in the KafkaUser's namespace, holding the password "
                        "as UTF-8 text, without control characters (no trailing newline).",
                        {
                            "name": string(
                                "The Secret's name; not the KafkaUser's own (kopfka writes "
                                "that one).",
                                minLength=1,
                                maxLength=253,
                                pattern=DNS_SUBDOMAIN_PATTERN,
                            ),
                            "key": string(
                                "The key of the password in the Secret's data.",
                                minLength=1,
                                maxLength=253,
                                pattern=SECRET_KEY_PATTERN,
                            ),
                        },
                        required=["name", "key"],
                    )
                },
                required=["secretKeyRef"],
            )
        },
        required=["valueFrom"],
    )


def user_spec() -> Schema:
    return obj(
        "A Kafka user of a KafkaCluster in this namespace: its SCRAM-SHA-512 credential (the "
        "password kopfka generates, or yours, in the Secret of the KafkaUser's name) or its client "
        "certificate (in that Secret), its ACLs and its quotas. The Kafka user name (principal "
        "User:<name>) is metadata.name.",
        {
            "cluster": string(
                "Name of the KafkaCluster in this namespace the user belongs to. It needs a "
                "listener with the user's authentication type for the user to log in.",
                minLength=1,
                **{
                    "x-kubernetes-validations": [
                        rule("self == oldSelf", "cluster cannot change: make a new KafkaUser")
                    ]
                },
            ),
            "authentication": obj(
                "How the user logs in. The type cannot change.",
                {
                    "type": string(
                        "scram-sha-512: kopfka generates a password (or takes yours, see "
                        "password) into the Secret of the KafkaUser's name (keys password and "
                        "sasl.jaas.config) and gives Kafka the user's SCRAM-SHA-512 credential. "
                        "tls: kopfka issues the user a client certificate (CN=<name>) from the "
                        "cluster's clients CA into the Secret of the KafkaUser's name "
                        "(user.crt, user.key, user.pem, ca.crt) and renews it; Kafka holds no "
                        "credential.",
                        enum=list(USER_AUTHENTICATIONS),
                    ),
                    "password": _user_password(),
                },
                required=["type"],
                rules=[
                    rule("self.type == oldSelf.type", USER_AUTHENTICATION_IMMUTABLE),
                    rule(
                        f"!has(self.password) || self.type == '{SCRAM_SHA_512}'",
                        USER_PASSWORD_ONLY_SCRAM,
                    ),
                ],
            ),
            "authorization": obj(
                "What the user may do, for a KafkaCluster with spec.authorization: its ACLs "
                "(principal User:<name>). kopfka owns every ACL of that principal: an ACL left "
                "out is removed from Kafka.",
                {
                    "acls": array(
                        "The user's ACLs.",
                        _acl(),
                        maxItems=256,
                    )
                },
            ),
            "quotas": obj(
                "Kafka's quotas of this user (its user entity, for every client id); a quota "
                "left out is removed from Kafka. Brokers enforce each quota per broker.",
                {
                    "producerByteRate": _positive_number(
                        "Bytes per second the user may produce to each broker.", whole=True
                    ),
                    "consumerByteRate": _positive_number(
                        "Bytes per second the user may fetch from each broker.", whole=True
                    ),
                    "requestPercentage": _positive_number(
                        "Percentage of one network or I/O thread's time the user's requests "
                        "may take on each broker (above 100 spans threads).",
                        whole=False,
                    ),
                    "controllerMutationRate": _positive_number(
                        "Partition creations and deletions per second the user may ask for.",
                        whole=False,
                    ),
                },
            ),
        },
        required=["cluster", "authentication"],
    )


def user_status() -> Schema:
    return obj(
        "What the operator observed in Kafka.",
        {
            "observedGeneration": integer("The generation of the spec last reconciled."),
            "conditions": _conditions("Ready"),
            "username": string("The user's name in Kafka (principal User:<username>)."),
            "secret": string(
                "The Secret holding the user's password and sasl.jaas.config, or its certificate "
                "and key."
            ),
            "certificate": obj(
                "The client certificate of a TLS user, as its Secret holds it.",
                {
                    "subject": string("Its subject (CN=<username>)."),
                    "notAfter": string("When it expires (RFC 3339); kopfka renews it before."),
                },
            ),
            "secretUid": string(
                "The uid of the Secret whose password Kafka's credential was set from: a Secret "
                "made again (a new password) has its credential set again."
            ),
            "secretResourceVersion": string(
                "That Secret's resourceVersion when the credential was set from it: kopfka "
                "writes the Secret only to change its password (your own changed, or one "
                "generated anew), so another version has the credential set again. Neither "
                "field says anything about the password."
            ),
            "credentials": array(
                "The SCRAM credentials Kafka holds for the user.",
                obj(
                    "A SCRAM credential (Kafka never shows the password).",
                    {
                        "mechanism": string("SCRAM-SHA-512 (or another Kafka holds)."),
                        "iterations": integer("PBKDF2 iterations."),
                    },
                ),
            ),
            "quotas": {
                "type": "object",
                "description": "The quotas Kafka holds for the user, by Kafka's key.",
                "additionalProperties": {"type": "number"},
            },
            "acls": array(
                "The ACL bindings Kafka holds for the user (one per operation), on a cluster "
                "with an authorizer.",
                obj(
                    "An ACL binding, in the spec's words.",
                    {
                        "resource": obj(
                            "What it is about.",
                            {
                                "type": string("topic, group, transactionalId or cluster."),
                                "name": string("The resource name or prefix."),
                                "patternType": string("literal or prefix."),
                            },
                        ),
                        "operation": string("The operation."),
                        "type": string("allow or deny."),
                        "host": string("The client address, or '*'."),
                    },
                ),
            ),
        },
    )
