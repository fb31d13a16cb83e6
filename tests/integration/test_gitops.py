"""GitOps without drift: the examples, applied the way Argo CD or Flux applies them, stay equal to
what git holds once the operator has made them Ready.

A GitOps tool applies the files with server-side apply under its own field manager and keeps
comparing: any field of theirs that the operator changed, or defaulted differently from the files,
would show as a diff for ever. So after the clusters are Ready (and the topics observed), a
server-side diff of the same files must be empty, and no field manager but the tool's may own
anything under `spec`.
"""

from __future__ import annotations

import subprocess

from tests.support.clusters import wait_ready, wait_topic_reason
from tests.support.kube import TestKube
from tests.support.operator import NO_KAFKA_REASON, REPO_ROOT, OperatorProcess

EXAMPLES = REPO_ROOT / "manifests" / "examples"
GITOPS_MANAGER = "gitops-tool"


def _kubectl_diff(kube: TestKube, namespace: str) -> subprocess.CompletedProcess[str]:
    """`kubectl diff --server-side` of the examples: exit 0 with no output when nothing differs."""
    return subprocess.run(
        [
            str(kube.kubectl_path),
            "--kubeconfig",
            str(kube.kubeconfig),
            "diff",
            "--server-side",
            f"--field-manager={GITOPS_MANAGER}",
            "-n",
            namespace,
            "-k",
            str(EXAMPLES),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_examples_applied_by_a_gitops_tool_show_no_diff_once_ready(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    kube.kubectl(
        "apply", "--server-side", f"--field-manager={GITOPS_MANAGER}", "-n", namespace, "-k",
        str(EXAMPLES),
    )  # fmt: skip
    for cluster in ("demo", "events"):
        wait_ready(kube, cluster, namespace)
    for topic in ("greetings", "orders"):
        # kwok runs no Kafka: a valid topic of a ready cluster is as far as it gets.
        wait_topic_reason(kube, topic, namespace, NO_KAFKA_REASON)

    diff = _kubectl_diff(kube, namespace)
    assert diff.returncode == 0, f"kubectl diff found drift:\n{diff.stdout}{diff.stderr}"
    assert diff.stdout == ""

    for kind, name in [
        ("KafkaCluster", "demo"),
        ("KafkaCluster", "events"),
        ("KafkaTopic", "greetings"),
        ("KafkaTopic", "orders"),
    ]:
        live = kube.must_get("kopfka.dev/v1alpha1", kind, name, namespace)
        owners_of_spec = sorted(
            entry["manager"]
            for entry in live["metadata"]["managedFields"]
            if "f:spec" in (entry.get("fieldsV1") or {})
        )
        assert owners_of_spec == [GITOPS_MANAGER], f"{kind} {name}: spec owned by {owners_of_spec}"
        assert live["metadata"]["generation"] == 1, f"{kind} {name}: its spec was changed"
