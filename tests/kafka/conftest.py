"""Fixtures of the Kafka tier: clusters rendered from KafkaCluster specs and run as processes."""

from __future__ import annotations

import contextlib
import gc
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kopfka.kafka.admin import KafkaPythonAdmin
from kopfka.model.cluster import parse_cluster
from kopfka.reconcile import new_cluster_id
from tests.kafka.localkafka import LocalKafka, local_kafka
from tests.kafka.referee import KafkaReferee

KAFKA_VERSION = "4.4.0"
SMALL_POOL = {"storage": {"type": "ephemeral"}, "jvm": {"heap": "384Mi"}}
DEDICATED = {
    "controllers": {"replicas": 3, **SMALL_POOL},
    "brokers": {"replicas": 3, **SMALL_POOL},
    "rack": {"topologyKey": "topology.kubernetes.io/zone"},
}
COMBINED = {"mode": "combined", "controllers": {"replicas": 1, **SMALL_POOL}}


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """3 controllers + 3 brokers, rack-aware, shared by the tests that leave it whole."""
    spec = parse_cluster("tier", "kafka", DEDICATED)
    with local_kafka(
        spec, new_cluster_id(), tmp_path_factory.mktemp("dedicated"), KAFKA_VERSION
    ) as cluster:
        yield cluster


@pytest.fixture(autouse=True)
def _shared_cluster_whole(request: pytest.FixtureRequest) -> None:
    """A test of the shared cluster starts with every node of it running. A node that exited
    by itself since the last test (every test that stops one starts it again) fails this test
    with the node's exit code and the end of its log, and is started again, so that the tests
    after it run on a whole cluster instead of failing for the same reason."""
    if "kafka" not in request.fixturenames:
        return
    kafka: LocalKafka = request.getfixturevalue("kafka")
    exited = {
        node.pod: node.process.poll() if node.process else None
        for node in kafka.nodes
        if not node.running
    }
    if not exited:
        return
    logs = {
        node.pod: node.log.read_text(errors="replace")[-4000:]
        for node in kafka.nodes
        if node.pod in exited
    }
    for node in kafka.nodes:
        if node.pod in exited:
            node.process = None
            kafka.start_node(node)
    kafka.wait_ready()
    report = "\n".join(
        f"{pod} exited with code {code}; end of its log:\n{logs[pod]}"
        for pod, code in exited.items()
    )
    pytest.fail(f"a node of the shared cluster exited before this test began:\n{report}")


@pytest.fixture
def admin(kafka: LocalKafka) -> Iterator[KafkaPythonAdmin]:
    client = KafkaPythonAdmin(kafka.bootstrap())
    yield client
    client.close()


@pytest.fixture
def combined(tmp_path: Path) -> Iterator[LocalKafka]:
    spec = parse_cluster("solo", "kafka", COMBINED)
    with local_kafka(spec, new_cluster_id(), tmp_path, KAFKA_VERSION) as cluster:
        yield cluster


@pytest.fixture(scope="session", autouse=True)
def _client_sockets_collected() -> Iterator[None]:
    """The sockets kafka-python leaves to stopped brokers (below) are collected here, at the end
    of the tier, where they are expected; left to the session's end, pytest would report them."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """kafka-python can leave a socket (a TLS one too) to a stopped broker for the garbage
    collector; that is the client's bookkeeping, not a failure of the cluster under test."""
    leak = pytest.mark.filterwarnings(
        r"ignore:Exception ignored in. <(socket\.socket|ssl\.SSLSocket)"
        ":pytest.PytestUnraisableExceptionWarning"
    )
    for item in items:
        if "tests/kafka/" in str(item.path):
            item.add_marker(leak)


@pytest.fixture(scope="session")
def referee() -> Iterator[Callable[[str], KafkaReferee]]:
    """`referee(version)`: Kafka's own config parsing and validation (tests/kafka/referee.py),
    one JVM per Kafka version, started on first use and stopped at the end of the session."""
    with contextlib.ExitStack() as stack:
        started: dict[str, KafkaReferee] = {}

        def referee_for(version: str) -> KafkaReferee:
            if version not in started:
                started[version] = stack.enter_context(KafkaReferee(version))
            return started[version]

        yield referee_for
