"""The Helm chart's templates (`helm template`, no cluster): both RBAC modes, values that reach
the Deployment, values the schema refuses, and the offline schemas that `make chart-check`
validates manifests against. Run by `make chart-check`, which builds helm and kubeconform first.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import chart

REPO_ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "kopfka-system"
CRD_RULE = {
    "apiGroups": ["apiextensions.k8s.io"],
    "resources": ["customresourcedefinitions"],
    "verbs": ["list", "watch"],
}


def _render(**values: Any) -> list[chart.Obj]:
    return chart.render(release="kopfka", namespace=NAMESPACE, values=values or None)


def _container(objects: list[chart.Obj]) -> dict[str, Any]:
    containers = chart.one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def test_the_chart_is_released_with_the_operator() -> None:
    chart_yaml = yaml.safe_load((chart.CHART / "Chart.yaml").read_text())
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert chart_yaml["appVersion"] == chart_yaml["version"] == pyproject["project"]["version"]


def test_cluster_wide_by_default_with_one_cluster_role() -> None:
    objects = _render()
    assert [obj["kind"] for obj in objects if obj["kind"] in chart.RBAC_KINDS] == [
        "ClusterRole",
        "ClusterRoleBinding",
    ]
    binding = chart.one(objects, "ClusterRoleBinding")
    account = chart.one(objects, "ServiceAccount")["metadata"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["name"], "namespace": NAMESPACE}
    ]
    assert "--namespace" not in _container(objects)["args"]


def test_watched_namespaces_get_a_role_each_and_nothing_is_cluster_scoped() -> None:
    watched = yaml.safe_load(chart.NAMESPACED_VALUES.read_text())["watchNamespaces"]
    objects = chart.render(
        release="kopfka", namespace=NAMESPACE, values_files=[chart.NAMESPACED_VALUES]
    )
    cluster_scoped = [obj for obj in objects if "namespace" not in obj["metadata"]]
    assert cluster_scoped == []
    assert [role["metadata"]["namespace"] for role in chart.of_kind(objects, "Role")] == watched
    bindings = chart.of_kind(objects, "RoleBinding")
    assert [binding["metadata"]["namespace"] for binding in bindings] == watched
    assert _container(objects)["args"][5:] == [
        item for namespace in watched for item in ("--namespace", namespace)
    ]


def test_the_two_modes_grant_the_same_but_for_crd_scanning() -> None:
    """`kopfka run -n` turns kopf's CRD scanning off; otherwise the rules are the same."""
    cluster_rules = chart.one(_render(), "ClusterRole")["rules"]
    role_rules = chart.of_kind(_render(watchNamespaces=["streaming"]), "Role")[0]["rules"]
    assert cluster_rules == [*role_rules, CRD_RULE]


def test_one_operator_pod_unless_a_standby_is_asked_for() -> None:
    plain = _render()
    assert chart.one(plain, "Deployment")["spec"]["replicas"] == 1
    assert "--leader-election" not in _container(plain)["args"]
    assert not [obj for obj in plain if obj["metadata"]["name"].endswith("-lease")]

    objects = _render(standby={"enabled": True, "leaseDuration": 20})
    assert chart.one(objects, "Deployment")["spec"]["replicas"] == 2
    args = _container(objects)["args"]
    assert args[args.index("--leader-election") :][:5] == [
        "--leader-election",
        "--lease-name",
        "kopfka",
        "--lease-duration",
        "20",
    ]
    # The Lease is the operator's own, in its namespace: a Role there, nothing cluster-wide.
    lease_roles = [obj for obj in objects if obj["metadata"]["name"] == "kopfka-lease"]
    assert sorted(obj["kind"] for obj in lease_roles) == ["Role", "RoleBinding"]
    assert {obj["metadata"]["namespace"] for obj in lease_roles} == {NAMESPACE}
    role = next(obj for obj in lease_roles if obj["kind"] == "Role")
    assert role["rules"] == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "verbs": ["get", "create", "update"],
        }
    ]


def test_debug_logging_runs_the_operator_verbose() -> None:
    assert "--verbose" not in _container(_render())["args"]
    assert "--verbose" in _container(_render(logLevel="debug"))["args"]


def test_json_logging_is_asked_of_the_operator() -> None:
    assert "--log-format" not in _container(_render())["args"]
    args = _container(_render(logFormat="json"))["args"]
    assert args[args.index("--log-format") + 1] == "json"


