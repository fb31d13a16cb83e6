"""The chart's monitoring: the Prometheus Operator monitors and alert rules, made only where the
cluster serves their API, that select what kopfka really makes; and a Grafana dashboard. Every
metric the alerts and the dashboard ask for is one that kopfka's exporter rules, the JMX
exporter itself or the operator serve, so a renamed family breaks this test instead of a panel.
Run by `make chart-check`, which also runs `promtool check rules` and `promtool test rules` on
the alert rules (tests/chart/alerts.test.yaml).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

from kopfka import metrics as operator_metrics
from kopfka.model import names
from kopfka.model.cluster import parse_cluster
from kopfka.render import metrics as exporter_rules
from kopfka.render.cluster import render_cluster
from tests.support import chart
from tests.support.manifests import COMBINED_EPHEMERAL, DEDICATED

NAMESPACE = "kopfka-system"
MONITORING_API = "monitoring.coreos.com/v1"
MONITOR_KINDS = ("PodMonitor", "ServiceMonitor", "PrometheusRule")
RULES_FILE = chart.CHART / "files" / "alerts.rules.yaml"
DASHBOARD_FILE = chart.CHART / "dashboards" / "kopfka.json"
MONITORING_DOC = chart.REPO_ROOT / "docs" / "monitoring.md"

# Names that come from elsewhere than kopfka's code: Prometheus' own per-target series.
PROMETHEUS_SERIES = {"up"}
# The operator's family that carries Kafka's data under kafka_exporter's name.
CONSUMER_LAG = "kafka_consumergroup_lag"


def _render(*, api: bool = True, **values: Any) -> list[chart.Obj]:
    return chart.render(
        release="kopfka",
        namespace=NAMESPACE,
        values=values or None,
        api_versions=[MONITORING_API] if api else [],
    )


def _kinds(objects: list[chart.Obj]) -> list[str]:
    return [obj["kind"] for obj in objects if obj["kind"] in MONITOR_KINDS]


def _kafka_pod_templates() -> Iterator[dict[str, Any]]:
    """The pod templates of every Kafka pool kopfka renders, in both modes."""
    for spec in (DEDICATED, COMBINED_EPHEMERAL):
        cluster = parse_cluster("events", "streaming", spec)
        for obj in render_cluster(cluster, "cluster-id"):
            if obj["kind"] == "StatefulSet":
                yield obj["spec"]["template"]


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a Kubernetes label selector (matchLabels, Exists / In expressions) selects."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        operator = expression["operator"]
        assert operator in ("Exists", "In"), f"this test knows no {operator}"
        if expression["key"] not in labels:
            return False
        if operator == "In" and labels[expression["key"]] not in expression["values"]:
            return False
    return True


def _meta_label(label: str) -> str:
    """The name Prometheus' Kubernetes discovery gives a pod label (non-word characters: _)."""
    return "__meta_kubernetes_pod_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", label)


@pytest.mark.parametrize("values", [{}, {"monitoring": {"podMonitors": {"enabled": True}}}])
def test_no_monitors_where_the_prometheus_operator_is_not_installed(
    values: dict[str, Any],
) -> None:
    assert _kinds(_render(api=False, **values)) == []


def test_monitors_and_rules_where_the_prometheus_operator_is() -> None:
    assert sorted(_kinds(_render())) == sorted(MONITOR_KINDS)


@pytest.mark.parametrize(
    ("monitoring", "kinds"),
    [
        ({"podMonitors": {"enabled": False}}, ["PrometheusRule"]),
        ({"rules": {"enabled": False}}, ["PodMonitor", "ServiceMonitor"]),
    ],
)
def test_each_part_can_be_turned_off(monitoring: dict[str, Any], kinds: list[str]) -> None:
    assert sorted(_kinds(_render(monitoring=monitoring))) == kinds


def test_the_pod_monitor_selects_every_kafka_pod_by_its_metrics_port() -> None:
    monitor = chart.one(_render(), "PodMonitor")["spec"]
    (endpoint,) = monitor["podMetricsEndpoints"]
    templates = list(_kafka_pod_templates())
    assert {template["metadata"]["labels"][names.ROLE_LABEL] for template in templates} == {
        role.value for role in names.Role
    }
    for template in templates:
        assert _selects(monitor["selector"], template["metadata"]["labels"])
        (container,) = template["spec"]["containers"]
        assert endpoint["port"] in [port["name"] for port in container["ports"]]


def test_the_pod_monitor_leaves_the_operators_job_pods_alone() -> None:
    selector = chart.one(_render(), "PodMonitor")["spec"]["selector"]
    assert not _selects(selector, names.topic_job_pod_labels("events"))
    assert not _selects(selector, names.topic_job_labels("events"))


