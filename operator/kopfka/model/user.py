"""A KafkaUser spec as a typed, validated object, and its checks against the cluster it names.

The Kafka user name is the KafkaUser's metadata.name: the API server allows only lowercase DNS
subdomains there, every one of which is a valid SCRAM user name (and, up to 64 characters, a
certificate's common name), and the Secret of its password or certificate has the same name
(model/names.py user_secret_name).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kopfka.model import schema, validation
from kopfka.model.cluster import ClusterSpec
from kopfka.model.defaults import apply_defaults
from kopfka.model.errors import SpecError

NO_SCRAM_LISTENER = "NoScramListener"
NO_TLS_LISTENER = "NoTlsListener"
# The longest common name X.509 allows (RFC 5280 ub-common-name): a TLS user's name is its CN.
MAX_TLS_USER_NAME = 64
NO_AUTHORIZER = "NoAuthorizer"


@dataclass(frozen=True, order=True)
class Acl:
    """One ACL binding of a user, in Kafka's own names (ResourceType TOPIC, PatternType
    PREFIXED, AclOperation READ, AclPermissionType ALLOW): what Kafka holds and what a spec
    asks for compare as equals. A spec's ACL with several operations is one binding each."""

    resource_type: str
    name: str
    pattern_type: str
    operation: str
    permission: str
    host: str


@dataclass(frozen=True)
class UserSpec:
    username: str
    cluster: str
    authentication: str
    # Kafka's quota key (producer_byte_rate, ...) -> value, for the quotas the spec sets.
    quotas: Mapping[str, float]
    acls: frozenset[Acl] = frozenset()

    @property
    def tls(self) -> bool:
        """The user logs in with a client certificate: Kafka holds no credential of it."""
        return self.authentication == schema.TLS_AUTHENTICATION


def parse_user(name: str, spec: Mapping[str, Any]) -> UserSpec:
    """Default and validate a KafkaUser spec on its own; raises SpecError listing every problem."""
    shape = schema.user_spec()
    raw = apply_defaults(dict(spec), shape)
    problems = validation.check(raw, shape, "spec")
    tls = not problems and raw["authentication"]["type"] == schema.TLS_AUTHENTICATION
    if tls and len(name) > MAX_TLS_USER_NAME:
        problems.append(
            f"a TLS user's name is its certificate's common name, at most "
            f"{MAX_TLS_USER_NAME} characters; {name} has {len(name)}"
        )
    if problems:
        raise SpecError(problems)
    quotas = raw.get("quotas") or {}
    return UserSpec(
        username=name,
        cluster=str(raw["cluster"]),
        authentication=str(raw["authentication"]["type"]),
        quotas={
            key: float(quotas[field])
            for field, key in schema.USER_QUOTA_KEYS.items()
            if quotas.get(field) is not None
        },
        acls=frozenset(
            acl for item in (raw.get("authorization") or {}).get("acls") or () for acl in acls(item)
        ),
    )


def acls(item: Mapping[str, Any]) -> list[Acl]:
    """The Kafka bindings of one ACL of a KafkaUser spec (defaults filled in)."""
    resource = item["resource"]
    kind = resource["type"]
    name = schema.CLUSTER_RESOURCE_NAME if kind == "cluster" else resource["name"]
    return [
        Acl(
            resource_type=schema.ACL_RESOURCE_TYPES[kind],
            name=name,
            pattern_type=schema.ACL_PATTERN_TYPES[resource["patternType"]],
            operation=schema.ACL_OPERATIONS[operation],
            permission=schema.ACL_PERMISSIONS[item["type"]],
            host=item["host"],
        )
        for operation in item["operations"]
    ]


def acl_status(acl: Acl) -> dict[str, Any]:
    """A binding as KafkaUser status shows it, in the spec's words where it has them."""

    def spoken(words: Mapping[str, str], kafka_name: str) -> str:
        return next((word for word, name in words.items() if name == kafka_name), kafka_name)

    resource: dict[str, Any] = {
        "type": spoken(schema.ACL_RESOURCE_TYPES, acl.resource_type),
        "patternType": spoken(schema.ACL_PATTERN_TYPES, acl.pattern_type),
    }
    if acl.resource_type != "CLUSTER":
        resource["name"] = acl.name
    return {
        "resource": resource,
        "operation": spoken(schema.ACL_OPERATIONS, acl.operation),
        "type": spoken(schema.ACL_PERMISSIONS, acl.permission),
        "host": acl.host,
    }


def check_against_cluster(user: UserSpec, cluster: ClusterSpec) -> tuple[str, str] | None:
    """(reason, message) when `cluster` cannot hold the user as its spec says: no listener for
    its mechanism (it could never log in), or ACLs on a cluster without an authorizer (Kafka
    would never check them: kopfka does not pretend); None when it can."""
    if user.tls and not cluster.mtls:
        return NO_TLS_LISTENER, (
            f"KafkaCluster {cluster.name} has no listener with authentication tls: the user "
            "could not log in with its certificate (add one, with tls: true, to spec.listeners)"
        )
    if not user.tls and not any(listener.scram for listener in cluster.listeners):
        return NO_SCRAM_LISTENER, (
            f"KafkaCluster {cluster.name} has no listener with authentication "
            f"{user.authentication}: the user could not log in (add one to spec.listeners)"
        )
    if user.acls and cluster.authorization is None:
        return NO_AUTHORIZER, (
            f"KafkaCluster {cluster.name} has no spec.authorization, so Kafka would not check "
            "this user's ACLs: every client may do everything there (set spec.authorization "
            "on the cluster, or remove spec.authorization.acls)"
        )
    return None
