"""One stable hash of JSON-like data, used for restart hashes and applied-object hashes."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def stable_hash(*parts: Any) -> str:
    """16 hex digits of sha256 over a canonical JSON encoding of `parts`."""
    encoded = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()[:16]
