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
from kopfka.render.properties import escape_value
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


# Text Java trims differently from Python: String.trim() stops at U+0020 and lists split on ASCII
# white space only. The first was found by the test above.
TRIM_TRAPS = [
    ("max.connections.per.ip.overrides", "\xa0"),
    ("compression.type", "\xa0zstd"),
    ("log.cleanup.policy", "compact,\x01delete"),
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("key", "value"), TRIM_TRAPS)
def test_text_java_does_not_trim_is_refused_by_the_model_and_by_kafka(
    version: str,
    key: str,
    value: str,
    renderer: EntrypointRenderer,
    referee: Callable[[str], KafkaReferee],
) -> None:
    with pytest.raises(SpecError, match=key):
        parse_cluster("events", "streaming", _cluster(version, {key: value}, "combined"))
    spec = parse_cluster("events", "streaming", _cluster(version, {}, "combined"))
    # The same setting appended to a file the model accepts: the last value of a key wins.
    line = f"\n{key}={escape_value(value)}\n".encode("iso-8859-1")
    assert referee(version).validate_server(renderer.final_file(spec, spec.pools[0]) + line)
