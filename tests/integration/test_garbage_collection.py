"""Deleting a KafkaCluster: kube-controller-manager's garbage collector removes its children;
the volume claims stay unless the storage says deleteClaim: true."""

from __future__ import annotations

import copy

from tests.support.clusters import children, claims, pods, wait_ready
from tests.support.kube import TestKube
from tests.support.manifests import DEDICATED, kafka_cluster
from tests.support.operator import OperatorProcess
from tests.support.waiting import wait_for

GC_TIMEOUT = 120


def _delete_and_wait_collected(kube: TestKube, namespace: str) -> None:
    kube.kubectl("delete", "kafkacluster", "events", "-n", namespace, "--timeout=60s")
    assert kube.cluster("events", namespace) is None
    wait_for(
        lambda: not children(kube, "events", namespace) and not pods(kube, "events", namespace),
        timeout=GC_TIMEOUT,
        what="the garbage collector to delete the children and pods",
        describe=lambda: str(sorted(children(kube, "events", namespace))),
    )


def test_children_are_collected_and_claims_kept_by_default(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    kube.apply(kafka_cluster("events", namespace))
    wait_ready(kube, "events", namespace)
    kept = claims(kube, namespace)
    assert len(kept) == 6

    _delete_and_wait_collected(kube, namespace)
    # The StatefulSets are gone, and nothing owns the claims: they stay, with the data.
    assert claims(kube, namespace) == kept
    for claim in kube.list("v1", "PersistentVolumeClaim", namespace):
        assert claim["metadata"].get("deletionTimestamp") is None
        assert not claim["metadata"].get("ownerReferences")


def test_claims_are_deleted_with_delete_claim(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    spec = copy.deepcopy(DEDICATED)
    for role in ("controllers", "brokers"):
        spec[role]["storage"]["deleteClaim"] = True
    kube.apply(kafka_cluster("events", namespace, spec))
    wait_ready(kube, "events", namespace)
    assert len(claims(kube, namespace)) == 6
    # The StatefulSet controller implements persistentVolumeClaimRetentionPolicy by making each
    # StatefulSet an owner of its claims.
    wait_for(
        lambda: all(
            any(ref["kind"] == "StatefulSet" for ref in c["metadata"].get("ownerReferences") or [])
            for c in kube.list("v1", "PersistentVolumeClaim", namespace)
        ),
        timeout=60,
        what="the StatefulSets to own their claims",
    )

    _delete_and_wait_collected(kube, namespace)
    wait_for(
        lambda: claims(kube, namespace) == [],
        timeout=GC_TIMEOUT,
        what="the claims to be deleted",
        describe=lambda: str(claims(kube, namespace)),
    )
