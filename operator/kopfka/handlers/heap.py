"""Hand the memory a topic sync freed back to the operating system.

A sync of thousands of KafkaTopics builds and drops tens of MiB (Kafka's answers, plans, status
patches and the API's replies) on several threads. glibc's malloc keeps what they free in each
thread's arena for reuse, so the operator's resident size stayed near the peak of its biggest
sync; `malloc_trim` gives back the free pages of every arena. Without glibc (another libc) this
does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_trim = _malloc_trim()


def release_free_memory() -> None:
    """Return the heap's free pages to the operating system (glibc only)."""
    if _trim is not None:
        _trim(0)
