"""Broker and controller metrics: every node serves the documented families on its `metrics` port,
the values follow what happens in Kafka, and a rule change reaches running nodes without a restart.

The JMX exporter runs as the broker image's entrypoint starts it for a pod, with the ConfigMap that
`render/metrics.py` makes (tests/kafka/localkafka.py).
"""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kopfka.model.cluster import parse_cluster
from kopfka.render import metrics
from tests.kafka.clients import consume_all, create_topic, produce
from tests.kafka.conftest import DEDICATED
from tests.kafka.localkafka import LocalKafka, Node, wait_for
from tests.support import waiting

# The agent's own JVM collectors, on every node (docs/monitoring.md).
JVM_FAMILIES = {
    "jvm_memory_used_bytes",
    "jvm_memory_pool_used_bytes",
    "jvm_gc_collection_seconds_count",
    "jvm_threads_current",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
}
_SUFFIXES = ("", "_count", "_sum")
# Kafka makes a request type's meters when the node first serves one. A follower controller may
# have served none: it can learn the quorum leader from the answers to its own requests.
SERVED_REQUESTS = {"kafka_network_requests_total", "kafka_network_request_errors_total"}

Samples = dict[str, list[tuple[dict[str, str], float]]]


def scrape(node: Node) -> Samples:
    """Every sample the node serves now, by sample name."""
    with urllib.request.urlopen(node.metrics_url, timeout=30) as response:
        text = response.read().decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def total(nodes: list[Node], name: str, **labels: str) -> float:
    """The sum of a family's samples over `nodes`, optionally of those with `labels`."""
    return sum(
        value
        for node in nodes
        for sample_labels, value in scrape(node).get(name, [])
        if labels.items() <= sample_labels.items()
    )


def largest(nodes: list[Node], name: str) -> float:
    """The largest sample of a family over `nodes` (what the active controller reports, when
    the others report 0)."""
    return max(value for node in nodes for _, value in scrape(node).get(name, []))


def expected_families(node: Node) -> set[str]:
    role = node.pool.role
    served = {metrics.ALL_NODES}
    if role.is_broker:
        served.add(metrics.BROKERS)
    if role.is_controller:
        served.add(metrics.CONTROLLERS)
    expected = {family.name for family in metrics.FAMILIES if family.on in served}
    if not role.is_broker:
        expected -= SERVED_REQUESTS
    return expected | JVM_FAMILIES


def missing_families(node: Node) -> set[str]:
    names = set(scrape(node))
    return {
        family
        for family in expected_families(node)
        if not any(family + suffix in names for suffix in _SUFFIXES)
    }


@pytest.fixture(scope="module")
def traffic(kafka: LocalKafka) -> str:
    """A topic on every broker that clients wrote to and read from, so that the per-topic and
    per-request families exist everywhere."""
    create_topic(kafka.bootstrap(), "metered", partitions=6, replicas=3, min_isr=1)
    sent = [f"metered-{index}".encode() for index in range(300)]
    assert produce(kafka.bootstrap(), "metered", sent) == len(sent)
    assert len(consume_all(kafka.bootstrap(), "metered", len(sent))) == len(sent)
    return "metered"


def test_every_node_serves_the_documented_families(kafka: LocalKafka, traffic: str) -> None:
    for node in kafka.nodes:
        waiting.wait_for(
            lambda node=node: not missing_families(node),
            timeout=60,
            what=f"every documented family on {node.pod} ({node.metrics_url})",
            describe=lambda node=node: f"missing {sorted(missing_families(node))}",
            retry_on=(OSError,),
        )
    assert not {family.name for family in metrics.FAMILIES} - set().union(
        *(expected_families(node) for node in kafka.nodes)
    ), "every family is expected somewhere"


def test_one_active_controller_and_a_quorum_leader_everywhere(kafka: LocalKafka) -> None:
    def one_active() -> bool:
        return total(kafka.controllers, "kafka_controller_active_controller_count") == 1

    wait_for("exactly one active controller", one_active)
    leaders = {
        value for node in kafka.nodes for _, value in scrape(node)["kafka_raft_current_leader"]
    }
    assert len(leaders) == 1
    assert leaders <= {float(node.node_id) for node in kafka.controllers}
    assert total(kafka.controllers, "kafka_controller_offline_partitions") == 0