def test_the_operator_pod_is_locked_down() -> None:
    objects = _render()
    deployment = chart.one(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    container = _container(objects)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]
    namespace_env = next(e for e in container["env"] if e["name"] == "KOPFKA_OPERATOR_NAMESPACE")
    assert namespace_env["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}


CUSTOM_IMAGE = {
    "repository": "registry.example/kopfka/operator",
    "tag": "1.2.3",
    "pullPolicy": "Always",
}


@pytest.mark.parametrize("values", [{}, {"image": CUSTOM_IMAGE}])
def test_topic_jobs_run_the_operators_own_image(values: dict[str, Any]) -> None:
    container = _container(_render(**values))
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["KOPFKA_JOB_IMAGE"] == container["image"]
    assert env["KOPFKA_JOB_IMAGE_PULL_POLICY"] == container["imagePullPolicy"]
    if values:
        assert container["image"] == "registry.example/kopfka/operator:1.2.3"
        assert container["imagePullPolicy"] == "Always"


@pytest.mark.parametrize(
    ("metrics", "interval"),
    [
        ({}, "30"),
        ({"consumerLag": {"interval": 60}}, "60"),
        ({"consumerLag": {"enabled": False}}, "0"),
        ({"enabled": False}, "0"),  # nothing would serve it
    ],
)
def test_consumer_lag_is_read_at_the_interval_asked_for(
    metrics: dict[str, Any], interval: str
) -> None:
    container = _container(_render(metrics=metrics) if metrics else _render())
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["KOPFKA_LAG_INTERVAL"] == interval


@pytest.mark.parametrize("interval", [0, -5, "30s"])
def test_a_consumer_lag_interval_that_is_no_positive_number_is_refused(interval: Any) -> None:
    with pytest.raises(chart.HelmError, match="interval"):
        _render(metrics={"consumerLag": {"interval": interval}})


def test_the_operator_may_run_topic_jobs_and_read_their_logs_in_both_modes() -> None:
    topic_job_rules = [
        {
            "apiGroups": ["batch"],
            "resources": ["jobs"],
            "verbs": ["list", "watch", "create", "delete", "patch"],
        },
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
    ]
    cluster_rules = chart.one(_render(), "ClusterRole")["rules"]
    role_rules = chart.of_kind(_render(watchNamespaces=["streaming"]), "Role")[0]["rules"]
    for rules in (cluster_rules, role_rules):
        assert all(rule in rules for rule in topic_job_rules)


def test_the_operator_may_evict_and_delete_its_pods_for_rolls_in_both_modes() -> None:
    roll_rules = [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch", "patch", "delete"]},
        {"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
    ]
    cluster_rules = chart.one(_render(), "ClusterRole")["rules"]
    role_rules = chart.of_kind(_render(watchNamespaces=["streaming"]), "Role")[0]["rules"]
    for rules in (cluster_rules, role_rules):
        assert all(rule in rules for rule in roll_rules)


@pytest.mark.parametrize("values", [{}, {"nameOverride": "kafka-operator"}])
def test_the_operator_knows_what_selects_its_own_pods(values: dict[str, Any]) -> None:
    """For the NetworkPolicy of each KafkaCluster with spec.networkPolicy, which lets these pods
    in: their namespace (from the downward API) and exactly the Deployment's pod selector."""
    objects = _render(**values)
    env = {item["name"]: item for item in _container(objects)["env"]}
    assert env["KOPFKA_OPERATOR_NAMESPACE"]["valueFrom"] == {
        "fieldRef": {"fieldPath": "metadata.namespace"}
    }
    deployment = chart.one(objects, "Deployment")
    selector = deployment["spec"]["selector"]["matchLabels"]
    pairs = env["KOPFKA_OPERATOR_POD_LABELS"]["value"].split(",")
    assert dict(pair.split("=", 1) for pair in pairs) == selector
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_the_operator_may_keep_network_policies_in_both_modes() -> None:
    rule = {
        "apiGroups": ["networking.k8s.io"],
        "resources": ["networkpolicies"],
        "verbs": ["get", "list", "watch", "create", "patch", "delete"],
    }
    cluster_rules = chart.one(_render(), "ClusterRole")["rules"]
    role_rules = chart.of_kind(_render(watchNamespaces=["streaming"]), "Role")[0]["rules"]
    for rules in (cluster_rules, role_rules):
        assert rule in rules


def test_the_probes_ask_kopfs_health_endpoint() -> None:
    container = _container(_render(healthPort=9999))
    assert container["args"][:3] == ["run", "--liveness", "http://0.0.0.0:9999/healthz"]
    assert container["ports"][0] == {"name": "health", "containerPort": 9999, "protocol": "TCP"}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "health"}


def test_the_operator_serves_metrics_on_a_named_port_of_the_pod_and_the_service() -> None:
    objects = _render(metrics={"enabled": True, "port": 9191})
    container = _container(objects)
    assert container["args"][3:5] == ["--metrics-port", "9191"]
    assert {"name": "metrics", "containerPort": 9191, "protocol": "TCP"} in container["ports"]
    ports = chart.one(objects, "Service")["spec"]["ports"]
    assert {"name": "metrics", "port": 9191, "targetPort": "metrics", "protocol": "TCP"} in ports
    objects = _render(metrics={"enabled": False, "port": 9191})
    container = _container(objects)
    assert "--metrics-port" not in container["args"]
    assert [port["name"] for port in container["ports"]] == ["health"]
    assert [port["name"] for port in chart.one(objects, "Service")["spec"]["ports"]] == ["health"]


def test_helm_test_asks_the_health_endpoint_through_the_service() -> None:
    objects = _render(healthPort=9999)
    job = chart.one(objects, "Job")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "test"
    service = chart.one(objects, "Service")
    assert service["spec"]["ports"][0]["port"] == 9999
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    url = f"http://{service['metadata']['name']}.{NAMESPACE}.svc:9999/healthz"
    assert command[-2] == url


@pytest.mark.parametrize(
    ("values", "refusal"),
    [
        ({"logLevel": "trace"}, "/logLevel"),
        ({"logFormat": "xml"}, "/logFormat"),
        ({"healthPort": "8080"}, "/healthPort"),
        ({"healthPort": 70000}, "/healthPort"),
        ({"watchNamespaces": "streaming"}, "/watchNamespaces"),
        ({"watchNamespaces": ["Streaming_1"]}, "/watchNamespaces/0"),
        ({"image": {"repository": "kopfka/operator", "pullPolicy": "Sometimes"}}, "/image"),
        ({"serviceAccount": {"create": "yes"}}, "/serviceAccount/create"),
        ({"resources": {"request": {"cpu": 1}}}, "/resources"),
        ({"extraEnv": [{"value": "x"}]}, "/extraEnv/0"),
        ({"watchNamespace": ["streaming"]}, "additional properties 'watchNamespace'"),
        ({"standby": {"enabled": "yes"}}, "/standby/enabled"),
        ({"standby": {"leaseDuration": 1}}, "/standby/leaseDuration"),
        ({"metrics": {"enabled": "yes", "port": 8081}}, "/metrics/enabled"),
        ({"metrics": {"enabled": True, "port": 0}}, "/metrics/port"),
    ],
)
def test_values_of_the_wrong_shape_are_refused(values: dict[str, Any], refusal: str) -> None:
    with pytest.raises(chart.HelmError) as error:
        _render(**values)
    assert refusal in error.value.stderr


def test_the_offline_schemas_refuse_what_the_api_server_would_prune(tmp_path: Path) -> None:
    """kubeconform -strict with hack/crd-json-schemas.py's schemas: an unknown or misspelt field
    of a kopfka kind is an error, not silently accepted (nor silently unchecked)."""
    schemas = tmp_path / "schemas"
    subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "hack" / "crd-json-schemas.py"),
            "--crds",
            str(REPO_ROOT / "crds"),
            "--out",
            str(schemas),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    manifest = tmp_path / "cluster.yaml"
    manifest.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kopfka.dev/v1alpha1",
                "kind": "KafkaCluster",
                "metadata": {"name": "events"},
                "spec": {"mode": "combined", "controllers": {"replicas": 1, "storag": {}}},
            }
        )
    )
    result = subprocess.run(
        [
            str(chart.tool("kubeconform")),
            "-strict",
            "-schema-location",
            f"{schemas}/crds/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json",
            str(manifest),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "/spec/controllers" in result.stdout
    assert "additional properties 'storag' not allowed" in result.stdout
