"""A real Prometheus for the e2e tier: the server built from its Go module
(`hack/build-tools.sh prometheus`), run as a process on this host, finding the e2e node's pods
through Kubernetes service discovery, with the chart's alert rule file loaded as it ships.

Its scrape jobs are made from the chart's own PodMonitor and ServiceMonitor (rendered with
`helm template --api-versions monitoring.coreos.com/v1`): what the Prometheus Operator would
select for them (their selector, namespaces and port), then exactly their relabelings and nothing
more. So the labels the alerts group by come from the chart alone, and a monitor changed in a
way this translation does not know fails here instead of being tested as something else.

The host reaches the node's pod addresses (the pods' bridge is on this host), so Prometheus
scrapes the pods directly, as a Prometheus inside the cluster would.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.chart import tool
from tests.support.waiting import wait_for

Obj = dict[str, Any]

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
HTTP_TIMEOUT = 10.0
# Short, so that targets, rules and alerts change within seconds of what the test does. A scrape
# may take its whole interval: on a busy 2-core machine a broker's JVM answers in seconds.
SCRAPE_INTERVAL = "10s"
EVALUATION_INTERVAL = "5s"

# Relabeling fields of the Prometheus Operator's API and their names in Prometheus' config.
RELABEL_FIELDS = {
    "sourceLabels": "source_labels",
    "separator": "separator",
    "targetLabel": "target_label",
    "regex": "regex",
    "modulus": "modulus",
    "replacement": "replacement",
    "action": "action",
}
ENDPOINT_FIELDS = {"port", "path", "interval", "honorLabels", "relabelings"}
# The service discovery role, and the prefix of its meta labels, for each kind of monitor.
# ServiceMonitors go through the Service's EndpointSlices (Endpoints are deprecated in 1.33+).
ROLES = {
    "PodMonitor": ("pod", "__meta_kubernetes_pod", "__meta_kubernetes_pod_container_port_name"),
    "ServiceMonitor": (
        "endpointslice",
        "__meta_kubernetes_service",
        "__meta_kubernetes_endpointslice_port_name",
    ),
}


def _label_name(name: str) -> str:
    """A Kubernetes label name as Prometheus' meta labels spell it."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def _selection(selector: Obj, prefix: str) -> list[Obj]:
    """Relabel rules that keep only targets whose object matches the label selector."""
    rules = []
    for key, value in selector.get("matchLabels", {}).items():
        label = _label_name(key)
        rules.append(
            {
                "action": "keep",
                "source_labels": [f"{prefix}_label_{label}", f"{prefix}_labelpresent_{label}"],
                "regex": f"({re.escape(value)});true",
            }
        )
    for expression in selector.get("matchExpressions", []):
        if expression["operator"] != "Exists":
            raise AssertionError(f"the monitors' translation knows Exists only: {expression}")
        label = _label_name(expression["key"])
        rules.append(
            {"action": "keep", "source_labels": [f"{prefix}_labelpresent_{label}"], "regex": "true"}
        )
    return rules


def _relabeling(rule: Obj) -> Obj:
    unknown = set(rule) - set(RELABEL_FIELDS)
    if unknown:
        raise AssertionError(f"relabeling fields the translation does not know: {unknown}")
    return {RELABEL_FIELDS[key]: value for key, value in rule.items()}


