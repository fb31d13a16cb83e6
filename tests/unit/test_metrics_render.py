"""spec.metrics: the JMX exporter's port, env and ConfigMap on every Kafka pod, its rules, and what
the model refuses so that a rule can never stop a node from starting."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kopfka.model import names, schema
from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.errors import SpecError
from kopfka.model.names import Role
from kopfka.render import metrics, services, statefulset
from kopfka.render.cluster import render_cluster

DOCS = Path(__file__).resolve().parents[2] / "docs" / "monitoring.md"
DEDICATED: dict[str, Any] = {"brokers": {"replicas": 3}}
COMBINED: dict[str, Any] = {"mode": "combined", "controllers": {"replicas": 1}}
USER_RULE = {
    "pattern": r"kafka.coordinator.group<type=GroupMetadataManager, name=(\w+)><>Value",
    "name": "kafka_group_$1",
    "type": "GAUGE",
    "labels": {"source": "coordinator"},
}


def parse(spec: dict[str, Any]) -> ClusterSpec:
    return parse_cluster("events", "streaming", spec)


def container(spec: ClusterSpec, role: Role) -> dict[str, Any]:
    pool = next(pool for pool in spec.pools if pool.role is role)
    result: dict[str, Any] = statefulset.pod_spec(spec, pool, "cid")["containers"][0]
    return result


def exporter_file(spec: ClusterSpec) -> dict[str, Any]:
    data = metrics.config_map(spec)["data"]
    assert list(data) == [metrics.CONFIG_FILE]
    loaded: dict[str, Any] = yaml.safe_load(data[metrics.CONFIG_FILE])
    return loaded


@pytest.mark.parametrize(
    ("spec", "role"),
    [(DEDICATED, Role.CONTROLLER), (DEDICATED, Role.BROKER), (COMBINED, Role.COMBINED)],
    ids=["controllers", "brokers", "combined"],
)
def test_every_kafka_pod_serves_metrics_by_default(spec: dict[str, Any], role: Role) -> None:
    parsed = parse(spec)
    assert parsed.metrics.enabled
    kafka = container(parsed, role)
    assert {"name": "metrics", "containerPort": 9404, "protocol": "TCP"} in kafka["ports"]
    env = {item["name"]: item.get("value") for item in kafka["env"]}
    assert env["KOPFKA_METRICS_PORT"] == "9404"
    assert {"name": "metrics", "mountPath": "/etc/kopfka/metrics", "readOnly": True} in kafka[
        "volumeMounts"
    ]
    pool = next(pool for pool in parsed.pools if pool.role is role)
    pod = statefulset.pod_spec(parsed, pool, "cid")
    assert {"name": "metrics", "configMap": {"name": "events-kafka-metrics"}} in pod["volumes"]
    assert kafka["securityContext"]["readOnlyRootFilesystem"] is True
    service_ports = services.headless_service(parsed, pool)["spec"]["ports"]
    assert {"name": "metrics", "port": 9404, "targetPort": "metrics", "protocol": "TCP"} in (
        service_ports
    )


def test_metrics_off_leaves_no_trace_in_the_pods_but_keeps_the_config_map() -> None:
    parsed = parse({**DEDICATED, "metrics": {"enabled": False}})
    for pool in parsed.pools:
        kafka = container(parsed, pool.role)
        assert "metrics" not in {port["name"] for port in kafka["ports"]}
        assert "KOPFKA_METRICS_PORT" not in {item["name"] for item in kafka["env"]}
        assert "metrics" not in {mount["name"] for mount in kafka["volumeMounts"]}
        ports = services.headless_service(parsed, pool)["spec"]["ports"]
        assert "metrics" not in {port["name"] for port in ports}
    # A pod made while metrics were on mounts it until it is restarted.
    config_maps = [o for o in render_cluster(parsed, "cid") if o["kind"] == "ConfigMap"]
    assert names.metrics_config_map_name("events") in {o["metadata"]["name"] for o in config_maps}


def test_the_config_map_is_the_clusters_and_no_config_revision() -> None:
    config_map = metrics.config_map(parse(DEDICATED))
    assert config_map["metadata"]["name"] == "events-kafka-metrics"
    assert config_map["metadata"]["labels"]["app.kubernetes.io/component"] == "metrics"
    assert config_map["metadata"]["labels"]["kopfka.dev/cluster"] == "events"
    # The reconcile prunes ConfigMaps whose name starts with a pool's config prefix.
    assert not any(
        config_map["metadata"]["name"].startswith(names.config_map_prefix("events", role))
        for role in Role
    )


def test_user_rules_come_first_and_their_beans_are_read() -> None:
    parsed = parse(
        {
            **DEDICATED,
            "metrics": {
                "rules": [USER_RULE],
                "includeObjectNames": ["kafka.coordinator.group:type=GroupMetadataManager,*"],
            },
        }
    )
    config = exporter_file(parsed)
    assert config["rules"][0] == USER_RULE
    assert config["rules"][1:] == [family.rule() for family in metrics.FAMILIES]
    assert config["includeObjectNames"][-1] == (
        "kafka.coordinator.group:type=GroupMetadataManager,*"
    )
    assert config["lowercaseOutputName"] is True


def test_kopfkas_rules_read_only_the_beans_they_name() -> None:
    config = exporter_file(parse(DEDICATED))
    included = config["includeObjectNames"]
    assert len(included) == len(set(included))
    assert "kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions,*" in included
    assert "kafka.log:type=Log,name=Size,*" in included
    assert "kafka.server:type=raft-metrics,*" in included
    for family in metrics.FAMILIES:
        assert re.fullmatch(schema.OBJECT_NAME_PATTERN, family.object_name), family.name
        assert family.rule()["cache"] is True


def test_families_are_consistent_and_named_the_prometheus_way() -> None:
    seen: dict[str, tuple[str, tuple[str, ...]]] = {}
    for family in metrics.FAMILIES:
        # Two rules may feed one family (its quantiles) only with one type and label names.
        shape = (family.type, tuple(sorted(family.labels)))
        assert seen.setdefault(family.name, shape) == shape, family.name
        assert family.on in {metrics.BROKERS, metrics.CONTROLLERS, metrics.ALL_NODES}
        assert family.name == family.name.lower()
        assert (family.type == "COUNTER") == family.name.endswith("_total"), family.name
        re.compile(family.pattern)


def test_every_family_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    undocumented = {f.name for f in metrics.FAMILIES if f"`{f.name}`" not in text}
    assert not undocumented


@pytest.mark.parametrize(
    ("metrics_spec", "problem"),
    [
        ({"rules": [{"pattern": "kafka.server<(unclosed"}]}, "is not a regular expression"),
        ({"rules": [{"pattern": "(?P<x>a)"}]}, "Java's regular expressions"),
        ({"rules": [{"pattern": "a{,3}"}]}, "Java's regular expressions"),
        ({"rules": [{"pattern": "a", "help": "no name"}]}, "needs a name"),
        ({"rules": [{"pattern": "a", "name": "n", "labels": {"bad-name": "x"}}]}, "label name"),
        ({"rules": [{"pattern": "a", "name": "bad-name"}]}, "spec.metrics.rules[0].name"),
        ({"rules": [{"pattern": "a", "type": "HISTOGRAM"}]}, "spec.metrics.rules[0].type"),
        ({"rules": [{"name": "n"}]}, "spec.metrics.rules[0].pattern"),
        ({"includeObjectNames": ["no colon"]}, "spec.metrics.includeObjectNames[0]"),
        ({"includeObjectNames": ['kafka:type="quoted"']}, "spec.metrics.includeObjectNames[0]"),
        ({"enabled": "yes"}, "spec.metrics.enabled"),
    ],
)
def test_rules_the_exporter_could_choke_on_are_refused(
    metrics_spec: dict[str, Any], problem: str
) -> None:
    with pytest.raises(SpecError) as refused:
        parse({**DEDICATED, "metrics": metrics_spec})
    assert problem in str(refused.value)


@pytest.mark.parametrize(
    "listener",
    [{"name": "metrics", "port": 9095}, {"name": "plain", "port": 9404}],
    ids=["name", "port"],
)
def test_listeners_cannot_take_the_metrics_port_or_name(listener: dict[str, Any]) -> None:
    with pytest.raises(SpecError, match="used by the operator"):
        parse({**DEDICATED, "listeners": [listener]})


def test_the_crd_refuses_them_too() -> None:
    rules = " ".join(
        check["rule"]
        for check in schema.cluster_spec()["properties"]["listeners"]["items"][
            "x-kubernetes-validations"
        ]
    )
    assert "9404" in rules
    assert "'metrics'" in rules
