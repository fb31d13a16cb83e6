"""Values in server.properties: whatever the text, the line stays one line of plain ASCII that no
properties rule (escapes, continuations, comments, separators) and no entrypoint token can touch.

The round trip through Java's own `Properties.load` is proved in the Kafka tier, where the JDK is
(tests/kafka/test_properties_round_trip.py); here the shape of the escaped text is checked.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kopfka.render.properties import escape_value


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("lz4", "lz4"),
        ("a=b:c", "a\\=b\\:c"),
        ("#not a comment", "\\#not a comment"),
        (" leading", "\\ leading"),
        ("trailing ", "trailing "),
        ("back\\slash\\", "back\\\\slash\\\\"),
        ("line\nbreak", "line\\nbreak"),
        ("${POD_NAME}", "\\u0024{POD_NAME}"),
        ("café", "caf\\u00E9"),
        ("🙂", "\\uD83D\\uDE42"),
    ],
)
def test_values_are_escaped_as_java_reads_them(value: str, written: str) -> None:
    assert escape_value(value) == written


@given(st.text(alphabet=st.characters(codec="utf-8")))
def test_every_value_becomes_one_safe_ascii_line(value: str) -> None:
    written = escape_value(value)
    assert all(" " <= char <= "~" for char in written)
    assert "$" not in written
    assert not written.startswith((" ", "#", "!"))
    # Never a line continuation: a trailing backslash is always one of an escaped pair.
    assert len(re.search(r"\\*$", written).group()) % 2 == 0  # type: ignore[union-attr]
