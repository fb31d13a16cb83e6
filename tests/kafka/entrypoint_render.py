"""What a pod's Kafka process gets, made the way a pod makes it: the rendered server.properties and
container environment passed through the broker image's own entrypoint
(broker-image/bin/kopfka-entrypoint), with a stand-in `java` that records its arguments instead of
starting anything.

Tests hold the file this returns against Java's own `Properties` and Kafka's own validation, and
the recorded command line against the JVM options the spec asked for.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from kopfka.model import names
from kopfka.model.cluster import ClusterSpec, Pool
from kopfka.render import config, metrics, statefulset
from tests.support.tls import new_certificates

REPO = Path(__file__).resolve().parents[2]
ENTRYPOINT = REPO / "broker-image" / "bin" / "kopfka-entrypoint"
BIND_ADDRESS = "10.0.0.7"
RACK = "zone-a"
CLUSTER_ID = "MkU3OEVBNTcwNTJENDM2Qg"
# Ends the arguments of one call in the stand-in java's record.
_END_OF_CALL = "\x1e"


class EntrypointRenderer:
    """A scratch directory with a stand-in java, jars and agent, in which the entrypoint runs."""

    def __init__(self) -> None:
        self._scratch = tempfile.TemporaryDirectory(prefix="kopfka-entrypoint-")
        root = Path(self._scratch.name)
        (root / "java" / "bin").mkdir(parents=True)
        fake_java = root / "java" / "bin" / "java"
        record = f"{{ printf '%s\\0' \"$@\"; printf '{_END_OF_CALL}\\0'; }}"
        fake_java.write_text(f'#!/bin/bash\n{record} >>"$KOPFKA_TEST_JAVA_CALLS"\n')
        fake_java.chmod(0o755)
        (root / "libs").mkdir()
        (root / "libs" / "kafka.jar").write_bytes(b"")
        (root / "agent.jar").write_bytes(b"")
        (root / "exporter.jar").write_bytes(b"")
        self.root = root

    def close(self) -> None:
        self._scratch.cleanup()

    def _run(self, spec: ClusterSpec, pool: Pool, ordinal: int) -> Path:
        config_dir = self.root / "config"
        work_dir = self.root / "work"
        calls = self.root / "java-calls"
        calls.unlink(missing_ok=True)
        config_dir.mkdir(exist_ok=True)
        (config_dir / "server.properties").write_text(
            config.server_properties(spec, pool), encoding="utf-8"
        )
        metrics_dir = self.root / "metrics"
        metrics_dir.mkdir(exist_ok=True)
        for file_name, text in metrics.config_map(spec)["data"].items():
            (metrics_dir / file_name).write_text(text, encoding="utf-8")
        # The brokers' key store files, as the Secret mounts them, when a listener has TLS.
        tls_dir = self.root / "tls"
        tls_dir.mkdir(exist_ok=True)
        certificates = new_certificates(spec)
        for file_name, content in (certificates.brokers if certificates else {}).items():
            (tls_dir / file_name).write_bytes(content)
        container = statefulset.pod_spec(spec, pool, CLUSTER_ID)["containers"][0]
        env = {item["name"]: item["value"] for item in container["env"] if "value" in item}
        env |= {
            "PATH": os.environ["PATH"],
            "JAVA_HOME": str(self.root / "java"),
            "POD_NAME": names.pod_name(spec.name, pool.role, ordinal),
            "KOPFKA_BIND_ADDRESS": BIND_ADDRESS,
            "KOPFKA_RACK": RACK,
            "KOPFKA_CONFIG_DIR": str(config_dir),
            "KOPFKA_WORK_DIR": str(work_dir),
            "KOPFKA_LIBS": str(self.root / "libs"),
            "KOPFKA_AGENT_JAR": str(self.root / "agent.jar"),
            "KOPFKA_EXPORTER_JAR": str(self.root / "exporter.jar"),
            "KOPFKA_METRICS_CONFIG_DIR": str(metrics_dir),
            "KOPFKA_TLS_DIR": str(tls_dir),
            "KOPFKA_TEST_JAVA_CALLS": str(calls),
        }
        run = subprocess.run(
            [str(ENTRYPOINT)], env=env, capture_output=True, text=True, check=False
        )
        if run.returncode != 0:
            raise AssertionError(f"the entrypoint refused the rendered pod: {run.stderr}")
        return work_dir

    def final_file(self, spec: ClusterSpec, pool: Pool, ordinal: int = 0) -> bytes:
        """The server.properties bytes that Kafka would read in pod `ordinal` of `pool`."""
        return (self._run(spec, pool, ordinal) / "server.properties").read_bytes()

    def kafka_command(self, spec: ClusterSpec, pool: Pool) -> list[str]:
        """The arguments the entrypoint hands to java to start Kafka (its last java call)."""
        self._run(spec, pool, 0)
        recorded = (self.root / "java-calls").read_text(encoding="utf-8").split("\0")
        calls: list[list[str]] = [[]]
        for argument in recorded[:-1]:
            if argument == _END_OF_CALL:
                calls.append([])
            else:
                calls[-1].append(argument)
        return calls[-2]
