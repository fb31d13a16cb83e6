"""The settings Job: the exact `kafka-configs` command for a LivePlan, in the cluster's broker
image; the same work gets the same name (so it never starts twice) and other work another; the
pod is no Kafka node and no topic Job to the operator, has no API access, meets the restricted Pod
Security Standard, and passes the Kubernetes schema."""

from __future__ import annotations

import re
from typing import Any

import kubernetes_validate
import pytest

from kopfka.handlers.cluster import POD_SELECTOR
from kopfka.model import kafka_config, names
from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.live_settings import LivePlan
from kopfka.render.cluster import owned_by
from kopfka.render.settings_job import (
    IMAGE_LIBS,
    config_command_args,
    config_command_class,
    render_settings_job,
)
from tests.unit.test_render_topic_job import (
    DNS_LABEL,
    KUBERNETES_VERSION,
    OWNER,
    restricted_violations,
    selects,
)

BOOTSTRAP = "events-kafka-bootstrap.streaming.svc:9092"
PLAN = LivePlan(
    to_set={
        "log.cleanup.policy": "compact,delete",
        "min.insync.replicas": "2",
        "errors.deadletterqueue.topic.name.prefix": "a=b",
    },
    to_delete=("log.retention.ms", "message.max.bytes"),
)


def cluster(name: str = "events", **kafka: Any) -> ClusterSpec:
    return parse_cluster(name, "streaming", {"brokers": {"replicas": 3}, "kafka": kafka})


def render(
    plan: LivePlan = PLAN, spec: ClusterSpec | None = None, bootstrap: str = BOOTSTRAP
) -> dict[str, Any]:
    return render_settings_job(spec or cluster(), plan, bootstrap=bootstrap)


