"""The operator imports `cryptography` (some 18 MiB of resident memory) only when a cluster has TLS
listeners: certs/kept.py is what the rest of the operator imports."""

from __future__ import annotations

import subprocess
import sys

# Every module `kopfka run` imports at startup (the handlers import the reconcilers and renderers).
STARTUP = (
    "kopfka.cli",
    "kopfka.handlers.settings",
    "kopfka.handlers.cluster",
    "kopfka.handlers.topic",
)


def _imported_after(statements: str) -> set[str]:
    probe = f"{statements}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return {name.split(".")[0] for name in found.stdout.split()}


def test_the_operator_starts_without_cryptography() -> None:
    imported = _imported_after("\n".join(f"import {module}" for module in STARTUP))
    assert "kopfka" in imported
    assert "cryptography" not in imported


def test_keeping_certificates_imports_it() -> None:
    assert "cryptography" in _imported_after("import kopfka.certs.keep")
