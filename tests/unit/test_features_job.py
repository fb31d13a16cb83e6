"""The features Job: the exact `kafka-features upgrade --release-version` command of each served
release, in the cluster's broker image; the same work gets the same name and other work another;
the pod is no Kafka node to the operator and no settings Job, has no API access, meets the
restricted Pod Security Standard, and passes the Kubernetes schema. The Job itself is
render/tool_job.py's, shared with the settings Job."""

from __future__ import annotations

import re
from typing import Any

import kubernetes_validate
import pytest

from kopfka.handlers.cluster import POD_SELECTOR
from kopfka.model import kafka_config, names
from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.upgrade import Finalize, metadata_version
from kopfka.render.cluster import owned_by
from kopfka.render.features_job import FEATURES_JOB_COMPONENT, render_features_job
from kopfka.render.settings_job import SETTINGS_JOB_COMPONENT
from kopfka.render.tool_job import KIND_MAX, render_tool_job
from tests.unit.test_render_topic_job import (
    DNS_LABEL,
    KUBERNETES_VERSION,
    OWNER,
    restricted_violations,
    selects,
)

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


def test_the_name_of_the_longest_cluster_is_a_valid_job_name() -> None:
    name = render(cluster("k" * names.CLUSTER_NAME_MAX))["metadata"]["name"]
    assert len(name) <= 63
    assert DNS_LABEL.fullmatch(name)


@pytest.mark.parametrize("kind", ["", "k" * (KIND_MAX + 1)])
def test_a_kind_that_would_make_too_long_a_name_is_refused(kind: str) -> None:
    with pytest.raises(ValueError, match="kind"):
        render_tool_job(cluster(), kind=kind, main_class="x.Y", args=[])


def test_the_job_runs_the_clusters_broker_image_as_its_pods_pull_it() -> None:
    spec = parse_cluster(
        "events",
        "streaming",
        {
            "brokers": {"replicas": 3},
            "kafka": {"image": "registry.example/kafka:4.4.0-1", "imagePullPolicy": "Always"},
            "template": {"pod": {"imagePullSecrets": [{"name": "registry"}]}},
        },
    )
    job = render(spec)
    assert (container(job)["image"], container(job)["imagePullPolicy"]) == (
        "registry.example/kafka:4.4.0-1",
        "Always",
    )
    assert job["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "registry"}]


def test_the_pod_is_no_kafka_node_and_the_job_no_other_job() -> None:
    job = render()
    pod_labels = job["spec"]["template"]["metadata"]["labels"]
    assert not selects(POD_SELECTOR, pod_labels)
    for labels in (pod_labels, job["metadata"]["labels"]):
        assert not names.selector_labels("events").items() <= labels.items()
        assert not selects(names.TOPIC_JOB_SELECTOR, labels)
        assert labels["app.kubernetes.io/component"] == FEATURES_JOB_COMPONENT
        assert labels["app.kubernetes.io/component"] != SETTINGS_JOB_COMPONENT
    assert job["metadata"]["labels"][names.CLUSTER_LABEL] == "events"
    assert job["metadata"]["namespace"] == "streaming"
    assert "ownerReferences" not in job["metadata"]


def test_no_api_access_and_restricted_pod_security() -> None:
    pod = render()["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in pod
    assert restricted_violations(pod) == []
    assert container(render())["securityContext"]["readOnlyRootFilesystem"] is True


def test_a_failed_job_is_retried_briefly_and_cleaned_up_eventually() -> None:
    spec = render()["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"]) == (2, 300)
    assert spec["ttlSecondsAfterFinished"] == 86400
    assert spec["template"]["spec"]["restartPolicy"] == "Never"


def test_the_job_passes_the_kubernetes_schema() -> None:
    kubernetes_validate.validate(owned_by(render(), OWNER), KUBERNETES_VERSION, strict=True)
