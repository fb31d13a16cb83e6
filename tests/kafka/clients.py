"""Plain Kafka clients for the tests: make a topic, produce with acks=all, read everything back.
`security` is kafka-python's settings for a TLS listener (security_protocol, ssl_cafile, ...)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import kafka.errors
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient

from kopfka.kafka.admin import _bootstrapped_client
from tests.kafka.localkafka import wait_for


def connects(bootstrap: str, **security: Any) -> bool:
    """Whether a client with kafka-python's `security` settings gets an answer from Kafka at
    `bootstrap` within 10 s (a refused login or handshake gets none)."""
    try:
        _bootstrapped_client(
            bootstrap_servers=bootstrap,
            request_timeout_ms=10000,
            bootstrap_timeout_ms=10000,
            **security,
        ).close()
    except kafka.errors.KafkaError:
        return False
    return True


@contextlib.contextmanager
def admin_client(
    bootstrap: str, *, security: Mapping[str, Any] | None = None
) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=30000, **(security or {})
    )
    try:
        yield client
    finally:
        client.close()


def create_topic(
    bootstrap: str,
    name: str,
    *,
    partitions: int,
    replicas: int,
    min_isr: int = 1,
    security: Mapping[str, Any] | None = None,
) -> None:
    with admin_client(bootstrap, security=security) as client:
        client.create_topics(
            {
                name: {
                    "num_partitions": partitions,
                    "replication_factor": replicas,
                    "configs": {"min.insync.replicas": str(min_isr)},
                }
            }
        )
        wait_for(f"topic {name} leaders", lambda: _all_led(client, name, partitions))


def _all_led(client: KafkaAdminClient, name: str, partitions: int) -> bool:
    topic = client.describe_topics([name])[0]
    return len(topic["partitions"]) == partitions and all(
        p["leader_id"] >= 0 for p in topic["partitions"]
    )


def produce(
    bootstrap: str,
    topic: str,
    messages: list[bytes],
    *,
    security: Mapping[str, Any] | None = None,
) -> int:
    """Sends with acks=all and idempotence; returns how many the cluster acknowledged."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        retries=10,
        **(security or {}),
    )
    try:
        futures = [producer.send(topic, value=message) for message in messages]
        producer.flush(timeout=60)
        return sum(1 for future in futures if future.get(timeout=60) is not None)
    finally:
        producer.close(timeout=10)


def consume_all(
    bootstrap: str,
    topic: str,
    expected: int,
    *,
    timeout: float = 120,
    security: Mapping[str, Any] | None = None,
) -> list[bytes]:
    """Reads every partition from the beginning until `expected` messages arrived."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        consumer_timeout_ms=1000,
        **(security or {}),
    )
    try:
        partitions = wait_for(
            f"partitions of {topic}", lambda: consumer.partitions_for_topic(topic)
        )
        consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        consumer.seek_to_beginning()
        received: list[bytes] = []

        def enough() -> bool:
            received.extend(record.value for record in consumer)
            return len(received) >= expected

        wait_for(f"{expected} messages from {topic}", enough, timeout=timeout)
        return received
    finally:
        consumer.close()
