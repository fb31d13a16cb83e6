"""`kopfka.dev/paused: "true"` stops reconciling; removing it applies what changed meanwhile."""

from __future__ import annotations

import json

from tests.support.clusters import (
    mounted_config,
    pause,
    resource_versions,
    wait_condition,
    wait_ready,
)
from tests.support.kube import TestKube, condition
from tests.support.manifests import kafka_cluster
from tests.support.operator import OperatorProcess
from tests.support.waiting import wait_for


def _brokers_config(kube: TestKube, namespace: str) -> str:
    config_map = mounted_config(kube, "events-brokers", namespace)
    return "\n".join(str(value) for value in config_map["data"].values())


def test_paused_cluster_is_left_alone_until_resumed(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    kube.apply(kafka_cluster("events", namespace))
    wait_ready(kube, "events", namespace)

    paused = pause(kube, "events", namespace)
    before = resource_versions(kube, "events", namespace)
    before.pop("KafkaCluster")

    patch = {"spec": {"kafka": {"config": {"log.retention.ms": "7200000"}}}}
    kube.kubectl(
        "patch", "kafkacluster", "events", "-n", namespace, "--type=merge", "-p", json.dumps(patch)
    )
    # The operator has handled the new generation (its Paused condition describes it)...
    changed = wait_condition(
        kube,
        "KafkaCluster",
        "events",
        namespace,
        type="Reconciling",
        status="False",
        reason="Paused",
    )
    assert changed["metadata"]["generation"] == paused["metadata"]["generation"] + 1
    # ...and changed no child.
    after = resource_versions(kube, "events", namespace)
    after.pop("KafkaCluster")
    assert after == before
    assert "log.retention.ms=7200000" not in _brokers_config(kube, namespace)
    ready = condition(changed, "Ready")
    assert ready is not None
    assert ready["status"] == "True"

    kube.kubectl("annotate", "kafkacluster", "events", "-n", namespace, "kopfka.dev/paused-")
    wait_for(
        lambda: "log.retention.ms=7200000" in _brokers_config(kube, namespace),
        timeout=60,
        what="the change made while paused to be applied",
    )
    # The ConfigMap is written a moment before the status: wait for the status to say resumed.
    wait_for(
        lambda: (
            (reconciling := condition(kube.cluster("events", namespace), "Reconciling")) is not None
            and reconciling["reason"] != "Paused"
        ),
        timeout=60,
        what="the status to say the cluster is reconciled again",
    )
    wait_ready(kube, "events", namespace)
