"""The file Kafka reads, made the way a pod makes it: the rendered server.properties passed through
the broker image's own entrypoint (broker-image/bin/kopfka-entrypoint), which fills the per-pod
tokens, with a stand-in `java` so that nothing starts.

Tests hold the bytes this returns against Java's own `Properties` and Kafka's own validation.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from kopfka.model import names
from kopfka.model.cluster import ClusterSpec, Pool
from kopfka.render import config

REPO = Path(__file__).resolve().parents[2]
ENTRYPOINT = REPO / "broker-image" / "bin" / "kopfka-entrypoint"
BIND_ADDRESS = "10.0.0.7"
RACK = "zone-a"


class EntrypointRenderer:
    """A scratch directory with a stand-in java, jars and agent; `final_file` runs the
    entrypoint."""

    def __init__(self) -> None:
        self._scratch = tempfile.TemporaryDirectory(prefix="kopfka-entrypoint-")
        root = Path(self._scratch.name)
        (root / "java" / "bin").mkdir(parents=True)
        fake_java = root / "java" / "bin" / "java"
        fake_java.write_text("#!/bin/sh\nexit 0\n")
        fake_java.chmod(0o755)
        (root / "libs").mkdir()
        (root / "libs" / "kafka.jar").write_bytes(b"")
        (root / "agent.jar").write_bytes(b"")
        self.root = root

    def close(self) -> None:
        self._scratch.cleanup()

    def final_file(self, spec: ClusterSpec, pool: Pool, ordinal: int = 0) -> bytes:
        """The server.properties bytes that Kafka would read in pod `ordinal` of `pool`."""
        config_dir = self.root / "config"
        work_dir = self.root / "work"
        config_dir.mkdir(exist_ok=True)
        (config_dir / "server.properties").write_text(
            config.server_properties(spec, pool), encoding="utf-8"
        )
        env = {
            "PATH": os.environ["PATH"],
            "JAVA_HOME": str(self.root / "java"),
            "POD_NAME": names.pod_name(spec.name, pool.role, ordinal),
            "KOPFKA_NODE_ID_BASE": str(pool.role.node_id_base),
            "KOPFKA_CLUSTER_ID": "MkU3OEVBNTcwNTJENDM2Qg",
            "KOPFKA_BIND_ADDRESS": BIND_ADDRESS,
            "KOPFKA_RACK": RACK,
            "KOPFKA_CONFIG_DIR": str(config_dir),
            "KOPFKA_WORK_DIR": str(work_dir),
            "KOPFKA_LIBS": str(self.root / "libs"),
            "KOPFKA_AGENT_JAR": str(self.root / "agent.jar"),
        }
        run = subprocess.run(
            [str(ENTRYPOINT)], env=env, capture_output=True, text=True, check=False
        )
        if run.returncode != 0:
            raise AssertionError(f"the entrypoint refused the rendered file: {run.stderr}")
        return (work_dir / "server.properties").read_bytes()
