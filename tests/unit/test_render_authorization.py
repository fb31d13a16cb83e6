"""spec.authorization: Kafka's ACL authorizer and the broker image's principal builder on every
node, the internal listeners' principal and the spec's users as super users; the operator and
its Jobs then reach Kafka on the replication listener (a plaintext client listener is
User:ANONYMOUS there); super user names and the owned settings refused; and a KafkaUser's ACLs
refused on a cluster without an authorizer."""

from __future__ import annotations

from typing import Any

import pytest

from kopfka.model.cluster import ClusterSpec, operator_bootstrap_of, parse_cluster
from kopfka.model.errors import SpecError
from kopfka.model.names import Role
from kopfka.model.user import check_against_cluster, parse_user
from tests.support.render import properties

SCRAM = {"name": "scram", "port": 9095, "authentication": {"type": "scram-sha-512"}}
AUTHORIZED: dict[str, Any] = {
    "brokers": {"replicas": 3},
    "listeners": [{"name": "plain", "port": 9092}, SCRAM],
    "authorization": {"type": "simple", "superUsers": ["admin", "ops.team"]},
}
REPLICATION = ",".join(f"events-brokers-{i}.events-brokers.streaming.svc:9091" for i in range(3))


def parse(spec: dict[str, Any]) -> ClusterSpec:
    return parse_cluster("events", "streaming", spec)


@pytest.mark.parametrize("role", [Role.CONTROLLER, Role.BROKER])
def test_every_node_authorizes_with_the_internal_principal_as_super_user(role: Role) -> None:
    rendered = properties(parse(AUTHORIZED), role)
    assert rendered["authorizer.class.name"] == (
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    )
    assert rendered["principal.builder.class"] == (
        "dev.kopfka.agent.InternalListenerPrincipalBuilder"
    )
    assert rendered["super.users"] == "User:KOPFKA-INTERNAL;User:admin;User:ops.team"
    assert "allow.everyone.if.no.acl.found" not in rendered  # Kafka's default: false


def test_without_authorization_nothing_is_rendered_and_the_operator_uses_a_plain_listener() -> None:
    spec = parse({key: value for key, value in AUTHORIZED.items() if key != "authorization"})
    for role in (Role.CONTROLLER, Role.BROKER):
        rendered = properties(spec, role)
        assert not {"authorizer.class.name", "principal.builder.class", "super.users"} & set(
            rendered
        )
    assert spec.operator_bootstrap == "events-kafka-bootstrap.streaming.svc:9092"


def test_with_authorization_the_operator_uses_the_replication_listener() -> None:
    spec = parse(AUTHORIZED)
    assert spec.operator_bootstrap == REPLICATION
    # The same answer from the stored spec, as periodic work reads it.
    assert operator_bootstrap_of("events", "streaming", AUTHORIZED) == REPLICATION


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"authorization": {"type": "simple", "superUsers": ["KOPFKA-INTERNAL"]}}, "superUsers"),
        ({"authorization": {"type": "simple", "superUsers": ["a;b"]}}, "superUsers"),
        ({"authorization": {"superUsers": ["admin"]}}, "spec.authorization.type"),
        ({"kafka": {"config": {"super.users": "User:me"}}}, "super.users"),
    ],
    ids=["internal-name", "separator", "no-type", "super-users-by-hand"],
)
def test_bad_authorization_is_refused(spec: dict[str, Any], problem: str) -> None:
    with pytest.raises(SpecError) as error:
        parse({"brokers": {"replicas": 3}, **spec})
    assert problem in str(error.value)


def test_acls_need_a_cluster_that_authorizes() -> None:
    user = parse_user(
        "alice",
        {
            "cluster": "events",
            "authentication": {"type": "scram-sha-512"},
            "authorization": {
                "acls": [{"resource": {"type": "topic", "name": "orders"}, "operations": ["Read"]}]
            },
        },
    )
    assert check_against_cluster(user, parse(AUTHORIZED)) is None
    without = parse({key: value for key, value in AUTHORIZED.items() if key != "authorization"})
    reason, message = check_against_cluster(user, without) or ("", "")
    assert reason == "NoAuthorizer"
    assert "KafkaCluster events has no spec.authorization" in message