def scrape_configs(monitors: Sequence[Obj], *, kubeconfig: Path) -> list[Obj]:
    """Prometheus scrape jobs for the rendered PodMonitors and ServiceMonitors."""
    jobs = []
    for monitor in monitors:
        kind, name = monitor["kind"], monitor["metadata"]["name"]
        role, prefix, port_label = ROLES[kind]
        spec = monitor["spec"]
        endpoints = spec["podMetricsEndpoints" if kind == "PodMonitor" else "endpoints"]
        sd: Obj = {"role": role, "kubeconfig_file": str(kubeconfig)}
        namespaces = spec.get("namespaceSelector", {})
        if not namespaces.get("any"):
            sd["namespaces"] = {"names": namespaces["matchNames"]}
        for index, endpoint in enumerate(endpoints):
            unknown = set(endpoint) - ENDPOINT_FIELDS
            if unknown:
                raise AssertionError(f"{kind} {name}: endpoint fields not translated: {unknown}")
            job: Obj = {
                "job_name": f"{kind}/{monitor['metadata']['namespace']}/{name}/{index}",
                "kubernetes_sd_configs": [sd],
                "metrics_path": endpoint.get("path", "/metrics"),
                "honor_labels": endpoint.get("honorLabels", False),
                "relabel_configs": [
                    *_selection(spec["selector"], prefix),
                    {"action": "keep", "source_labels": [port_label], "regex": endpoint["port"]},
                    *(_relabeling(rule) for rule in endpoint.get("relabelings", [])),
                ],
            }
            if "interval" in endpoint:
                job["scrape_interval"] = endpoint["interval"]
            jobs.append(job)
    return jobs


def config(monitors: Sequence[Obj], *, kubeconfig: Path, rule_file: Path) -> Obj:
    return {
        "global": {
            "scrape_interval": SCRAPE_INTERVAL,
            "scrape_timeout": SCRAPE_INTERVAL,
            "evaluation_interval": EVALUATION_INTERVAL,
        },
        "rule_files": [str(rule_file)],
        "scrape_configs": scrape_configs(monitors, kubeconfig=kubeconfig),
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Prometheus:
    """A running Prometheus server; `stop()` ends it."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    @classmethod
    def start(cls, settings: Obj, *, directory: Path) -> Prometheus:
        binary = tool("prometheus")
        if not binary.exists():
            raise AssertionError(f"no {binary}: build it with `hack/build-tools.sh prometheus`")
        config_file = directory / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(settings, sort_keys=False))
        port = _free_port()
        log = directory / "prometheus.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [
                    str(binary),
                    f"--config.file={config_file}",
                    f"--storage.tsdb.path={directory / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        server = cls(process=process, url=f"http://127.0.0.1:{port}", log=log)
        try:
            wait_for(
                server._ready,
                timeout=START_TIMEOUT,
                what="Prometheus to be ready",
                describe=server.log_tail,
                interval=0.5,
                retry_on=(urllib.error.URLError, ConnectionError),
            )
        except BaseException:
            server.stop()
            raise
        return server

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(
                f"Prometheus exited ({self.process.returncode}): {self.log_tail()}"
            )
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=HTTP_TIMEOUT) as answer:
                return bool(answer.status == 200)
        except urllib.error.HTTPError as error:  # 503 while it starts
            error.close()
            return False

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def api(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """The `data` of an answer from Prometheus' HTTP API (/api/v1/...)."""
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params or {})}"
        try:
            with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as answer:
                body = json.load(answer)
        except urllib.error.HTTPError as error:
            # A refused query answers 400 with Prometheus' reason in the body.
            with error:
                body = json.load(error)
        if body.get("status") != "success":
            raise AssertionError(f"/api/v1/{path} {params or ''}: {body}")
        return body["data"]

    def query(self, expr: str) -> list[tuple[dict[str, str], float]]:
        """An instant query's series: (labels, value) each."""
        data = self.api("query", {"query": expr, "time": str(time.time())})
        return [(item["metric"], float(item["value"][1])) for item in data["result"]]

    def target_errors(self) -> list[str]:
        """The active targets that are not up, with their last scrape's error."""
        return [
            f"{target['labels']}: {target['health']} {target['lastError']}"
            for target in self.api("targets", {"state": "active"})["activeTargets"]
            if target["health"] != "up"
        ]

    def alerts(self, name: str, **labels: str) -> list[Obj]:
        """Active (pending or firing) alerts named `name` whose labels include `labels`."""
        return [
            alert
            for alert in self.api("alerts")["alerts"]
            if alert["labels"].get("alertname") == name
            and all(alert["labels"].get(key) == value for key, value in labels.items())
        ]
