"""A KafkaUser spec as a typed, validated object, and its checks against the cluster it names.

The Kafka user name is the KafkaUser's metadata.name: the API server allows only lowercase DNS
subdomains there, every one of which is a valid SCRAM user name, and the password's Secret has
the same name (model/names.py user_secret_name).
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


@dataclass(frozen=True)
class UserSpec:
    username: str
    cluster: str
    authentication: str
    # Kafka's quota key (producer_byte_rate, ...) -> value, for the quotas the spec sets.
    quotas: Mapping[str, float]


def parse_user(name: str, spec: Mapping[str, Any]) -> UserSpec:
    """Default and validate a KafkaUser spec on its own; raises SpecError listing every problem."""
    shape = schema.user_spec()
    raw = apply_defaults(dict(spec), shape)
    problems = validation.check(raw, shape, "spec")
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
    )


def check_against_cluster(user: UserSpec, cluster: ClusterSpec) -> str | None:
    """Why the user could never log in to `cluster` (it has no listener for its mechanism), or
    None."""
    if not any(listener.scram for listener in cluster.listeners):
        return (
            f"KafkaCluster {cluster.name} has no listener with authentication "
            f"{user.authentication}: the user could not log in (add one to spec.listeners)"
        )
    return None
