"""The settings Job: the exact `kafka-configs` command for a LivePlan, with the tool of the
cluster's Kafka version from the image's libs; the same work gets the same name (so it never starts
twice) and other work another. The Job itself is render/tool_job.py's, shared with the features
Job, and test_tool_job checks it for both."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kopfka.model import kafka_config
from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.live_settings import LivePlan
from kopfka.render.settings_job import (
    IMAGE_LIBS,
    config_command_args,
    config_command_class,
    render_settings_job,
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


def test_the_tool_runs_from_the_images_kafka_libs() -> None:
    command = container(render())["command"]
    assert command[command.index("-cp") + 1] == f"{IMAGE_LIBS}/*"


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
