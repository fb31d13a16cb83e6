"""Kafka's own configuration rules, held against kopfka (docs/kafka-config-tables.md).

The committed config tables must be what the Kafka jars say now; the server.properties that kopfka
renders must pass Kafka's own start-up validation; and the referee itself must answer as Kafka and
the JDK do. All of it against the jars of both served Kafka releases (broker-image/versions.env).
"""

from __future__ import annotations

import difflib
import runpy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from kopfka.model import names
from kopfka.model.cluster import ClusterSpec, Pool, parse_cluster
from kopfka.render.config import server_properties
from tests.kafka.conftest import COMBINED, DEDICATED
from tests.kafka.referee import KafkaReferee, config_table

REPO = Path(__file__).resolve().parents[2]
TABLES = REPO / "operator" / "kopfka" / "model" / "kafka_configs"
JVM_FLAGS = REPO / "operator" / "kopfka" / "model" / "jvm_flags.json"
Referee = Callable[[str], KafkaReferee]


def served_versions() -> list[str]:
    """KAFKA_VERSION and KAFKA_PREVIOUS_VERSION, as mk/broker.mk reads them."""
    pins = dict(
        line.split("=", 1)
        for line in (REPO / "broker-image" / "versions.env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    return [pins["KAFKA_VERSION"], pins["KAFKA_PREVIOUS_VERSION"]]


VERSIONS = served_versions()
LATEST = VERSIONS[0]


# -- (a) the committed tables are the jars' ------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_committed_table_is_what_the_jars_say(version: str) -> None:
    committed_path = TABLES / f"{version}.json"
    committed = committed_path.read_text(encoding="utf-8") if committed_path.exists() else ""
    generated = config_table(version)
    if committed != generated:
        diff = difflib.unified_diff(
            committed.splitlines(),
            generated.splitlines(),
            f"committed {version}.json",
            f"Kafka {version}'s jars",
            lineterm="",
        )
        shown = "\n".join(list(diff)[:60])
        pytest.fail(
            f"{committed_path.relative_to(REPO)} is out of date with Kafka {version}'s jars; "
            f"run `make kafka-config-tables` and commit the result.\n{shown}"
        )


# -- (b) kopfka's server.properties passes Kafka's start-up validation ---------------------------


def with_version(spec: Mapping[str, Any], version: str) -> dict[str, Any]:
    return {**spec, "kafka": {**spec.get("kafka", {}), "version": version}}


def pod_properties(spec: ClusterSpec, pool: Pool, ordinal: int = 0) -> bytes:
    """server.properties as the entrypoint writes it for one pod: the tokens filled in."""
    text = server_properties(spec, pool)
    tokens = {
        "${KOPFKA_NODE_ID}": str(pool.node_id(ordinal)),
        "${POD_NAME}": names.pod_name(spec.name, pool.role, ordinal),
        "${KOPFKA_BIND_ADDRESS}": "127.0.0.1",
        "${KOPFKA_RACK}": "zone-a",
        "${KOPFKA_TLS_DIR}": "/etc/kopfka/tls",
    }
    for token, value in tokens.items():
        text = text.replace(token, value)
    assert "${" not in text, text
    return text.encode()


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("cluster", "spec"), [("tier", DEDICATED), ("solo", COMBINED)], ids=["3+3", "combined"]
)
def test_rendered_server_properties_pass_kafka_validation(
    referee: Referee, version: str, cluster: str, spec: Mapping[str, Any]
) -> None:
    kafka = referee(version)
    parsed = parse_cluster(cluster, "kafka", with_version(spec, version))
    for pool in parsed.pools:
        data = pod_properties(parsed, pool)
        assert kafka.validate_server(data) is None, f"{pool.role} ({version}):\n{data.decode()}"
        assert kafka.validate_server(data + b"num.partitions=0\n") == (
            "Invalid value 0 for configuration num.partitions: Value must be at least 1"
        )


# -- (c) topic configs as the controller checks them ---------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_topic_validation(referee: Referee, version: str) -> None:
    kafka = referee(version)
    assert kafka.validate_topic({"retention.ms": "1000"}) is None
    assert kafka.validate_topic({"retention.ms": "abc"}) == (
        "Invalid value abc for configuration retention.ms: Not a number of type LONG"
    )
    assert kafka.validate_topic({"retention.mss": "1000"}) == (
        "Unknown topic config name: retention.mss"
    )


# -- (d) java.util.Properties, byte for byte ----------------------------------------------------

# (file bytes, what Properties.load(InputStream) reads), reasoned out from the Properties javadoc.
PROPERTIES_CASES = [
    # Escapes in values: \t \n \\ are characters, an unknown escape drops its backslash, and a
    # '#' after the start of a line is an ordinary character.
    pytest.param(
        rb"a=x\ty\nz\\w\q#not-a-comment", {"a": "x\ty\nz\\wq#not-a-comment"}, id="escapes"
    ),
    # Continuation lines: a line ending in an odd number of backslashes goes on, and the next
    # line's leading white space is dropped, even when that line then starts with '#'.
    pytest.param(
        b"list=one,\\\n    two,\\\n\t#three\nnext=1\n",
        {"list": "one,two,#three", "next": "1"},
        id="continuation",
    ),
    # An even number of backslashes is escaped backslashes, not a continuation.
    pytest.param(b"even=x\\\\\nnext=y\n", {"even": "x\\", "next": "y"}, id="even-backslashes"),
    # A comment line never continues, even when it ends in a backslash.
    pytest.param(b"# comment \\\nafter=1\n! also a comment\n", {"after": "1"}, id="comments"),
    # Unicode escapes in either case, and ISO-8859-1 bytes: the file is Latin-1, so the UTF-8
    # encoding of 'é' reads as two characters.
    pytest.param(
        b"escaped=caf\\u00e9 \\u00C9\nlatin1=caf\xe9\nutf8=caf\xc3\xa9\n",
        {"escaped": "café É", "latin1": "café", "utf8": "cafÃ©"},
        id="unicode",
    ),
    # Keys: '\ ', '\=' and '\:' are part of the key; white space around the separator is dropped,
    # trailing white space of the value is kept.
    pytest.param(
        b"my\\ key = value  \nk\\=x=v\na\\:b:c\n",
        {"my key": "value  ", "k=x": "v", "a:b": "c"},
        id="escaped-keys",
    ),
    # Separators: white space alone, ':' or '='; only the first one counts, the rest is value.
    pytest.param(
        b"ws   v1\ncolon:v2\nboth = : v3\n   indented=yes\nlonely\n",
        {"ws": "v1", "colon": "v2", "both": ": v3", "indented": "yes", "lonely": ""},
        id="separators",
    ),
    # Line terminators \r\n and \r, blank lines of white space, and the last duplicate wins.
    pytest.param(
        b"a=1\r\nb=2\rc=3\n  \t \ndup=first\ndup=second",
        {"a": "1", "b": "2", "c": "3", "dup": "second"},
        id="lines",
    ),
]


@pytest.mark.parametrize(("data", "expected"), PROPERTIES_CASES)
def test_properties_parsing_is_javas(
    referee: Referee, data: bytes, expected: dict[str, str]
) -> None:
    assert referee(LATEST).parse_properties(data) == expected


def test_committed_jvm_flags_are_what_the_jvm_says() -> None:
    """The -XX flags the model accepts are the product flags of this Java 17 (the image's major)."""
    committed = JVM_FLAGS.read_text(encoding="utf-8")
    generator = runpy.run_path(str(REPO / "hack" / "gen-jvm-flags.py"))
    assert generator["render"]() == committed, "run `make jvm-flags`"
