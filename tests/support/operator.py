"""The operator as a real process (`kopfka run --verbose`), killed and restarted on demand."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.support.waiting import wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
KOPFKA = Path(sys.executable).parent / "kopfka"

STOP_TIMEOUT = 30.0
# Timer intervals (seconds) of the operator in the integration tier, set through the environment
# (KOPFKA_DRIFT_INTERVAL, KOPFKA_TOPIC_RECHECK_INTERVAL); production defaults are 60 and 60.
TIER_DRIFT_INTERVAL = 5
TIER_TOPIC_RECHECK_INTERVAL = 3
# The Ready reason of a valid KafkaTopic of a ready cluster in the integration tier: kwok's pods
# run no Kafka, so the operator cannot reach one (the e2e tier has real brokers).
NO_KAFKA_REASON = "KafkaUnreachable"


def free_port() -> int:
    """A TCP port nothing listens on now, for a process the test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def dies_with_parent(argv: list[str]) -> list[str]:
    """`argv` run so that the kernel sends it SIGKILL when the test process dies, even by SIGKILL:
    no operator or proxy outlives a killed test run (util-linux's setpriv sets PR_SET_PDEATHSIG
    and execs; a preexec_fn would not be safe in a process with threads)."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise RuntimeError("setpriv (util-linux) is needed to start the operator; install it")
    return [setpriv, "--pdeathsig", "KILL", "--", *argv]


class OperatorProcess:
    """One `kopfka run [ARGS]` at a time; every start appends to the same log file.

    `program` replaces the `kopfka` console script (a benchmark runs the operator without the dev
    dependencies that kopf imports when it finds them)."""

    def __init__(
        self,
        *,
        env: Mapping[str, str],
        log_path: Path,
        args: Sequence[str] = (),
        program: Sequence[str] = (str(KOPFKA),),
    ) -> None:
        self.env = dict(env)
        self.log_path = log_path
        self.args = list(args)
        self.program = list(program)
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def pid(self) -> int:
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"the operator is not running; see {self.log_path}")
        return self.process.pid

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("the operator is already running")
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"===== kopfka run: start #{self.starts} =====\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                dies_with_parent([*self.program, "run", "--verbose", *self.args]),
                env=self.env,
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        offset = self.log_size()
        # kopf logs this once its watch streams are being served; tests can act on the API now.
        wait_for(
            lambda: self._check_alive() and "Starting the watch-stream" in self.log_since(offset),
            timeout=60,
            what="the operator to start watching",
            describe=lambda: self.log_since(offset)[-2000:],
        )

    def _check_alive(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            code = None if self.process is None else self.process.returncode
            raise RuntimeError(f"the operator exited with {code}; see {self.log_path}")
        return True

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, as when a node dies or the OOM killer strikes."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT)
        self._mark("killed with SIGKILL")

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        """SIGTERM (kopf's graceful shutdown), SIGKILL if it does not exit in time."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)
        self._mark(f"stopped (exit {self.process.returncode})")
        self.process = None

    def _mark(self, what: str) -> None:
        with self.log_path.open("a") as log:
            log.write(f"===== kopfka run: {what} =====\n")

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def memory_kib(self) -> tuple[int, int]:
        """(current RSS, peak RSS) of the operator process, from /proc/PID/status."""
        fields = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in {"VmRSS", "VmHWM"}:
                fields[key] = int(value.split()[0])
        return fields["VmRSS"], fields["VmHWM"]
