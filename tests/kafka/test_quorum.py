"""The rendered cluster forms a quorum, registers its brokers, and reports itself truthfully."""

from __future__ import annotations

from kopfka.kafka.admin import KafkaPythonAdmin
from tests.kafka.localkafka import LocalKafka, wait_for


def test_quorum_forms_with_every_controller_as_voter(
    kafka: LocalKafka, admin: KafkaPythonAdmin
) -> None:
    quorum = wait_for("a quorum leader", lambda: (q := admin.quorum()).leader_id >= 0 and q)
    assert {voter.node_id for voter in quorum.voters} == {9000, 9001, 9002}
    assert quorum.leader_id in {9000, 9001, 9002}
    assert {observer.node_id for observer in quorum.observers} >= {0, 1, 2}


def test_every_broker_registers_with_its_rack(kafka: LocalKafka, admin: KafkaPythonAdmin) -> None:
    cluster = wait_for("3 brokers", lambda: (c := admin.cluster()).broker_ids == {0, 1, 2} and c)
    assert {b.node_id: b.rack for b in cluster.brokers} == {
        node.node_id: kafka.rack_of(node) for node in kafka.brokers
    }
    assert {b.host for b in cluster.brokers} == {node.host for node in kafka.brokers}


def test_cluster_id_in_status_is_the_one_on_disk(
    kafka: LocalKafka, admin: KafkaPythonAdmin
) -> None:
    assert admin.cluster().cluster_id == kafka.cluster_id
    for node in kafka.nodes:
        meta = node.meta_properties()
        assert meta["cluster.id"] == kafka.cluster_id
        assert int(meta["node.id"]) == node.node_id


def test_metadata_version_is_finalized(admin: KafkaPythonAdmin) -> None:
    level = admin.metadata_version_level()
    assert level is not None
    assert level > 0


def test_static_settings_are_the_rendered_ones(kafka: LocalKafka, admin: KafkaPythonAdmin) -> None:
    config = admin.broker_config(0)
    static = config["offsets.topic.replication.factor"]
    assert (static.value, static.source) == ("3", "STATIC_BROKER_CONFIG")
    assert config["broker.rack"].value == kafka.rack_of(kafka.node(0))
    # KRaft controllers turn min.insync.replicas into a cluster-wide dynamic default at startup.
    assert config["min.insync.replicas"].value == kafka.spec.config["min.insync.replicas"]


def test_dynamic_setting_round_trip(admin: KafkaPythonAdmin) -> None:
    admin.alter_broker_config(1, {"log.retention.ms": "3600000"})
    changed = wait_for("the new value", lambda: admin.broker_config(1).get("log.retention.ms"))
    assert (changed.value, changed.source) == ("3600000", "DYNAMIC_BROKER_CONFIG")
    admin.alter_broker_config(1, {"log.retention.ms": None})

    def removed() -> bool:
        current = admin.broker_config(1).get("log.retention.ms")
        return current is None or current.source != "DYNAMIC_BROKER_CONFIG"

    wait_for("the value removed", removed)
