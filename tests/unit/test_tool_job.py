"""What every Job that runs one of Kafka's own tools shares (render/tool_job.py), checked for each
kind there is (the settings, features and unregister Jobs): it runs the cluster's broker image as
its pods pull it; its name is a valid Job name even for the longest cluster; its pod is no Kafka
node to the operator and the Job no other kind of Job; it sits in the cluster's namespace without
owners yet; it has no Kubernetes API access and meets the restricted Pod Security Standard; a
failed one is retried briefly and cleaned up eventually; and it passes the Kubernetes schema.
What differs (the command, what the name is made of) is tested in test_settings_job and
test_features_job."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kubernetes_validate
import pytest

from kopfka.handlers.cluster import POD_SELECTOR
from kopfka.model import names
from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.live_settings import LivePlan
from kopfka.model.upgrade import Finalize, metadata_version
from kopfka.render.cluster import owned_by
from kopfka.render.features_job import FEATURES_JOB_COMPONENT, render_features_job
from kopfka.render.settings_job import SETTINGS_JOB_COMPONENT, render_settings_job
from kopfka.render.tool_job import KIND_MAX, render_tool_job
from kopfka.render.unregister_job import UNREGISTER_JOB_COMPONENT, render_unregister_job
from tests.unit.test_render_topic_job import (
    DNS_LABEL,
    KUBERNETES_VERSION,
    OWNER,
    restricted_violations,
    selects,
)

BOOTSTRAP = "events-kafka-bootstrap.streaming.svc:9092"
Render = Callable[[ClusterSpec], dict[str, Any]]


def _settings(spec: ClusterSpec) -> dict[str, Any]:
    plan = LivePlan(to_set={"min.insync.replicas": "2"}, to_delete=("log.retention.ms",))
    return render_settings_job(spec, plan, bootstrap=BOOTSTRAP)


def _features(spec: ClusterSpec) -> dict[str, Any]:
    known = metadata_version(spec.version)
    finalize = Finalize(release=known.release, level=known.level)
    return render_features_job(spec, finalize, bootstrap=BOOTSTRAP)


def _unregister(spec: ClusterSpec) -> dict[str, Any]:
    return render_unregister_job(spec, 4, bootstrap=BOOTSTRAP)


KINDS = {
    SETTINGS_JOB_COMPONENT: _settings,
    FEATURES_JOB_COMPONENT: _features,
    UNREGISTER_JOB_COMPONENT: _unregister,
}


@pytest.fixture(params=sorted(KINDS))
def component(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def cluster(name: str = "events", **spec: Any) -> ClusterSpec:
    return parse_cluster(name, "streaming", {"brokers": {"replicas": 3}, **spec})


def container(job: dict[str, Any]) -> dict[str, Any]:
    [only] = job["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = only
    return result


def test_the_job_runs_the_clusters_broker_image_as_its_pods_pull_it(component: str) -> None:
    render = KINDS[component]
    default = container(render(cluster()))
    assert (default["image"], default["imagePullPolicy"]) == ("kopfka/kafka:4.4.0", "IfNotPresent")
    job = render(
        cluster(
            kafka={"image": "registry.example/kafka:4.4.0-1", "imagePullPolicy": "Always"},
            template={"pod": {"imagePullSecrets": [{"name": "registry"}]}},
        )
    )
    assert (container(job)["image"], container(job)["imagePullPolicy"]) == (
        "registry.example/kafka:4.4.0-1",
        "Always",
    )
    assert job["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "registry"}]


def test_the_name_of_the_longest_cluster_is_a_valid_job_name(component: str) -> None:
    """A Job's name goes into its pod's `job-name` label: 63 characters at most."""
    name = KINDS[component](cluster("k" * names.CLUSTER_NAME_MAX))["metadata"]["name"]
    assert len(name) <= 63
    assert DNS_LABEL.fullmatch(name)


@pytest.mark.parametrize("kind", ["", "k" * (KIND_MAX + 1)])
def test_a_kind_that_would_make_too_long_a_name_is_refused(kind: str) -> None:
    with pytest.raises(ValueError, match="kind"):
        render_tool_job(cluster(), kind=kind, main_class="x.Y", args=[])


def test_the_pod_is_no_kafka_node_and_the_job_no_other_kind_of_job(component: str) -> None:
    job = KINDS[component](cluster())
    pod_labels = job["spec"]["template"]["metadata"]["labels"]
    assert not selects(POD_SELECTOR, pod_labels)
    for labels in (pod_labels, job["metadata"]["labels"]):
        assert not names.selector_labels("events").items() <= labels.items()
        assert not selects(names.TOPIC_JOB_SELECTOR, labels)
        assert labels["app.kubernetes.io/component"] == component
    assert job["metadata"]["labels"][names.CLUSTER_LABEL] == "events"


def test_in_the_clusters_namespace_without_owners_yet(component: str) -> None:
    metadata = KINDS[component](cluster())["metadata"]
    assert metadata["namespace"] == "streaming"
    assert "ownerReferences" not in metadata


def test_no_api_access_and_restricted_pod_security(component: str) -> None:
    job = KINDS[component](cluster())
    pod = job["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in pod
    assert pod["enableServiceLinks"] is False
    assert restricted_violations(pod) == []
    assert container(job)["securityContext"]["readOnlyRootFilesystem"] is True


def test_a_failed_job_is_retried_briefly_and_cleaned_up_eventually(component: str) -> None:
    spec = KINDS[component](cluster())["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"]) == (2, 300)
    assert spec["ttlSecondsAfterFinished"] == 86400
    assert spec["template"]["spec"]["restartPolicy"] == "Never"


def test_the_job_passes_the_kubernetes_schema(component: str) -> None:
    job = owned_by(KINDS[component](cluster()), OWNER)
    kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)
