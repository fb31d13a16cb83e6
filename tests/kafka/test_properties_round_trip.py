"""One file, one meaning: for any spec.kafka.config the model accepts, Kafka reads from the file a
pod runs exactly the model's keys and values, and the operator's own keys unchanged.

The file is rendered by kopfka, passed through the broker image's entrypoint (which fills the
per-pod tokens) and parsed by the JDK's own `java.util.Properties`, as `kafka.Kafka` loads it.
Keys and values are arbitrary: any Unicode, control characters, backslashes, `=`, `:`, `#`, `!`,
white space, and text that looks like the entrypoint's `${...}` tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kopfka.model import kafka_config
from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.errors import SpecError
from tests.kafka.entrypoint_render import EntrypointRenderer
from tests.kafka.referee import KafkaReferee

VERSION = kafka_config.DEFAULT_KAFKA_VERSION
BASE: dict[str, Any] = {
    "kafka": {"version": VERSION},
    "brokers": {"replicas": 3},
    "rack": {"topologyKey": "topology.kubernetes.io/zone"},
}
STRING_KEYS = sorted(
    key
    for key, setting in kafka_config.server_settings(VERSION).items()
    if setting.type == "STRING" and setting.validator is None and not kafka_config.is_owned(key)
)
tricky_text = st.text(
    alphabet=st.characters(codec="utf-8")
    | st.sampled_from(["\\", "=", ":", "#", "!", " ", "\t", "\n", "\r", "\f", "$", "{", "}", "é"]),
    max_size=24,
) | st.sampled_from(["${POD_NAME}", "${KOPFKA_NODE_ID}", "${file:/etc/passwd:x}", "a\\", "\\u0041"])
keys = (
    st.sampled_from(STRING_KEYS)
    | st.sampled_from(["log.dirs", "node.id", "advertised.listeners", "Log.Dirs", " log.dirs"])
    | st.sampled_from(STRING_KEYS).flatmap(
        lambda key: st.sampled_from(
            [f"{key} ", f"{key}\\", f"{key}=x", f"{key}\nnode.id", key.upper()]
        )
    )
    | tricky_text
)


def _spec(config: dict[str, str]) -> ClusterSpec:
    return parse_cluster(
        "events", "streaming", {**BASE, "kafka": {"version": VERSION, "config": config}}
    )


@pytest.fixture(scope="module")
def renderer() -> Iterator[EntrypointRenderer]:
    made = EntrypointRenderer()
    yield made
    made.close()


@pytest.fixture(scope="module")
def operator_keys(
    renderer: EntrypointRenderer, referee: Callable[[str], KafkaReferee]
) -> dict[str, dict[str, str]]:
    """What Kafka reads for each role when the user sets nothing but the operator's defaults."""
    spec = _spec({})
    return {
        pool.role.value: referee(VERSION).parse_properties(renderer.final_file(spec, pool))
        for pool in spec.pools
    }


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(config=st.dictionaries(keys, tricky_text, max_size=4))
def test_kafka_reads_exactly_the_accepted_config_and_the_operators_keys(
    config: dict[str, str],
    renderer: EntrypointRenderer,
    referee: Callable[[str], KafkaReferee],
    operator_keys: dict[str, dict[str, str]],
) -> None:
    try:
        spec = _spec(config)
    except SpecError as error:
        message = str(error)
        # Refused: and the message names a key that was given.
        assert any(f"spec.kafka.config.{key}" in message for key in config), message
        return
    for pool in spec.pools:
        read = referee(VERSION).parse_properties(renderer.final_file(spec, pool))
        expected = {**operator_keys[pool.role.value], **spec.config}
        assert read == expected
        for key in kafka_config.OWNED_KEYS & read.keys():
            assert read[key] == operator_keys[pool.role.value][key]
