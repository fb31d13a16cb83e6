"""The topic Job and its work ConfigMap: the work reaches the command unchanged, the same work
gets the same name (so it is never started twice), the Job's pod is no Kafka node to the operator,
it has no API access and meets the restricted Pod Security Standard, and both objects pass the
Kubernetes schema."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import kubernetes_validate
import pytest

from kopfka.handlers.cluster import POD_SELECTOR
from kopfka.model import names
from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.render.cluster import owned_by
from kopfka.render.operator_job import WORK_DIR, WORK_KEY, JobImage
from kopfka.render.topic_job import render_topic_job
from kopfka.topics.plan import ConfigChange, TopicCreate
from kopfka.topics.wire import TopicWork, read_work_file, work_file, work_to_json

KUBERNETES_VERSION = "1.36.0"
OWNER = {
    "apiVersion": "kopfka.dev/v1alpha1",
    "kind": "KafkaCluster",
    "metadata": {"name": "events", "uid": "0b5d3c52-3a8e-4e0b-9f1f-1a2b3c4d5e6f"},
}
BOOTSTRAP = "events-kafka-bootstrap.streaming.svc:9092"
IMAGE = JobImage("registry.example/kopfka/operator:1.2.3", "IfNotPresent")
MIB = 1024 * 1024
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def cluster(name: str = "events") -> ClusterSpec:
    return parse_cluster(name, "streaming", {"brokers": {"replicas": 3}})


def work_of(*topics: str, increases: dict[str, int] | None = None) -> TopicWork:
    return TopicWork(
        creates=tuple(TopicCreate(topic, 12, 3, {"retention.ms": "604800000"}) for topic in topics),
        partition_increases=increases or {},
        config_changes={"payments": ConfigChange({"cleanup.policy": "compact"}, ("segment.ms",))},
        deletions=("old-orders",),
    )


def render(
    work: TopicWork, spec: ClusterSpec | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    return render_topic_job(
        spec or cluster(), work=work_file(work), bootstrap=BOOTSTRAP, image=IMAGE
    )


def pod_spec(job: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = job["spec"]["template"]["spec"]
    return spec


def selects(selector: str, labels: dict[str, str]) -> bool:
    """Whether a label selector of `key=value`, `key in (a,b)` and `key` (exists) terms selects
    `labels`."""
    for term in re.split(r",(?![^(]*\))", selector):
        among = re.fullmatch(r"(\S+) in \((.*)\)", term)
        if among is not None:
            if labels.get(among.group(1)) not in among.group(2).split(","):
                return False
            continue
        key, equals, value = term.partition("=")
        if key not in labels or (equals and labels[key] != value):
            return False
    return True


def test_the_job_carries_out_exactly_the_work_from_the_mounted_file() -> None:
    work = work_of("orders", increases={"clicks": 24})
    config_map, job = render(work)
    carried = base64.b64decode(config_map["binaryData"][WORK_KEY])
    assert read_work_file(carried) == work

    pod = pod_spec(job)
    [container] = pod["containers"]
    assert container["command"] == ["kopfka"]
    args = container["args"]
    assert args[0] == "topics-apply"
    assert args[args.index("--bootstrap-servers") + 1] == BOOTSTRAP
    [mount] = container["volumeMounts"]
    [volume] = pod["volumes"]
    assert mount == {"name": volume["name"], "mountPath": WORK_DIR, "readOnly": True}
    assert volume["configMap"] == {"name": config_map["metadata"]["name"]}
    assert args[args.index("--work") + 1] == f"{mount['mountPath']}/{WORK_KEY}"
    assert (container["image"], container["imagePullPolicy"]) == (IMAGE.image, IMAGE.pull_policy)


def test_the_work_cannot_change_under_a_running_job() -> None:
    config_map, _ = render(work_of("orders"))
    assert config_map["immutable"] is True


def test_the_same_work_gets_the_same_name_and_other_work_another() -> None:
    first_config_map, first_job = render(work_of("orders"))
    again_config_map, again_job = render(work_of("orders"))
    other_config_map, other_job = render(work_of("orders", "payments"))
    assert (first_config_map, first_job) == (again_config_map, again_job)
    name = first_job["metadata"]["name"]
    assert first_config_map["metadata"]["name"] == name
    assert re.fullmatch(r"events-topics-[0-9a-f]{10}", name)
    assert other_job["metadata"]["name"] == other_config_map["metadata"]["name"] != name


def test_both_are_in_the_clusters_namespace_without_owners_yet() -> None:
    for obj in render(work_of("orders")):
        assert obj["metadata"]["namespace"] == "streaming"
        assert "ownerReferences" not in obj["metadata"]


def test_the_name_of_the_longest_cluster_is_a_valid_job_name() -> None:
    """A Job's name goes into its pod's `job-name` label: 63 characters at most."""
    longest = "k" * names.CLUSTER_NAME_MAX
    _, job = render(work_of("orders"), cluster(longest))
    name = job["metadata"]["name"]
    assert len(name) <= 63
    assert DNS_LABEL.fullmatch(name)


def test_ten_thousand_topics_fit_in_one_config_map() -> None:
    """A ConfigMap holds at most 1 MiB; this work is more than that as plain JSON."""
    topics = [f"team-{index % 50}.events-{index:05d}" for index in range(10_000)]
    work = work_of(*topics)
    assert len(work_to_json(work).encode()) > MIB
    config_map, _ = render(work)
    assert len(json.dumps(config_map)) < MIB


def test_the_jobs_pod_is_no_kafka_node_to_the_operator() -> None:
    """The operator watches Kafka pods with POD_SELECTOR and lists a cluster's Kafka pods with
    selector_labels; neither may find a topic Job or its pod."""
    config_map, job = render(work_of("orders"))
    pod_labels = job["spec"]["template"]["metadata"]["labels"]
    assert not selects(POD_SELECTOR, pod_labels)
    kafka_pods = names.selector_labels("events")
    for labels in (pod_labels, job["metadata"]["labels"], config_map["metadata"]["labels"]):
        assert not kafka_pods.items() <= labels.items()


def test_the_operator_finds_the_job_by_its_watch_selector() -> None:
    config_map, job = render(work_of("orders"))
    assert selects(names.TOPIC_JOB_SELECTOR, job["metadata"]["labels"])
    assert job["metadata"]["labels"][names.CLUSTER_LABEL] == "events"
    assert config_map["metadata"]["labels"] == job["metadata"]["labels"]
    assert not selects(names.TOPIC_JOB_SELECTOR, names.labels("events", "broker", version="4.1.0"))


def test_the_job_has_no_kubernetes_api_access() -> None:
    _, job = render(work_of("orders"))
    pod = pod_spec(job)
    assert pod["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in pod
    assert pod["enableServiceLinks"] is False


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """What the restricted Pod Security Standard refuses in a pod spec (those of its checks that
    a pod spec can fail; see kubernetes.io/docs/concepts/security/pod-security-standards)."""
    found: list[str] = []
    pod_context = pod.get("securityContext", {})
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(field):
            found.append(field)
    allowed_volumes = {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
    for volume in pod.get("volumes", []):
        if not set(volume) - {"name"} <= allowed_volumes:
            found.append(f"volume {volume['name']}")
    for container in [*pod.get("initContainers", []), *pod["containers"]]:
        context = container.get("securityContext", {})
        where = f"container {container['name']}"
        if context.get("privileged"):
            found.append(f"{where}: privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(f"{where}: allowPrivilegeEscalation")
        capabilities = context.get("capabilities", {})
        if "ALL" not in capabilities.get("drop", []):
            found.append(f"{where}: capabilities not dropped")
        if set(capabilities.get("add", [])) - {"NET_BIND_SERVICE"}:
            found.append(f"{where}: capabilities added")
        if not context.get("runAsNonRoot", pod_context.get("runAsNonRoot")):
            found.append(f"{where}: runAsNonRoot")
        if 0 in (context.get("runAsUser"), pod_context.get("runAsUser")):
            found.append(f"{where}: runAsUser 0")
        seccomp = context.get("seccompProfile", pod_context.get("seccompProfile", {}))
        if seccomp.get("type") not in {"RuntimeDefault", "Localhost"}:
            found.append(f"{where}: seccompProfile")
        if any("hostPort" in port for port in container.get("ports", [])):
            found.append(f"{where}: hostPort")
    return found


def test_the_jobs_pod_meets_the_restricted_pod_security_standard() -> None:
    _, job = render(work_of("orders"))
    pod = pod_spec(job)
    assert restricted_violations(pod) == []
    [container] = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


@pytest.mark.parametrize(
    ("pod", "violation"),
    [
        ({"containers": [{"name": "c"}]}, "container c: allowPrivilegeEscalation"),
        (
            {
                "securityContext": {"runAsNonRoot": True},
                "containers": [
                    {"name": "c", "securityContext": {"allowPrivilegeEscalation": False}}
                ],
            },
            "container c: seccompProfile",
        ),
        (
            {"containers": [{"name": "c"}], "volumes": [{"name": "h", "hostPath": {"path": "/"}}]},
            "volume h",
        ),
    ],
)
def test_the_restricted_check_finds_what_the_standard_refuses(
    pod: dict[str, Any], violation: str
) -> None:
    assert violation in restricted_violations(pod)


def test_a_failed_job_is_retried_a_few_times_and_cleaned_up_eventually() -> None:
    _, job = render(work_of("orders"))
    spec = job["spec"]
    assert spec["backoffLimit"] == 3
    assert spec["activeDeadlineSeconds"] == 900
    assert spec["ttlSecondsAfterFinished"] == 86400
    assert pod_spec(job)["restartPolicy"] == "Never"


def test_both_objects_pass_the_kubernetes_schema() -> None:
    for obj in render(work_of("orders")):
        kubernetes_validate.validate(owned_by(obj, OWNER), KUBERNETES_VERSION, strict=True)
