"""Two clusters of the same name in two namespaces are two independent clusters."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.support.clusters import children, pods, resource_versions, wait_ready
from tests.support.kube import TestKube
from tests.support.manifests import DEDICATED, kafka_cluster
from tests.support.operator import OperatorProcess
from tests.support.waiting import wait_for


def _kinds_and_names(kube: TestKube, namespace: str) -> set[str]:
    return {
        re.sub(r"-config-[0-9a-f]{10}$", "-config-<revision>", name)
        for name in children(kube, "events", namespace)
    }


def test_same_name_in_two_namespaces(
    kube: TestKube, operator: OperatorProcess, new_namespace: Callable[[], str]
) -> None:
    first, second = new_namespace(), new_namespace()
    kube.apply(
        kafka_cluster("events", first, DEDICATED), kafka_cluster("events", second, DEDICATED)
    )
    one = wait_ready(kube, "events", first)
    two = wait_ready(kube, "events", second)

    assert one["status"]["clusterId"] != two["status"]["clusterId"]
    assert one["status"]["bootstrapServers"] == f"events-kafka-bootstrap.{first}.svc:9092"
    assert two["status"]["bootstrapServers"] == f"events-kafka-bootstrap.{second}.svc:9092"
    # The same children, but for the config revisions: their files name the namespace.
    assert _kinds_and_names(kube, first) == _kinds_and_names(kube, second)
    for obj in children(kube, "events", second).values():
        assert obj["metadata"]["ownerReferences"][0]["uid"] == two["metadata"]["uid"]
    untouched = resource_versions(kube, "events", second)

    kube.kubectl("delete", "kafkacluster", "events", "-n", first, "--timeout=60s")
    wait_for(
        lambda: not children(kube, "events", first) and not pods(kube, "events", first),
        timeout=120,
        what=f"the children in {first} to be collected",
    )
    still = wait_ready(kube, "events", second)
    assert still["status"]["clusterId"] == two["status"]["clusterId"]
    assert resource_versions(kube, "events", second) == untouched
    assert len(pods(kube, "events", second)) == 6
