"""Children changed or deleted by someone else are put back by the drift timer."""

from __future__ import annotations

import json

from tests.support.clusters import mounted_config, wait_ready
from tests.support.kube import Obj, TestKube
from tests.support.manifests import kafka_cluster
from tests.support.operator import TIER_DRIFT_INTERVAL, OperatorProcess
from tests.support.waiting import wait_for

REPAIR_TIMEOUT = 30 + 4 * TIER_DRIFT_INTERVAL


def test_edited_and_deleted_children_are_restored(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    kube.apply(kafka_cluster("events", namespace))
    wait_ready(kube, "events", namespace)
    config = mounted_config(kube, "events-brokers", namespace)
    config_name = config["metadata"]["name"]
    service = kube.must_get("v1", "Service", "events-kafka-bootstrap", namespace)
    assert [(p["name"], p["port"]) for p in service["spec"]["ports"]] == [("plain", 9092)]

    # Someone edits the bootstrap Service's port and deletes a ConfigMap by hand.
    edit = [{"op": "replace", "path": "/spec/ports/0/port", "value": 9999}]
    kube.kubectl(
        "patch",
        "service",
        "events-kafka-bootstrap",
        "-n",
        namespace,
        "--type=json",
        "-p",
        json.dumps(edit),
    )
    kube.kubectl("delete", "configmap", config_name, "-n", namespace)

    def ports() -> list[tuple[str, int]]:
        live = kube.must_get("v1", "Service", "events-kafka-bootstrap", namespace)
        return [(p.get("name", ""), p["port"]) for p in live["spec"]["ports"]]

    wait_for(
        lambda: ports() == [("plain", 9092)],
        timeout=REPAIR_TIMEOUT,
        what="the bootstrap Service's port to be restored",
        describe=lambda: str(ports()),
    )
    restored: Obj = wait_for(
        lambda: kube.get("v1", "ConfigMap", config_name, namespace),
        timeout=REPAIR_TIMEOUT,
        what="the deleted ConfigMap to be recreated",
    )
    assert restored["data"] == config["data"]
    assert restored["metadata"]["uid"] != config["metadata"]["uid"]
    assert restored["metadata"]["ownerReferences"] == config["metadata"]["ownerReferences"]
