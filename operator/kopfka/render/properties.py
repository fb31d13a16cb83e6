"""Values written in Java's properties format, so Kafka reads back exactly the model's text.

Kafka loads server.properties with `java.util.Properties.load(InputStream)`: the file is ISO-8859-1,
a backslash starts an escape, a trailing backslash continues the line, leading white space of a
value is dropped and `#`/`!` start comments at the start of a line. A value is therefore written
with every character that any of these rules touches escaped, and everything outside printable
ASCII as `\\uXXXX` (UTF-16 code units, as Java's own `store` does).

`$` is escaped too: the broker image's entrypoint fills the operator's own `${...}` tokens in the
file with plain text replacement, and a user's value must never be one of them.
"""

from __future__ import annotations

_ESCAPES = {
    "\\": "\\\\",
    "\t": "\\t",
    "\n": "\\n",
    "\r": "\\r",
    "\f": "\\f",
    "=": "\\=",
    ":": "\\:",
    "#": "\\#",
    "!": "\\!",
    "$": "\\u0024",
}


def _unicode_escape(char: str) -> str:
    encoded = char.encode("utf-16-be", "surrogatepass")
    return "".join(
        f"\\u{int.from_bytes(encoded[index : index + 2], 'big'):04X}"
        for index in range(0, len(encoded), 2)
    )


def escape_value(value: str) -> str:
    """`value` as the text after `key=` on one line of a properties file."""
    parts: list[str] = []
    for index, char in enumerate(value):
        if char in _ESCAPES:
            parts.append(_ESCAPES[char])
        elif char == " " and index == 0:
            parts.append("\\ ")
        elif " " <= char <= "~":
            parts.append(char)
        else:
            parts.append(_unicode_escape(char))
    return "".join(parts)
