"""How the operator's Jobs get their work and say what they did: the one file format both the topic
Job (topics/wire.py) and the rebalance Job (rebalance/wire.py) use.

The work is JSON, gzip-compressed in the ConfigMap that carries it (a ConfigMap holds at most
1 MiB), with no timestamp in the gzip header, so the same work gives the same bytes and the same
Job name. A Job's log is one JSON object per line, among whatever else the runtime prints.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

_GZIP_MAGIC = b"\x1f\x8b"


def compressed(text: str) -> bytes:
    """`text` as a work file: gzip-compressed, the same bytes for the same text."""
    return gzip.compress(text.encode(), mtime=0)


def work_text(data: bytes) -> str:
    """The JSON text of a work file, gzip-compressed or plain; ValueError when it is neither."""
    try:
        if data.startswith(_GZIP_MAGIC):
            data = gzip.decompress(data)
        return data.decode()
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise ValueError(f"the work file cannot be read: {error}") from error


def work_document(text: str, *, kind: str, version: int) -> dict[str, Any]:
    """The JSON object of a work file of `kind` ("topic", "rebalance") in format `version`;
    ValueError when it is not one this kopfka reads."""
    try:
        document = json.loads(text)
        found = document.get("version")
    except (ValueError, AttributeError) as error:
        raise ValueError(f"the {kind} work is not a JSON object: {error}") from error
    if found != version:
        raise ValueError(
            f"the {kind} work has format version {found!r}; this kopfka reads {version}"
        )
    return dict(document)


def json_object(line: str) -> dict[str, Any] | None:
    """The JSON object on one line of a Job's log, or None for any other line."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None