def test_bytes_in_grows_while_a_producer_writes(kafka: LocalKafka, traffic: str) -> None:
    before = total(kafka.brokers, "kafka_server_bytes_in_total")
    before_topic = total(kafka.brokers, "kafka_server_topic_messages_in_total", topic=traffic)
    stop = threading.Event()
    sent: list[int] = []

    def write() -> None:
        while not stop.is_set():
            batch = [bytes(1000) for _ in range(200)]
            sent.append(produce(kafka.bootstrap(), traffic, batch))

    writer = threading.Thread(target=write, name="metered-producer")
    writer.start()
    try:
        # Twice, each time at least 100 kB more: the counter moves while the producer writes.
        seen = before
        for _ in range(2):
            floor = seen + 100_000
            seen = wait_for(
                f"bytes in above {floor:.0f}",
                lambda floor=floor: (
                    (now := total(kafka.brokers, "kafka_server_bytes_in_total")) >= floor and now
                ),
            )
            assert writer.is_alive()
    finally:
        stop.set()
        writer.join(timeout=120)
    assert not writer.is_alive()
    # Every message a leader appended was counted once, on that leader.
    wait_for(
        "messages in of the topic counted",
        lambda: (
            total(kafka.brokers, "kafka_server_topic_messages_in_total", topic=traffic)
            >= before_topic + sum(sent)
        ),
    )


def test_under_replicated_partitions_follow_a_stopped_broker(
    kafka: LocalKafka, traffic: str
) -> None:
    def under_replicated(nodes: list[Node]) -> float:
        return total(nodes, "kafka_server_under_replicated_partitions")

    wait_for("no under-replicated partitions", lambda: under_replicated(kafka.brokers) == 0)
    broker = kafka.node(2)
    others = [node for node in kafka.brokers if node is not broker]
    kafka.stop_node(broker)
    try:
        # Each of the topic's 6 partitions has a replica on the stopped broker; the leaders
        # that remain count them (with every other replicated topic of the cluster).
        wait_for("the topic's partitions under-replicated", lambda: under_replicated(others) >= 6)
        wait_for(
            "two active brokers in the active controller's view",
            lambda: largest(kafka.controllers, "kafka_controller_active_brokers") == 2,
        )
    finally:
        kafka.start_node(broker)
        kafka.wait_ready([broker])
    wait_for(
        "no under-replicated partitions again",
        lambda: under_replicated(kafka.brokers) == 0,
        timeout=180,
    )


@pytest.fixture
def restore_rules(kafka: LocalKafka) -> Iterator[None]:
    yield
    kafka.write_metrics_config()


def test_a_rule_change_reaches_running_nodes(kafka: LocalKafka, restore_rules: None) -> None:
    """The exporter reads its file again at the first scrape after it changed: a rule added to
    the ConfigMap serves its family from the same JVM, which never restarted."""
    node = kafka.brokers[0]
    starts = node.starts
    pid = node.process.pid if node.process else None
    spec = parse_cluster(
        kafka.spec.name,
        kafka.spec.namespace,
        {
            **DEDICATED,
            "metrics": {
                "rules": [
                    {
                        "pattern": r"kafka.coordinator.group<type=GroupMetadataManager, "
                        r"name=NumOffsets><>Value",
                        "name": "kopfka_test_group_offsets",
                        "type": "GAUGE",
                    }
                ],
                "includeObjectNames": ["kafka.coordinator.group:type=GroupMetadataManager,*"],
            },
        },
    )
    assert "kopfka_test_group_offsets" not in scrape(node)
    kafka.write_metrics_config(spec)
    wait_for("the new rule's family", lambda: "kopfka_test_group_offsets" in scrape(node))
    assert node.starts == starts
    assert node.process is not None
    assert node.process.pid == pid
    assert node.running
