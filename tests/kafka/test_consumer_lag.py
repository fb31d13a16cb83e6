"""Consumer lag as the operator reads it (`KafkaPythonAdmin.consumer_lag`) and serves it
(`handlers.lag.collect_cluster` into `kafka_consumergroup_lag`), against the tier's cluster of
3 controllers and 3 brokers: a group that commits part of what it read lags by exactly the rest,
per partition; the lag grows by what is written while the consumer is paused and drains to 0 once
it resumes and commits; a deleted group's series go, and a cluster that cannot be read keeps none.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata
from prometheus_client import REGISTRY

from kopfka.handlers import lag
from kopfka.kafka.admin import KafkaPythonAdmin, unreachable
from tests.kafka.clients import admin_client, create_topic
from tests.kafka.localkafka import LocalKafka, wait_for

PARTITIONS = 3
# (namespace, name) under which the collector records the tier's cluster.
NAMESPACE = "lag-tier"
CLUSTER = "events"
# A bootstrap address that does not resolve (a cluster whose Service is gone): it cannot be read.
# (A refused connection would do too, but kafka-python leaves such sockets to the garbage
# collector, which may come after the tier's own collection of them.)
NOWHERE = "lag-nowhere.invalid:9092"


def _name(what: str) -> str:
    return f"lag-{what}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def topic(kafka: LocalKafka) -> Iterator[str]:
    name = _name("topic")
    create_topic(kafka.bootstrap(), name, partitions=PARTITIONS, replicas=3, min_isr=2)
    yield name
    with admin_client(kafka.bootstrap()) as client:
        client.delete_topics([name])


@pytest.fixture
def groups(kafka: LocalKafka) -> Iterator[list[str]]:
    """Group ids for the test to use; whichever exist at its end are deleted."""
    made: list[str] = []
    yield made
    with admin_client(kafka.bootstrap()) as client:
        existing = {group["group_id"] for group in client.list_groups()}
        if gone := [group for group in made if group in existing]:
            client.delete_groups(gone)


def produce(bootstrap: str, topic: str, counts: Mapping[int, int]) -> None:
    """`counts[p]` messages to partition p, acknowledged by every in-sync replica."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    try:
        futures = [
            producer.send(topic, value=f"{partition}-{index}".encode(), partition=partition)
            for partition, count in counts.items()
            for index in range(count)
        ]
        producer.flush(timeout=60)
        for future in futures:
            future.get(timeout=60)
    finally:
        producer.close(timeout=10)


def consumer(bootstrap: str, group: str, topic: str) -> KafkaConsumer:
    """A consumer of every partition of `topic` from the start, committing only when told."""
    client = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    client.assign([TopicPartition(topic, partition) for partition in range(PARTITIONS)])
    return client


def read_until(client: KafkaConsumer, ends: Mapping[int, int], topic: str) -> None:
    """Poll until the consumer's position in each partition is at `ends`."""

    def there() -> bool:
        client.poll(timeout_ms=500)
        return all(client.position(TopicPartition(topic, p)) == end for p, end in ends.items())

    wait_for(f"the consumer at {dict(ends)}", there, timeout=60)


def commit(client: KafkaConsumer, topic: str, offsets: Mapping[int, int]) -> None:
    client.commit(
        {
            TopicPartition(topic, p): OffsetAndMetadata(offset, "", -1)
            for p, offset in offsets.items()
        }
    )


def lags_of(admin: KafkaPythonAdmin, group: str) -> dict[tuple[str, int], int]:
    return {
        (item.topic, item.partition): item.lag
        for item in admin.consumer_lag()
        if item.group == group
    }


def wait_for_lag(
    admin: KafkaPythonAdmin, group: str, topic: str, expected: Mapping[int, int]
) -> None:
    wanted = {(topic, partition): lag for partition, lag in expected.items()}
    seen: list[dict[tuple[str, int], int]] = []

    def reported() -> bool:
        seen.append(lags_of(admin, group))
        return seen[-1] == wanted

    try:
        wait_for(f"lag {wanted} of {group}", reported, timeout=30)
    except AssertionError:
        raise AssertionError(f"expected {wanted}, Kafka reported {seen[-1:]}") from None


