"""The operator's own identity on a cluster's internal listeners (spec.internalListeners.tls):
the TLS context that presents its client certificate and trusts the cluster's CAs.

The operator holds each cluster's identity in memory, keyed by the address it reaches the cluster
at (`operator_bootstrap`): the reconcile, which keeps the certificate in its Secret, hands it
over (`identities.keep`) at every run, so a renewed certificate or a new CA is in use within
a reconcile. A cluster without one is reached in plaintext. The operator's Jobs mount the same
Secret and build their context from its files (`context_from_files`).
"""

from __future__ import annotations

import hashlib
import os
import ssl
import tempfile
import threading
from collections.abc import Mapping

from kopfka.model import names


def context_from_files(key_store: str, trust: str) -> ssl.SSLContext:
    """A client context from PEM files: `key_store` holds the key and the certificate, `trust`
    the CAs whose certificates the brokers may present (their names are checked)."""
    context = ssl.create_default_context(cafile=trust)
    context.load_cert_chain(key_store)
    return context


def context_from_pem(key_store: bytes, trust: bytes) -> ssl.SSLContext:
    """As `context_from_files`, from the Secret's bytes. Python's ssl loads a key only from a
    file: it is written to a private temporary directory and removed as soon as it is read."""
    context = ssl.create_default_context(cadata=trust.decode("ascii"))
    with tempfile.TemporaryDirectory(prefix="kopfka-identity-") as directory:
        path = os.path.join(directory, names.OPERATOR_KEY_STORE)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(key_store)
        context.load_cert_chain(path)
    return context


def _cluster_key(bootstrap: str) -> str:
    """What every bootstrap address of one cluster's internal listener has in common, whatever
    the broker count it was made for: its first broker's domain and port
    (`<pool>.<namespace>.svc:9091`)."""
    return bootstrap.split(",", 1)[0].split(".", 1)[-1]


class Identities:
    """The operator's TLS context for each cluster that wants one, by bootstrap address."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._contexts: dict[str, tuple[str, ssl.SSLContext]] = {}

    def keep(self, bootstrap: str, files: Mapping[str, bytes] | None) -> None:
        """The operator Secret's files of the cluster at `bootstrap` (names.OPERATOR_KEY_STORE,
        names.OPERATOR_TRUST), or None for a cluster reached in plaintext; a context is built
        again only when they changed."""
        key = _cluster_key(bootstrap)
        if files is None:
            with self._lock:
                self._contexts.pop(key, None)
            return
        key_store, trust = files[names.OPERATOR_KEY_STORE], files[names.OPERATOR_TRUST]
        digest = hashlib.sha256(key_store + b"\0" + trust).hexdigest()
        with self._lock:
            kept = self._contexts.get(key)
        if kept is not None and kept[0] == digest:
            return
        context = context_from_pem(key_store, trust)
        with self._lock:
            self._contexts[key] = (digest, context)

    def context(self, bootstrap: str) -> ssl.SSLContext | None:
        with self._lock:
            kept = self._contexts.get(_cluster_key(bootstrap))
        return None if kept is None else kept[1]


identities = Identities()
