"""The NetworkPolicy of a cluster's Kafka pods (`spec.networkPolicy`): who may reach which port.

Why it exists: the controller and replication listeners are plaintext and unauthenticated, the
operator and its Jobs reach Kafka over the replication listener when every client listener has
TLS or authentication, and kopfka trusts connections to those listeners for where they come from.
Whoever can open a connection to a Kafka pod's internal ports could otherwise bypass every client
listener's authentication. So the policy selects every Kafka pod of the cluster, for ingress, and
admits:

- on the controller and replication listeners: the cluster's own Kafka pods, the pods of kopfka's
  Jobs for the cluster (`names.JOB_CLUSTER_LABEL`) and the operator's pods;
- on the client listeners: `spec.networkPolicy.clients`, with kopfka's Jobs and the operator
  (which use a client listener when one has neither TLS nor authentication), or anybody when
  `clients` is left out;
- on the metrics and probe ports: anybody (Prometheus runs wherever its owner put it, and the
  kubelet and other health checks probe the pods; both serve nothing else);

and nothing else. Ports are named as the pods name them (`config.container_ports`), as the
Services' target ports are: while pods still run an older spec (a listener's new port waits for
their restart), each pod is reached on the port it listens on.

The operator's pods are known to the operator process, not to the spec (their namespace and labels
come from the chart, through the environment: `handlers.common.operator_pods`), so the caller
passes them in; without them (an operator run outside the Kubernetes cluster) the policy admits no
operator pod. Pure: the caller adds the owner reference (`cluster.owned_by`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kopfka.model import k8s_core, names, schema
from kopfka.model.cluster import ClusterSpec
from kopfka.render import meta
from kopfka.render.config import container_ports
from kopfka.render.normal import normal_form

# The label Kubernetes gives every Namespace, its own name (immutable, since Kubernetes 1.22).
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
_INTERNAL_PORTS = (schema.CONTROLLER_PORT, schema.REPLICATION_PORT)
_OPEN_PORTS = (schema.METRICS_PORT, schema.PROBE_PORT)


@dataclass(frozen=True)
class OperatorPods:
    """Where the operator's pods run, and labels that select them."""

    namespace: str
    labels: Mapping[str, str]

    def peer(self) -> dict[str, Any]:
        return {
            "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: self.namespace}},
            "podSelector": {"matchLabels": dict(self.labels)},
        }


def network_policy(spec: ClusterSpec, *, operator: OperatorPods | None) -> dict[str, Any] | None:
    """The cluster's NetworkPolicy, or None when `spec.networkPolicy.enabled` is off (the
    reconcile then deletes one made before)."""
    if not spec.network_policy.enabled:
        return None
    ports = _port_names(spec)
    clients = spec.network_policy.clients
    peer_schema = k8s_core.network_policy_peer()
    ingress = [
        _rule(
            [name for port, name in ports if port in _INTERNAL_PORTS],
            peers=[_own_pods(spec), *_kopfka(spec, operator)],
        ),
        _rule(
            [name for port, name in ports if port not in (*_INTERNAL_PORTS, *_OPEN_PORTS)],
            peers=None
            if clients is None
            else [
                *(normal_form(peer, peer_schema) for peer in clients),
                *_kopfka(spec, operator),
            ],
        ),
        _rule([name for port, name in ports if port in _OPEN_PORTS], peers=None),
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta.object_meta(
            spec,
            names.network_policy_name(spec.name),
            names.labels(spec.name, "network-policy", version=spec.version),
        ),
        "spec": {
            "podSelector": {"matchLabels": names.selector_labels(spec.name)},
            "policyTypes": ["Ingress"],
            "ingress": ingress,
        },
    }


def _own_pods(spec: ClusterSpec) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": names.selector_labels(spec.name)}}


def _kopfka(spec: ClusterSpec, operator: OperatorPods | None) -> list[dict[str, Any]]:
    """The pods of kopfka's Jobs for the cluster, and the operator's (when known)."""
    peers = [{"podSelector": {"matchLabels": names.job_pod_selector_labels(spec.name)}}]
    return peers if operator is None else [*peers, operator.peer()]


def _port_names(spec: ClusterSpec) -> list[tuple[int, str]]:
    """(number, name) of every port some Kafka pod of the cluster listens on, each once."""
    seen: dict[int, str] = {}
    for pool in spec.pools:
        for name, port in container_ports(spec, pool.role):
            seen.setdefault(port, name)
    return sorted(seen.items())


def _rule(port_names: Sequence[str], *, peers: Sequence[Any] | None) -> dict[str, Any]:
    """An ingress rule for `port_names` from `peers`; None: from anywhere."""
    rule: dict[str, Any] = {"ports": [{"protocol": "TCP", "port": name} for name in port_names]}
    if peers is not None:
        rule["from"] = list(peers)
    return rule
