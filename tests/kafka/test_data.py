"""The data plane: acknowledged messages survive restarts; a graceful stop hands leadership over;
storage formatting happens once."""

from __future__ import annotations

from kopfka.kafka.admin import KafkaPythonAdmin
from kopfka.kafka.facts import TopicFacts
from tests.kafka.clients import consume_all, create_topic, produce
from tests.kafka.localkafka import LocalKafka, wait_for


def messages(prefix: str, count: int) -> list[bytes]:
    return [f"{prefix}-{index}".encode() for index in range(count)]


def described(admin: KafkaPythonAdmin, topic: str) -> TopicFacts:
    """The topic as the admin client's broker sees it; its metadata may lag a fresh creation."""
    return wait_for(f"{topic} in the metadata", lambda: admin.topics([topic]).get(topic))


def in_sync(admin: KafkaPythonAdmin, topic: str) -> bool:
    return all(not p.under_replicated for p in described(admin, topic).partitions)


def test_produce_acks_all_and_consume_across_brokers(
    kafka: LocalKafka, admin: KafkaPythonAdmin
) -> None:
    create_topic(kafka.bootstrap(), "spread", partitions=6, replicas=3, min_isr=2)
    leaders = {p.leader for p in described(admin, "spread").partitions}
    assert leaders == {0, 1, 2}, "six partitions should be led by every broker"
    sent = messages("spread", 600)
    assert produce(kafka.bootstrap(), "spread", sent) == len(sent)
    assert sorted(consume_all(kafka.bootstrap(), "spread", len(sent))) == sorted(sent)


def test_graceful_stop_moves_leadership_away(kafka: LocalKafka, admin: KafkaPythonAdmin) -> None:
    create_topic(kafka.bootstrap(), "handover", partitions=6, replicas=3, min_isr=2)
    broker = kafka.node(2)
    led_before = [
        p.partition for p in described(admin, "handover").partitions if p.leader == broker.node_id
    ]
    assert led_before, "broker 2 should lead some partitions"
    code = kafka.stop_node(broker)
    assert code in (0, 143), f"unclean exit {code}"
    assert "controlled shutdown" in broker.log.read_text().lower()
    partitions = described(admin, "handover").partitions
    assert all(p.leader not in (-1, broker.node_id) for p in partitions)
    kafka.start_node(broker)
    kafka.wait_ready([broker])
    wait_for("ISR complete again", lambda: in_sync(admin, "handover"))


def test_restarted_broker_keeps_its_data_and_rejoins_the_isr(
    kafka: LocalKafka, admin: KafkaPythonAdmin
) -> None:
    create_topic(kafka.bootstrap(), "durable", partitions=3, replicas=3, min_isr=2)
    before = messages("before", 300)
    assert produce(kafka.bootstrap(), "durable", before) == len(before)
    broker = kafka.node(1)
    meta_before = broker.meta_properties()
    kafka.stop_node(broker)
    during = messages("during", 300)
    assert produce(kafka.bootstrap(), "durable", during) == len(during)

    kafka.start_node(broker)
    kafka.wait_ready([broker])
    wait_for("broker 1 back in every ISR", lambda: in_sync(admin, "durable"))
    assert broker.meta_properties() == meta_before, "storage must not be formatted again"
    assert "already formatted" in broker.log.read_text()

    # Only broker 1 left: everything acknowledged must be readable from its copy alone.
    others = [node for node in kafka.brokers if node is not broker]
    for node in others:
        kafka.stop_node(node)
    try:
        alone = f"{broker.host}:{kafka.spec.listeners[0].port}"
        received = consume_all(alone, "durable", len(before) + len(during))
        assert sorted(received) == sorted(before + during)
    finally:
        for node in others:
            kafka.start_node(node)
        kafka.wait_ready(others)
        wait_for("every ISR complete", lambda: in_sync(admin, "durable"))


def test_combined_single_node_serves_clients(combined: LocalKafka) -> None:
    create_topic(combined.bootstrap(), "solo", partitions=2, replicas=1)
    sent = messages("solo", 100)
    assert produce(combined.bootstrap(), "solo", sent) == len(sent)
    assert sorted(consume_all(combined.bootstrap(), "solo", len(sent))) == sorted(sent)