def test_lag_is_what_a_group_has_not_committed_and_follows_it(
    kafka: LocalKafka, admin: KafkaPythonAdmin, topic: str, groups: list[str]
) -> None:
    bootstrap = kafka.bootstrap()
    group = _name("billing")
    groups.append(group)
    written = {0: 10, 1: 20, 2: 30}
    produce(bootstrap, topic, written)
    client = consumer(bootstrap, group, topic)
    try:
        read_until(client, written, topic)
        commit(client, topic, {0: 4, 1: 20, 2: 10})
        wait_for_lag(admin, group, topic, {0: 6, 1: 0, 2: 20})
        details = {(item.topic, item.partition): item for item in admin.consumer_lag()}
        assert details[(topic, 2)].committed == 10
        assert details[(topic, 2)].end == 30

        client.pause(*client.assignment())
        produce(bootstrap, topic, {0: 5, 1: 5, 2: 5})
        assert not client.poll(timeout_ms=500), "a paused consumer reads nothing"
        wait_for_lag(admin, group, topic, {0: 11, 1: 5, 2: 25})

        client.resume(*client.assignment())
        read_until(client, {0: 15, 1: 25, 2: 35}, topic)
        client.commit()
        wait_for_lag(admin, group, topic, {0: 0, 1: 0, 2: 0})
    finally:
        client.close(autocommit=False)


def _sample(group: str, topic: str, partition: int, cluster: str = CLUSTER) -> float | None:
    value: float | None = REGISTRY.get_sample_value(
        "kafka_consumergroup_lag",
        {
            "namespace": NAMESPACE,
            "cluster": cluster,
            "consumergroup": group,
            "topic": topic,
            "partition": str(partition),
        },
    )
    return value


def test_the_collector_serves_the_lag_and_drops_what_is_gone(
    kafka: LocalKafka, topic: str, groups: list[str]
) -> None:
    bootstrap = kafka.bootstrap()
    staying, leaving = _name("staying"), _name("leaving")
    groups.extend([staying, leaving])
    produce(bootstrap, topic, {0: 7, 1: 3, 2: 0})
    for group, offsets in ((staying, {0: 2, 1: 3}), (leaving, {0: 7, 1: 1, 2: 0})):
        client = consumer(bootstrap, group, topic)
        try:
            commit(client, topic, offsets)
        finally:
            client.close(autocommit=False)

    assert lag.collect_cluster(NAMESPACE, CLUSTER, bootstrap)
    assert [_sample(staying, topic, p) for p in range(PARTITIONS)] == [5, 0, None]
    assert [_sample(leaving, topic, p) for p in range(PARTITIONS)] == [0, 2, 0]
    # A second cluster's series (the same Kafka here) are its own.
    assert lag.collect_cluster(NAMESPACE, "mirror", bootstrap)
    assert _sample(staying, topic, 0, cluster="mirror") == 5

    with admin_client(bootstrap) as client:
        client.delete_groups([leaving])

    def leaving_gone() -> bool:
        assert lag.collect_cluster(NAMESPACE, CLUSTER, bootstrap)
        return all(_sample(leaving, topic, p) is None for p in range(PARTITIONS))

    wait_for(f"the series of deleted group {leaving} gone", leaving_gone, timeout=30)
    assert _sample(staying, topic, 0) == 5

    # A cluster that cannot be read keeps no series, is left alone for a while, and does not
    # touch the others.
    assert not lag.collect_cluster(NAMESPACE, CLUSTER, NOWHERE)
    assert _sample(staying, topic, 0) is None
    assert unreachable.recently(NOWHERE)
    assert _sample(staying, topic, 0, cluster="mirror") == 5
    lag.collect_cluster(NAMESPACE, "mirror", NOWHERE)
    assert _sample(staying, topic, 0, cluster="mirror") is None
