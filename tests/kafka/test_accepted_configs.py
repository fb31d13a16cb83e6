"""Every config the model accepts passes Kafka's own validation for its version.

Configs are drawn from Kafka's own definitions (tests/support/settings.py): valid values and values
of any other shape. Whatever the model accepts is rendered into the file a pod runs and handed to
Kafka's start-up validation (`KafkaConfig`, for both roles); topic configs it accepts go through
the validation the controller runs for CreateTopics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kopfka.model import kafka_config
from kopfka.model.cluster import parse_cluster
from kopfka.model.errors import SpecError
from kopfka.model.topic import check_against_cluster, parse_topic
from tests.kafka.entrypoint_render import EntrypointRenderer
from tests.kafka.referee import KafkaReferee
from tests.support.settings import configs

VERSIONS = kafka_config.SUPPORTED_KAFKA_VERSIONS
EXAMPLES = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def renderer() -> Iterator[EntrypointRenderer]:
    made = EntrypointRenderer()
    yield made
    made.close()


def _cluster(version: str, config: dict[str, Any], mode: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"mode": mode, "kafka": {"version": version, "config": config}}
    if mode == "dedicated":
        spec["brokers"] = {"replicas": 3}
    return spec


@pytest.mark.parametrize("version", VERSIONS)
@EXAMPLES
@given(data=st.data())
def test_accepted_broker_and_controller_configs_pass_kafka_start_up_validation(
    version: str,
    data: st.DataObject,
    renderer: EntrypointRenderer,
    referee: Callable[[str], KafkaReferee],
) -> None:
    config = data.draw(configs(version, valid=data.draw(st.booleans())), label="config")
    mode = data.draw(st.sampled_from(["dedicated", "combined"]), label="mode")
    try:
        spec = parse_cluster("events", "streaming", _cluster(version, config, mode))
    except SpecError:
        return
    for pool in spec.pools:
        problem = referee(version).validate_server(renderer.final_file(spec, pool))
        assert problem is None, f"{pool.role.value}: {problem}"


@pytest.mark.parametrize("version", VERSIONS)
@EXAMPLES
@given(data=st.data())
def test_accepted_topic_configs_pass_kafka_topic_validation(
    version: str, data: st.DataObject, referee: Callable[[str], KafkaReferee]
) -> None:
    config = data.draw(
        configs(version, scope="topic", valid=data.draw(st.booleans())), label="config"
    )
    cluster = parse_cluster("events", "streaming", _cluster(version, {}, "dedicated"))
    try:
        topic = parse_topic("orders", {"cluster": "events", "config": config})
    except SpecError:
        return
    if check_against_cluster(topic, cluster):
        return
    assert referee(version).validate_topic(topic.config) is None
