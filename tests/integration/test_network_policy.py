"""A KafkaCluster's NetworkPolicy against the real API server: made with the rules the spec asks
for and owned by the cluster, changed with `clients`, repaired after an edit, deleted when the
spec turns it off, and never taken over (nor deleted) when someone else made one of its name.

Whether a network plugin enforces it is not tested: the e2e node's bridge plugin enforces no
NetworkPolicy (docs/security.md).
"""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import OperatorIdentity
from tests.support.clusters import children, wait_condition, wait_ready
from tests.support.kube import Obj, TestKube, condition
from tests.support.manifests import DEDICATED, kafka_cluster
from tests.support.operator import OperatorProcess
from tests.support.waiting import wait_for

NETWORKING = "networking.k8s.io/v1"
NAME = "events-kafka"
TIMEOUT = 60.0
KAFKA_PODS = {
    "podSelector": {
        "matchLabels": {
            "app.kubernetes.io/instance": "events",
            "app.kubernetes.io/name": "kafka",
            "kopfka.dev/cluster": "events",
        }
    }
}
JOB_PODS = {"podSelector": {"matchLabels": {"kopfka.dev/job-cluster": "events"}}}
APPS = {"podSelector": {"matchLabels": {"app": "orders"}}}
MONITORING = {
    "namespaceSelector": {"matchLabels": {"team": "monitoring"}},
    "podSelector": {"matchExpressions": [{"key": "app", "operator": "Exists", "values": []}]},
}
OFFICE = {"ipBlock": {"cidr": "192.168.0.0/16", "except": []}}


def _operator_pods(identity: OperatorIdentity) -> Obj:
    """The peer of the tier's operator: its namespace, and the chart's selector labels."""
    pairs = identity.environment["KOPFKA_OPERATOR_POD_LABELS"].split(",")
    return {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": identity.namespace}},
        "podSelector": {"matchLabels": dict(pair.split("=", 1) for pair in pairs)},
    }


def _cluster(namespace: str, network_policy: dict[str, Any]) -> Obj:
    return kafka_cluster("events", namespace, {**DEDICATED, "networkPolicy": network_policy})


def _patch_network_policy(kube: TestKube, namespace: str, network_policy: dict[str, Any]) -> None:
    body = {"spec": {"networkPolicy": network_policy}}
    kube.merge_patch("kopfka.dev/v1alpha1", "KafkaCluster", "events", namespace, body)


def _rules(policy: Obj) -> list[tuple[list[Any], list[Any] | None]]:
    """(ports, peers or None for anybody) of each ingress rule, as the API server stored them."""
    return [(rule["ports"], rule.get("from")) for rule in policy["spec"].get("ingress") or []]


def _ports(*names: str) -> list[Any]:
    return [{"protocol": "TCP", "port": name} for name in names]


def _wait_rules(
    kube: TestKube, namespace: str, expected: list[tuple[list[Any], list[Any] | None]]
) -> Obj:
    def matching() -> Obj | None:
        policy = kube.get(NETWORKING, "NetworkPolicy", NAME, namespace)
        return policy if policy is not None and _rules(policy) == expected else None

    return wait_for(
        matching,
        timeout=TIMEOUT,
        what=f"NetworkPolicy {namespace}/{NAME} with the expected rules",
        describe=lambda: str(kube.get(NETWORKING, "NetworkPolicy", NAME, namespace)),
    )


def test_the_policy_follows_the_spec_from_made_to_deleted(
    kube: TestKube,
    operator: OperatorProcess,
    operator_identity: OperatorIdentity,
    namespace: str,
) -> None:
    kube.apply(_cluster(namespace, {"enabled": True}))
    kopfka = [JOB_PODS, _operator_pods(operator_identity)]
    internal = (_ports("replication", "controller"), [KAFKA_PODS, *kopfka])
    open_ports = (_ports("metrics", "probes"), None)
    policy = _wait_rules(kube, namespace, [internal, (_ports("plain"), None), open_ports])
    cluster = wait_ready(kube, "events", namespace)
    assert policy["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "kopfka.dev/v1alpha1",
            "kind": "KafkaCluster",
            "name": "events",
            "uid": cluster["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert policy["spec"]["podSelector"] == KAFKA_PODS["podSelector"]
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    # It selects the cluster's pods: every one of them, and nothing else in the namespace.
    selected = kube.list("v1", "Pod", namespace, KAFKA_PODS["podSelector"]["matchLabels"])
    assert len(selected) == 6
    assert len(selected) == len(kube.list("v1", "Pod", namespace))

    # Clients named: the client listener admits them (as the API server stores them), and the
    # operator and kopfka's Jobs, which may use it.
    _patch_network_policy(kube, namespace, {"clients": [APPS, MONITORING, OFFICE]})
    stored_monitoring = {
        "namespaceSelector": MONITORING["namespaceSelector"],
        "podSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]},
    }
    clients = [APPS, stored_monitoring, {"ipBlock": {"cidr": "192.168.0.0/16"}}, *kopfka]
    _wait_rules(kube, namespace, [internal, (_ports("plain"), clients), open_ports])

    # Edited by hand: put back at the next drift run.
    kube.merge_patch(NETWORKING, "NetworkPolicy", NAME, namespace, {"spec": {"ingress": []}})
    _wait_rules(kube, namespace, [internal, (_ports("plain"), clients), open_ports])
    wait_ready(kube, "events", namespace)

    # Turned off: deleted; the rest of the cluster stays.
    before = set(children(kube, "events", namespace))
    _patch_network_policy(kube, namespace, {"enabled": False})
    wait_for(
        lambda: kube.get(NETWORKING, "NetworkPolicy", NAME, namespace) is None,
        timeout=TIMEOUT,
        what=f"NetworkPolicy {namespace}/{NAME} to be deleted",
    )
    wait_ready(kube, "events", namespace)
    assert set(children(kube, "events", namespace)) == before - {f"NetworkPolicy/{NAME}"}


def test_a_policy_of_its_name_that_kopfka_did_not_make_is_neither_taken_over_nor_deleted(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    theirs = {
        "apiVersion": NETWORKING,
        "kind": "NetworkPolicy",
        "metadata": {"name": NAME, "namespace": namespace},
        "spec": {"podSelector": {"matchLabels": {"app": "another-team"}}},
    }
    kube.apply(theirs)
    kube.apply(_cluster(namespace, {"enabled": True}))
    refused = wait_condition(
        kube,
        "KafkaCluster",
        "events",
        namespace,
        type="Ready",
        status="False",
        reason="ObjectNotOwned",
    )
    ready = condition(refused, "Ready")
    assert ready is not None
    assert f"NetworkPolicy {namespace}/{NAME} already exists" in ready["message"]
    # Nothing was written: not their policy, and no child of the cluster.
    assert children(kube, "events", namespace) == {}

    _patch_network_policy(kube, namespace, {"enabled": False})
    wait_ready(kube, "events", namespace)
    left = kube.must_get(NETWORKING, "NetworkPolicy", NAME, namespace)
    assert left["spec"] == {**theirs["spec"], "policyTypes": ["Ingress"]}
    assert not left["metadata"].get("ownerReferences")
    assert not left["metadata"].get("labels")
