"""Each item of jvm.options reaches java as exactly one argument, after the operator's own options,
so it wins; the heap is the one the spec asked for. Through the broker image's real entrypoint."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kopfka.model.cluster import parse_cluster
from tests.kafka.entrypoint_render import EntrypointRenderer

OPTIONS = [
    "-Dkopfka.test=two words",
    "-Dkopfka.glob=*",
    "-Dkopfka.quote='x\"y'",
    "-XX:MaxGCPauseMillis=50",
    "-Xmx768m",
]


@pytest.fixture(scope="module")
def renderer() -> Iterator[EntrypointRenderer]:
    made = EntrypointRenderer()
    yield made
    made.close()


def test_each_option_is_one_java_argument_after_the_defaults(renderer: EntrypointRenderer) -> None:
    spec = parse_cluster(
        "events",
        "streaming",
        {
            "brokers": {
                "replicas": 3,
                "jvm": {"heap": "512Mi", "options": OPTIONS},
                "resources": {"limits": {"memory": "2Gi"}},
            }
        },
    )
    command = renderer.kafka_command(spec, spec.broker_pool)
    assert command[-2:] == ["kafka.Kafka", command[-1]]
    positions = [command.index(option) for option in OPTIONS]
    assert positions == sorted(positions)
    # The operator's heap comes first; the option's -Xmx comes later and wins.
    assert command.index("-Xmx512m") < command.index("-Xmx768m")
    assert command.index("-XX:MaxGCPauseMillis=20") < command.index("-XX:MaxGCPauseMillis=50")


def test_no_options_add_no_argument(renderer: EntrypointRenderer) -> None:
    spec = parse_cluster("events", "streaming", {"brokers": {"replicas": 3}})
    command = renderer.kafka_command(spec, spec.broker_pool)
    assert "" not in command
    assert command[-2] == "kafka.Kafka"
