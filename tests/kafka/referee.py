"""Kafka itself as the referee of kopfka's Python: how it reads and validates configuration.

`KafkaReferee(version)` runs the `serve` mode of the Kafka config tool (hack/kafka-config-tool.sh,
docs/kafka-config-tables.md) against that Kafka release's jars: one long-lived JVM answering one
JSON request per line. It parses server.properties bytes the way `kafka.Kafka` does, validates them
the way a broker or controller does at start-up, and validates topic configs the way the controller
does for CreateTopics, so tests can hold kopfka's renderer and model to Kafka's own behaviour.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

REPO = Path(__file__).resolve().parents[2]
TOOL_SCRIPT = REPO / "hack" / "kafka-config-tool.sh"
MAIN_CLASS = "dev.kopfka.tools.KafkaConfigTool"
# The first answer includes the JVM's start and Kafka's class loading; later ones take milliseconds.
ANSWER_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0


class RefereeError(RuntimeError):
    """The referee could not be built or started, died, or did not understand a request."""


def java() -> str:
    """The `java` the broker image's entrypoint would use: $JAVA_HOME's, else the PATH's."""
    java_home = os.environ.get("JAVA_HOME")
    found = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not found:
        raise RefereeError("no java: set JAVA_HOME or put a JDK 17+ on the PATH")
    return found


def tool_classpath(version: str) -> str:
    """Builds the config tool for Kafka `version` if needed (cached) and returns its classpath."""
    build = subprocess.run([str(TOOL_SCRIPT), version], capture_output=True, text=True, check=False)
    if build.returncode != 0:
        raise RefereeError(
            f"{TOOL_SCRIPT.relative_to(REPO)} {version} failed ({build.returncode}):\n"
            f"{build.stderr[-3000:]}"
        )
    return build.stdout.strip().splitlines()[-1]


def config_table(version: str) -> str:
    """The config table the tool generates now for Kafka `version` (the `table` mode's JSON)."""
    run = subprocess.run(
        [java(), "-cp", tool_classpath(version), MAIN_CLASS, "table"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    if run.returncode != 0:
        raise RefereeError(f"the config tool's table mode failed:\n{run.stderr[-3000:]}")
    return run.stdout


class KafkaReferee:
    """One `serve` JVM for one Kafka version; a context manager that stops it on exit."""

    def __init__(self, version: str, *, answer_timeout: float = ANSWER_TIMEOUT) -> None:
        self.version = version
        self.answer_timeout = answer_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._pending = b""

    def __enter__(self) -> KafkaReferee:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        classpath = tool_classpath(self.version)
        # Kafka's own logging goes to stderr: a file, so a chatty JVM never blocks on a full pipe
        # and its last words can be quoted when it dies. It lives as long as the JVM (stop()).
        self._stderr = tempfile.TemporaryFile(prefix=f"kafka-referee-{self.version}-")  # noqa: SIM115
        self._process = subprocess.Popen(
            [java(), "-Xmx256m", "-cp", classpath, MAIN_CLASS, "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )

    def stop(self) -> None:
        """End of input ends the JVM's loop; a JVM that does not exit in time is killed."""
        process, self._process = self._process, None
        if process is not None:
            assert process.stdin is not None
            assert process.stdout is not None
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    # -- requests ----------------------------------------------------------------------------

    def parse_properties(self, data: bytes) -> dict[str, str]:
        """What `java.util.Properties.load` reads from `data`, as kafka.Kafka loads its file."""
        answer = self._ask({"op": "properties", "base64": _b64(data)})
        if not answer["ok"]:
            raise RefereeError(f"the referee could not parse the properties: {answer['error']}")
        properties: dict[str, str] = answer["properties"]
        return properties

    def validate_server(self, data: bytes) -> str | None:
        """None if a broker or controller would start with this server.properties (as far as its
        configuration goes), else Kafka's error message."""
        return self._verdict({"op": "validate-server", "base64": _b64(data)})

    def validate_topic(self, configs: Mapping[str, str]) -> str | None:
        """None if the controller accepts these configs for a new topic, else Kafka's message."""
        return self._verdict({"op": "validate-topic", "configs": dict(configs)})

    def _verdict(self, request: Mapping[str, Any]) -> str | None:
        answer = self._ask(request)
        return None if answer["ok"] else str(answer["error"])

    def _ask(self, request: Mapping[str, Any]) -> dict[str, Any]:
        process = self._process
        if process is None:
            raise RefereeError("the referee is not running (use it as a context manager)")
        assert process.stdin is not None
        try:
            process.stdin.write(json.dumps(request).encode("ascii") + b"\n")
            process.stdin.flush()
        except BrokenPipeError:
            raise self._died() from None
        answer: dict[str, Any] = json.loads(self._read_line())
        return answer

    def _read_line(self) -> bytes:
        """One line of the JVM's stdout, waiting at most `answer_timeout` for it."""
        assert self._process is not None
        assert self._process.stdout is not None
        stdout = self._process.stdout.fileno()
        deadline = time.monotonic() + self.answer_timeout
        while b"\n" not in self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RefereeError(
                    f"the Kafka {self.version} referee gave no answer within "
                    f"{self.answer_timeout:.0f}s; its stderr:\n{self._stderr_tail()}"
                )
            readable, _, _ = select.select([stdout], [], [], remaining)
            if readable:
                chunk = os.read(stdout, 1 << 16)
                if not chunk:
                    raise self._died()
                self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line

    def _died(self) -> RefereeError:
        assert self._process is not None
        try:
            code: int | None = self._process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            code = None
        return RefereeError(
            f"the Kafka {self.version} referee JVM died (exit code {code}); its stderr:\n"
            f"{self._stderr_tail()}"
        )

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        # pread: the JVM writes through the same open file, so the offset must stay where it is.
        fd = self._stderr.fileno()
        size = os.fstat(fd).st_size
        start = max(0, size - 3000)
        return os.pread(fd, size - start, start).decode("utf-8", errors="replace")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