def test_kafka_series_are_labelled_with_their_cluster_role_and_node() -> None:
    (endpoint,) = chart.one(_render(), "PodMonitor")["spec"]["podMetricsEndpoints"]
    targets = {
        relabeling["targetLabel"]: relabeling["sourceLabels"]
        for relabeling in endpoint["relabelings"]
    }
    assert targets == {
        "namespace": ["__meta_kubernetes_namespace"],
        "pod": ["__meta_kubernetes_pod_name"],
        "cluster": [_meta_label(names.CLUSTER_LABEL)],
        "role": [_meta_label(names.ROLE_LABEL)],
        "node_id": [_meta_label(names.NODE_ID_LABEL)],
    }


@pytest.mark.parametrize(
    ("watch", "namespaces"),
    [([], {"any": True}), (["streaming", "analytics"], {"matchNames": ["streaming", "analytics"]})],
)
def test_the_pod_monitor_looks_where_the_operator_watches(
    watch: list[str], namespaces: dict[str, Any]
) -> None:
    monitor = chart.one(_render(watchNamespaces=watch), "PodMonitor")
    assert monitor["spec"]["namespaceSelector"] == namespaces


def test_the_service_monitor_scrapes_the_operators_service() -> None:
    objects = _render(
        metrics={"enabled": True, "port": 9191}, monitoring={"podMonitors": {"interval": "15s"}}
    )
    service = chart.one(objects, "Service")
    monitor = chart.one(objects, "ServiceMonitor")["spec"]
    assert monitor["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    assert _selects(monitor["selector"], service["metadata"]["labels"])
    (endpoint,) = monitor["endpoints"]
    assert endpoint["port"] in [port["name"] for port in service["spec"]["ports"]]
    assert endpoint["interval"] == "15s"
    # The roll gauges' namespace and cluster are the KafkaCluster's, not the operator pod's.
    assert endpoint["honorLabels"] is True
    assert {"targetLabel": "job", "replacement": "kopfka"} in endpoint["relabelings"]


def test_no_service_monitor_when_the_operator_serves_no_metrics() -> None:
    objects = _render(metrics={"enabled": False, "port": 8081})
    assert sorted(_kinds(objects)) == ["PodMonitor", "PrometheusRule"]


def test_monitoring_labels_reach_every_monitoring_object() -> None:
    objects = _render(monitoring={"labels": {"release": "kube-prometheus-stack"}})
    for obj in objects:
        if obj["kind"] in MONITOR_KINDS:
            assert obj["metadata"]["labels"]["release"] == "kube-prometheus-stack"
            assert obj["metadata"]["namespace"] == NAMESPACE


def _rules() -> dict[str, Any]:
    return dict(yaml.safe_load(RULES_FILE.read_text()))


def _alerts() -> list[dict[str, Any]]:
    return [rule for group in _rules()["groups"] for rule in group["rules"]]


def test_the_prometheus_rule_ships_the_tested_rule_file_as_it_is() -> None:
    assert chart.one(_render(), "PrometheusRule")["spec"] == _rules()


@pytest.mark.parametrize("alert", _alerts(), ids=lambda alert: str(alert["alert"]))
def test_every_alert_says_how_bad_and_what_to_do(alert: dict[str, Any]) -> None:
    assert alert["labels"]["severity"] in ("warning", "critical")
    assert set(alert["annotations"]) == {"summary", "description"}
    assert alert["for"]


def test_the_pod_down_alert_covers_every_role() -> None:
    (alert,) = [alert for alert in _alerts() if alert["alert"] == "KafkaPodDown"]
    match = re.search(r'role=~"([^"]+)"', alert["expr"])
    assert match is not None
    assert set(match[1].split("|")) == {role.value for role in names.Role}


def test_every_alert_is_documented() -> None:
    documented = set(re.findall(r"^\| `(\w+)` \|", MONITORING_DOC.read_text(), re.MULTILINE))
    assert {alert["alert"] for alert in _alerts()} <= documented


# PromQL, as far as these expressions use it: what to drop before the names that remain are
# metric names (strings, label matchers, ranges, label lists of by/on/...), and words that are
# PromQL's own.
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_NAME = re.compile(r"(?<![\w.$])[a-zA-Z_:][\w:]*")
_KEYWORDS = {"and", "or", "unless", "bool", "offset"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: names not followed by `(` (a function or an
    aggregation), once strings, matchers, ranges and label lists are gone."""
    for pattern in (_STRINGS, _MATCHERS, _RANGES, _LABEL_LISTS):
        expr = pattern.sub(" ", expr)
    return {
        match[0]
        for match in _NAME.finditer(expr)
        if match[0] not in _KEYWORDS and not expr[match.end() :].lstrip().startswith("(")
    }


@pytest.mark.parametrize(
    ("expr", "found"),
    [
        ('sum by (namespace) (rate(a_total{x="y{z}"}[5m])) > 0', {"a_total"}),
        ("b unless on (cluster) c and d", {"b", "c", "d"}),
        ("histogram_quantile(0.9, sum by (le) (rate(e_bucket[$__rate_interval])))", {"e_bucket"}),
        ("max without (pod) (f) == 1e3", {"f"}),
    ],
)
def test_metric_names_are_read_from_promql(expr: str, found: set[str]) -> None:
    assert metric_names(expr) == found


def _operator_series() -> set[str]:
    """The series names the operator's metrics module defines (kopfka.metrics)."""
    assert operator_metrics.RECONCILES  # registered in REGISTRY by importing the module
    suffixes = {"counter": ["_total"], "gauge": [""], "histogram": ["_bucket", "_sum", "_count"]}
    return {
        family.name + suffix
        for family in REGISTRY.collect()
        if family.name.startswith("kopfka_") or family.name == CONSUMER_LAG
        for suffix in suffixes[family.type]
    }


def _jmx_exporter_series() -> set[str]:
    """The JVM, process and exporter series the JMX exporter adds on every node, as
    docs/monitoring.md lists them (the Kafka tier checks that nodes serve them). A name that
    starts with `_` there is a suffix of the one before (a summary's `_count` and `_sum`)."""
    text = MONITORING_DOC.read_text()
    start = text.index("The exporter adds, on every node")
    paragraph = text[start : text.index("\n\n", start)]
    series: set[str] = set()
    family = ""
    for name in re.findall(r"`([a-z_]+)(?:\{[^}]*\})?`", paragraph):
        if name.startswith("_"):
            series.add(family + name)
        else:
            family = name
            series.add(name)
    return series


def known_series() -> set[str]:
    return (
        {family.name for family in exporter_rules.FAMILIES}
        | _operator_series()
        | _jmx_exporter_series()
        | PROMETHEUS_SERIES
    )


def _dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD_FILE.read_text()))


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, rows and the panels inside collapsed rows too."""
    return [panel for top in dashboard["panels"] for panel in [top, *top.get("panels", [])]]


def _dashboard_exprs() -> list[str]:
    return [
        target["expr"]
        for panel in _panels(_dashboard())
        for target in panel.get("targets", [])
        if "expr" in target
    ]


@pytest.mark.parametrize(
    ("what", "exprs"),
    [("alerts", [alert["expr"] for alert in _alerts()]), ("dashboard", _dashboard_exprs())],
)
def test_alerts_and_dashboard_ask_only_for_series_that_exist(what: str, exprs: list[str]) -> None:
    used = set().union(*(metric_names(expr) for expr in exprs))
    assert used, f"no metric found in the {what}"
    assert used - known_series() == set()


def test_the_lag_alert_and_panel_ask_for_labels_the_operator_serves() -> None:
    """`kafka_consumergroup_lag` is the operator's (handlers/lag.py): the labels the alert
    groups by and the panel filters and groups by are those it serves."""
    alerts = [alert["expr"] for alert in _alerts() if CONSUMER_LAG in alert["expr"]]
    panels = [expr for expr in _dashboard_exprs() if CONSUMER_LAG in expr]
    assert (len(alerts), len(panels)) == (1, 1)
    used: set[str] = set()
    for expr in alerts + panels:
        for grouping in re.findall(r"\bby \(([^)]*)\)", expr):
            used |= {label.strip() for label in grouping.split(",")}
        for matchers in re.findall(CONSUMER_LAG + r"\{([^}]*)\}", expr):
            used |= set(re.findall(r"(\w+)\s*[=!]", matchers))
    assert {"namespace", "cluster", "consumergroup", "topic"} <= used
    assert used <= set(operator_metrics.CONSUMER_LAG_LABELS)


def test_the_dashboard_has_unique_panel_ids_and_its_variables() -> None:
    dashboard = _dashboard()
    ids = [panel["id"] for panel in _panels(dashboard)]
    assert len(ids) == len(set(ids))
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert {"namespace", "cluster"} <= set(variables)
    for panel in _panels(dashboard):
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    """promtool parses each query, with Grafana's variables replaced as Grafana would."""
    variables = {"$__rate_interval": "5m", "$namespace": ".*", "$cluster": ".*"}
    rules = []
    for number, query in enumerate(_dashboard_exprs()):
        expr = query
        for variable, value in variables.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, query
        rules.append({"record": f"dashboard:query_{number}", "expr": expr})
    path = tmp_path / "dashboard.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run(
        [str(chart.tool("promtool")), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_dashboard_unless_asked_for() -> None:
    assert not [obj for obj in _render() if obj["kind"] == "ConfigMap"]


def test_the_dashboard_configmap_is_found_by_grafanas_sidecar() -> None:
    objects = _render(
        api=False,
        monitoring={"dashboards": {"enabled": True, "namespace": "grafana"}},
    )
    config_map = chart.one(objects, "ConfigMap")
    assert config_map["metadata"]["namespace"] == "grafana"
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config_map["data"]["kopfka.json"]) == _dashboard()
