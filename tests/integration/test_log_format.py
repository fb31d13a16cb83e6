"""`kopfka run --log-format json` (the chart's `logFormat: json`) writes one JSON object per line,
so log collectors read its messages and severities without parsing text.

A second operator runs for this, watching only an empty namespace of its own, so it acts on
nothing the tier's operator handles.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.integration.controlplane import ControlPlane
from tests.support.operator import KOPFKA, REPO_ROOT, STOP_TIMEOUT, dies_with_parent
from tests.support.waiting import wait_for


def test_json_logs_are_one_json_object_per_line(
    control_plane: ControlPlane, crds: list[str], namespace: str, tmp_path: Path
) -> None:
    log = tmp_path / "operator.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            dies_with_parent(
                [str(KOPFKA), "run", "--verbose", "--log-format", "json", "-n", namespace]
            ),
            env={**control_plane.environ(), "PYTHONUNBUFFERED": "1"},
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(
            lambda: process.poll() is None and "Starting the watch-stream" in log.read_text(),
            timeout=60,
            what="the operator to start watching",
            describe=lambda: log.read_text()[-2000:],
        )
    finally:
        process.terminate()
        process.wait(timeout=STOP_TIMEOUT)
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    assert all(isinstance(record, dict) for record in records)
    assert all({"message", "severity", "timestamp"} <= set(record) for record in records)
    assert any(record["message"].startswith("Starting the watch-stream") for record in records)
    assert {record["severity"] for record in records} >= {"debug", "info"}
