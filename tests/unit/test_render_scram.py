"""Rendering SCRAM-SHA-512 client listeners: the security protocol (SASL_PLAINTEXT, or SASL_SSL with
tls), the one mechanism they offer and its login module, per listener, on brokers only; and the
schema that accepts scram-sha-512 and still refuses client certificates."""

from __future__ import annotations

from typing import Any

import pytest

from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.names import Role
from tests.support.render import properties

PLAIN = {"name": "plain", "port": 9092}
SCRAM = {"name": "scram", "port": 9095, "authentication": {"type": "scram-sha-512"}}
SCRAM_TLS = {
    "name": "secure",
    "port": 9096,
    "tls": True,
    "authentication": {"type": "scram-sha-512"},
}
LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule required;"


def parse(spec: dict[str, Any]) -> ClusterSpec:
    return parse_cluster("events", "streaming", spec)


@pytest.mark.parametrize(
    ("listener", "protocol"),
    [(SCRAM, "SASL_PLAINTEXT"), (SCRAM_TLS, "SASL_SSL")],
    ids=["without-tls", "with-tls"],
)
def test_a_scram_listener_offers_scram_sha_512_alone(
    listener: dict[str, Any], protocol: str
) -> None:
    spec = parse({"brokers": {"replicas": 3}, "listeners": [PLAIN, listener]})
    brokers = properties(spec, Role.BROKER)
    name = str(listener["name"])
    assert brokers["listener.security.protocol.map"] == (
        f"CONTROLLER:PLAINTEXT,REPLICATION:PLAINTEXT,PLAIN:PLAINTEXT,{name.upper()}:{protocol}"
    )
    assert brokers[f"listener.name.{name}.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert brokers[f"listener.name.{name}.scram-sha-512.sasl.jaas.config"] == LOGIN
    # Nothing of SASL on the other listeners, nor a broker-wide mechanism list.
    assert not any(key.startswith("listener.name.plain.") for key in brokers)
    assert "sasl.enabled.mechanisms" not in brokers
    # Replication stays on the operator's plaintext listener.
    assert brokers["inter.broker.listener.name"] == "REPLICATION"
    controllers = properties(spec, Role.CONTROLLER)
    assert controllers["listener.security.protocol.map"] == "CONTROLLER:PLAINTEXT"
    assert not any("sasl" in key for key in controllers)


def test_scram_with_tls_keeps_the_brokers_key_store() -> None:
    brokers = properties(parse({"brokers": {"replicas": 3}, "listeners": [SCRAM_TLS]}), Role.BROKER)
    assert brokers["listener.name.secure.ssl.keystore.type"] == "PEM"


def test_combined_nodes_serve_scram_too() -> None:
    spec = parse({"mode": "combined", "controllers": {"replicas": 1}, "listeners": [SCRAM]})
    nodes = properties(spec, Role.COMBINED)
    assert nodes["listener.security.protocol.map"] == (
        "CONTROLLER:PLAINTEXT,REPLICATION:PLAINTEXT,SCRAM:SASL_PLAINTEXT"
    )
    assert nodes["listener.name.scram.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
