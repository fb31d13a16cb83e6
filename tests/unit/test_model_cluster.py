"""The KafkaCluster model: defaults from the schema, and validation the schema cannot express."""

from __future__ import annotations

from typing import Any

import pytest

from kopfka.model.cluster import (
    ClusterCa,
    ClusterSpec,
    Lifetime,
    operator_bootstrap_of,
    parse_cluster,
)
from kopfka.model.defaults import apply_defaults
from kopfka.model.errors import SpecError
from kopfka.model.names import Role
from kopfka.model.schema import cluster_spec

BASE: dict[str, Any] = {"brokers": {"replicas": 3}}


def parse(spec: dict[str, Any]) -> ClusterSpec:
    return parse_cluster("events", "streaming", spec)


def test_defaults_come_from_the_schema() -> None:
    spec = parse(BASE)
    assert spec.mode == "dedicated"
    assert spec.version == "4.4.0"
    assert spec.image == "kopfka/kafka:4.4.0"
    assert [pool.role for pool in spec.pools] == [Role.CONTROLLER, Role.BROKER]
    assert spec.controller_pool.replicas == 3
    assert spec.controller_pool.storage.size == "10Gi"
    assert spec.broker_pool.storage.size == "100Gi"
    assert spec.broker_pool.storage.delete_claim is False
    assert [(item.name, item.port) for item in spec.listeners] == [("plain", 9092)]
    assert spec.bootstrap_servers == "events-kafka-bootstrap.streaming.svc:9092"


@pytest.mark.parametrize(
    ("brokers", "expected"),
    [
        (1, {"default.replication.factor": "1", "min.insync.replicas": "1"}),
        (2, {"default.replication.factor": "2", "min.insync.replicas": "1"}),
        (3, {"default.replication.factor": "3", "min.insync.replicas": "2"}),
        (9, {"default.replication.factor": "3", "min.insync.replicas": "2"}),
    ],
)
def test_replication_defaults_follow_the_broker_count(
    brokers: int, expected: dict[str, str]
) -> None:
    config = parse({"brokers": {"replicas": brokers}}).config
    assert {key: config[key] for key in expected} == expected
    assert config["offsets.topic.replication.factor"] == expected["default.replication.factor"]


def test_user_config_wins_and_is_written_as_kafka_expects() -> None:
    spec = parse(
        {
            **BASE,
            "kafka": {"config": {"min.insync.replicas": 1, "auto.create.topics.enable": False}},
        }
    )
    assert spec.config["min.insync.replicas"] == "1"
    assert spec.config["auto.create.topics.enable"] == "false"


def test_combined_mode_uses_the_controller_pool_as_brokers() -> None:
    spec = parse({"mode": "combined", "controllers": {"replicas": 1}})
    assert [pool.role for pool in spec.pools] == [Role.COMBINED]
    assert spec.broker_count == 1
    assert spec.config["default.replication.factor"] == "1"


@pytest.mark.parametrize(
    ("pool", "expected_mib"),
    [
        ({}, 1024),
        ({"resources": {"limits": {"memory": "4Gi"}}}, 2048),
        ({"jvm": {"heap": "3Gi"}, "resources": {"limits": {"memory": "4Gi"}}}, 3072),
    ],
)
def test_heap_defaults_to_half_the_memory_limit(pool: dict[str, Any], expected_mib: int) -> None:
    assert parse({"brokers": {"replicas": 3, **pool}}).broker_pool.heap_mib == expected_mib


def test_node_ids_never_overlap_between_roles() -> None:
    spec = parse({"brokers": {"replicas": 999}, "controllers": {"replicas": 5}})
    assert not set(spec.controller_pool.node_ids) & set(spec.broker_pool.node_ids)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SpecError) as error:
        parse(
            {
                "brokers": {"replicas": 1, "jvm": {"heap": "64Mi"}},
                "kafka": {"config": {"default.replication.factor": 2}},
            }
        )
    assert len(error.value.problems) == 2


TLS = {"name": "tls", "port": 9094, "tls": True}
PLAIN = {"name": "plain", "port": 9092}
SCRAM = {"name": "scram", "port": 9095, "authentication": {"type": "scram-sha-512"}}


@pytest.mark.parametrize(
    ("spec", "tls", "operator_bootstrap"),
    [
        (BASE, False, "events-kafka-bootstrap.streaming.svc:9092"),
        # A plaintext listener anywhere in the list: the operator uses it, never the TLS one.
        ({**BASE, "listeners": [TLS, PLAIN]}, True, "events-kafka-bootstrap.streaming.svc:9092"),
        # Every client listener has TLS: the plaintext replication listener of the first brokers.
        (
            {**BASE, "listeners": [TLS]},
            True,
            "events-brokers-0.events-brokers.streaming.svc:9091,"
            "events-brokers-1.events-brokers.streaming.svc:9091,"
            "events-brokers-2.events-brokers.streaming.svc:9091",
        ),
        (
            {"mode": "combined", "controllers": {"replicas": 1}, "listeners": [TLS]},
            True,
            "events-nodes-0.events-nodes.streaming.svc:9091",
        ),
        # A SCRAM listener without TLS is no plaintext listener for the operator either.
        ({**BASE, "listeners": [SCRAM, PLAIN]}, False, "events-kafka-bootstrap.streaming.svc:9092"),
        (
            {"mode": "combined", "controllers": {"replicas": 1}, "listeners": [SCRAM]},
            False,
            "events-nodes-0.events-nodes.streaming.svc:9091",
        ),
    ],
)
def test_operator_bootstrap_never_speaks_plaintext_to_a_tls_listener(
    spec: dict[str, Any], tls: bool, operator_bootstrap: str
) -> None:
    parsed = parse(spec)
    assert parsed.tls is tls
    assert parsed.operator_bootstrap == operator_bootstrap
    # The periodic consumer-lag reader works it out from the stored spec without parsing it all.
    stored = apply_defaults(dict(spec), cluster_spec())
    assert operator_bootstrap_of("events", "streaming", stored) == operator_bootstrap
    # The clients' address (status.bootstrapServers) stays the first listener's.
    port = (spec.get("listeners") or [PLAIN])[0]["port"]
    assert parsed.bootstrap_servers == f"events-kafka-bootstrap.streaming.svc:{port}"


def test_certificate_lifetimes_default_and_are_checked() -> None:
    spec = parse(BASE)
    assert spec.cluster_ca == ClusterCa(secret_name=None, lifetime=Lifetime(1825, 30))
    assert spec.broker_certificates == Lifetime(365, 30)
    own = parse({**BASE, "clusterCa": {"secretName": "my-ca"}})
    assert own.cluster_ca.secret_name == "my-ca"
    with pytest.raises(SpecError, match="renewalDays must be shorter than validityDays"):
        parse({**BASE, "brokerCertificates": {"validityDays": 5, "renewalDays": 5}})
