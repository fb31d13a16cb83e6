"""Does a live object already carry everything we want it to? (pure; no API calls)

The API server adds defaults and status to what we apply, so "up to date" means every field we
render is present in the live object with the same value, not that the two are equal.
"""

from __future__ import annotations

from typing import Any


def contains(live: Any, desired: Any) -> bool:
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(
            key in live and contains(live[key], value) for key, value in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(live) == len(desired)
            and all(contains(item, want) for item, want in zip(live, desired, strict=True))
        )
    return bool(live == desired)
