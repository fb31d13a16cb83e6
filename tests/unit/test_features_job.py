"""The features Job: the exact `kafka-features upgrade --release-version` command of each served
release, only for the spec's own release; the same work gets the same name and other work another.
The Job itself is render/tool_job.py's, shared with the settings Job, and test_tool_job checks it
for both."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kopfka.model import kafka_config
from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.upgrade import Finalize, metadata_version
from kopfka.render.features_job import render_features_job

BOOTSTRAP = "events-kafka-bootstrap.streaming.svc:9092"


def cluster(name: str = "events", **kafka: Any) -> ClusterSpec:
    return parse_cluster(name, "streaming", {"brokers": {"replicas": 3}, "kafka": kafka})


def finalize(version: str) -> Finalize:
    known = metadata_version(version)
    return Finalize(release=known.release, level=known.level)


def render(spec: ClusterSpec | None = None, bootstrap: str = BOOTSTRAP) -> dict[str, Any]:
    spec = spec or cluster()
    return render_features_job(spec, finalize(spec.version), bootstrap=bootstrap)


def container(job: dict[str, Any]) -> dict[str, Any]:
    [only] = job["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = only
    return result


@pytest.mark.parametrize(("version", "release"), [("4.3.1", "4.3"), ("4.4.0", "4.4")])
def test_the_exact_command_of_each_release(version: str, release: str) -> None:
    job = render(cluster(version=version))
    assert container(job)["command"] == [
        "java",
        "-Xmx256m",
        "-cp",
        "/opt/kafka/libs/*",
        "org.apache.kafka.tools.FeatureCommand",
        "--bootstrap-server",
        BOOTSTRAP,
        "upgrade",
        "--release-version",
        release,
    ]
    assert container(job)["image"] == f"kopfka/kafka:{version}"


def test_every_served_version_can_be_finalized() -> None:
    for version in kafka_config.SUPPORTED_KAFKA_VERSIONS:
        assert container(render(cluster(version=version)))["command"][-2:] == [
            "--release-version",
            version.rsplit(".", 1)[0],
        ]


def test_only_the_specs_own_release() -> None:
    """The Job runs the spec's image, whose tool knows its own release, and no newer one."""
    with pytest.raises(ValueError, match=r"raises to 4\.3, not 4\.4"):
        render_features_job(cluster(version="4.3.1"), finalize("4.4.0"), bootstrap=BOOTSTRAP)


def test_the_same_work_gets_the_same_name_and_other_work_another() -> None:
    name = render()["metadata"]["name"]
    assert re.fullmatch(r"events-features-[0-9a-f]{10}", name)
    assert render()["metadata"]["name"] == name
    assert render() == render()
    others = {
        name,
        render(cluster(version="4.3.1"))["metadata"]["name"],
        render(cluster(image="registry.example/kafka:4.4.0-1"))["metadata"]["name"],
        render(bootstrap="elsewhere:9092")["metadata"]["name"],
    }
    assert len(others) == 4
