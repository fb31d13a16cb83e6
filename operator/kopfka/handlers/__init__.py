"""Thin kopf handlers: they translate framework events into calls of `reconcile`.

Importing this package registers every handler with kopf's default registry.
"""

from kopfka.handlers import cluster, lag, periodic, settings, topic, user

__all__ = ["cluster", "lag", "periodic", "settings", "topic", "user"]