def container(job: dict[str, Any]) -> dict[str, Any]:
    [only] = job["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = only
    return result


def test_the_exact_command() -> None:
    assert container(render())["command"] == [
        "java",
        "-Xmx256m",
        "-cp",
        "/opt/kafka/libs/*",
        "org.apache.kafka.tools.ConfigCommand",
        "--bootstrap-server",
        BOOTSTRAP,
        "--entity-type",
        "brokers",
        "--entity-default",
        "--alter",
        "--add-config",
        # Values with ',' or '=' go in brackets, which the tool removes; the others as they are.
        "log.cleanup.policy=[compact,delete],min.insync.replicas=2,"
        "errors.deadletterqueue.topic.name.prefix=[a=b]",
        "--delete-config",
        "log.retention.ms,message.max.bytes",
    ]


@pytest.mark.parametrize(
    ("plan", "tail"),
    [
        (
            LivePlan(to_set={"min.insync.replicas": "3"}),
            ["--add-config", "min.insync.replicas=3"],
        ),
        (LivePlan(to_delete=("log.retention.ms",)), ["--delete-config", "log.retention.ms"]),
        (LivePlan(to_set={"metric.reporters": ""}), ["--add-config", "metric.reporters="]),
    ],
)
def test_only_what_the_plan_has(plan: LivePlan, tail: list[str]) -> None:
    args = config_command_args(plan, bootstrap=BOOTSTRAP)
    assert args[: args.index("--alter") + 1] == [
        "--bootstrap-server",
        BOOTSTRAP,
        "--entity-type",
        "brokers",
        "--entity-default",
        "--alter",
    ]
    assert args[args.index("--alter") + 1 :] == tail


@pytest.mark.parametrize(
    ("plan", "why"),
    [
        (LivePlan(), "empty plan"),
        (LivePlan(to_set={"errors.deadletterqueue.topic.name.prefix": "x]"}), "bracket"),
    ],
)
def test_work_the_tool_cannot_do_is_refused(plan: LivePlan, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        render(plan)


@pytest.mark.parametrize(
    ("version", "main_class"),
    [("4.3.1", "kafka.admin.ConfigCommand"), ("4.4.0", "org.apache.kafka.tools.ConfigCommand")],
)
def test_the_tool_of_each_kafka_version(version: str, main_class: str) -> None:
    """Kafka 4.4 moved ConfigCommand to its tools module (the Kafka tier checks the jars)."""
    assert config_command_class(version) == main_class
    command = container(render(spec=cluster(version=version)))["command"]
    assert command[command.index("-cp") + 2] == main_class


def test_every_supported_version_has_a_tool() -> None:
    for version in kafka_config.SUPPORTED_KAFKA_VERSIONS:
        assert config_command_class(version).endswith(".ConfigCommand")


def test_the_job_runs_the_clusters_broker_image() -> None:
    default = container(render())
    assert (default["image"], default["imagePullPolicy"]) == ("kopfka/kafka:4.4.0", "IfNotPresent")
    assert default["command"][default["command"].index("-cp") + 1] == f"{IMAGE_LIBS}/*"
    custom = container(render(spec=cluster(image="registry.example/kafka:4.4.0-1")))
    assert custom["image"] == "registry.example/kafka:4.4.0-1"
    spec = parse_cluster(
        "events",
        "streaming",
        {
            "brokers": {"replicas": 3},
            "kafka": {"imagePullPolicy": "Always"},
            "template": {"pod": {"imagePullSecrets": [{"name": "registry"}]}},
        },
    )
    job = render(spec=spec)
    assert container(job)["imagePullPolicy"] == "Always"
    assert job["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "registry"}]


def test_the_same_work_gets_the_same_name_and_other_work_another() -> None:
    name = render()["metadata"]["name"]
    assert re.fullmatch(r"events-settings-[0-9a-f]{10}", name)
    assert render()["metadata"]["name"] == name
    assert render(LivePlan(to_set=dict(PLAN.to_set), to_delete=PLAN.to_delete)) == render()
    others = {
        render(LivePlan(to_set={"min.insync.replicas": "3"}))["metadata"]["name"],
        render(LivePlan(to_set={"min.insync.replicas": "2"}))["metadata"]["name"],
        render(LivePlan(to_delete=("min.insync.replicas",)))["metadata"]["name"],
        render(bootstrap="elsewhere:9092")["metadata"]["name"],
        render(spec=cluster(version="4.3.1"))["metadata"]["name"],
        name,
    }
    assert len(others) == 6


def test_the_name_of_the_longest_cluster_is_a_valid_job_name() -> None:
    """A Job's name goes into its pod's `job-name` label: 63 characters at most."""
    name = render(spec=cluster("k" * names.CLUSTER_NAME_MAX))["metadata"]["name"]
    assert len(name) <= 63
    assert DNS_LABEL.fullmatch(name)


def test_in_the_clusters_namespace_without_owners_yet() -> None:
    metadata = render()["metadata"]
    assert metadata["namespace"] == "streaming"
    assert "ownerReferences" not in metadata


def test_the_pod_is_no_kafka_node_and_the_job_no_topic_job() -> None:
    job = render()
    pod_labels = job["spec"]["template"]["metadata"]["labels"]
    assert not selects(POD_SELECTOR, pod_labels)
    kafka_pods = names.selector_labels("events")
    for labels in (pod_labels, job["metadata"]["labels"]):
        assert not kafka_pods.items() <= labels.items()
        assert not selects(names.TOPIC_JOB_SELECTOR, labels)
    assert job["metadata"]["labels"][names.CLUSTER_LABEL] == "events"


def test_the_job_has_no_kubernetes_api_access() -> None:
    pod = render()["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in pod
    assert pod["enableServiceLinks"] is False


def test_the_pod_meets_the_restricted_pod_security_standard() -> None:
    pod = render()["spec"]["template"]["spec"]
    assert restricted_violations(pod) == []
    assert container(render())["securityContext"]["readOnlyRootFilesystem"] is True


def test_a_failed_job_is_retried_briefly_and_cleaned_up_eventually() -> None:
    spec = render()["spec"]
    assert spec["backoffLimit"] == 2
    assert spec["activeDeadlineSeconds"] == 300
    assert spec["ttlSecondsAfterFinished"] == 86400
    assert spec["template"]["spec"]["restartPolicy"] == "Never"


def test_the_job_passes_the_kubernetes_schema() -> None:
    kubernetes_validate.validate(owned_by(render(), OWNER), KUBERNETES_VERSION, strict=True)
