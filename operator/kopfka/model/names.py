"""Names and labels of everything the operator creates: the one place that builds them."""

from __future__ import annotations

from enum import StrEnum

GROUP = "kopfka.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
CLUSTER_KIND = "KafkaCluster"
CLUSTER_PLURAL = "kafkaclusters"
TOPIC_KIND = "KafkaTopic"
TOPIC_PLURAL = "kafkatopics"

FIELD_MANAGER = "kopfka"
FINALIZER = f"{GROUP}/finalizer"
PAUSED_ANNOTATION = f"{GROUP}/paused"
RESTART_HASH_ANNOTATION = f"{GROUP}/restart-hash"
DESIRED_HASH_ANNOTATION = f"{GROUP}/desired-hash"

CLUSTER_LABEL = f"{GROUP}/cluster"
ROLE_LABEL = f"{GROUP}/role"
NODE_ID_LABEL = f"{GROUP}/node-id"


class Role(StrEnum):
    """What a set of Kafka nodes does; also the StatefulSet suffix and the node-id range."""

    CONTROLLER = "controller"
    BROKER = "broker"
    COMBINED = "combined"

    @property
    def process_roles(self) -> str:
        return {"controller": "controller", "broker": "broker", "combined": "broker,controller"}[
            self.value
        ]

    @property
    def is_broker(self) -> bool:
        return self is not Role.CONTROLLER

    @property
    def is_controller(self) -> bool:
        return self is not Role.BROKER

    @property
    def node_id_base(self) -> int:
        """Brokers (and combined nodes) count from 0; controllers from 9000, so ids never clash."""
        return 9000 if self is Role.CONTROLLER else 0


def pool_name(cluster: str, role: Role) -> str:
    """StatefulSet, headless Service and PodDisruptionBudget name of one role."""
    suffix = {"controller": "controllers", "broker": "brokers", "combined": "nodes"}[role.value]
    return f"{cluster}-{suffix}"


def config_map_name(cluster: str, role: Role) -> str:
    return f"{pool_name(cluster, role)}-config"


def bootstrap_service_name(cluster: str) -> str:
    return f"{cluster}-kafka-bootstrap"


def service_account_name(cluster: str) -> str:
    return f"{cluster}-kafka"


def pod_name(cluster: str, role: Role, ordinal: int) -> str:
    return f"{pool_name(cluster, role)}-{ordinal}"


def pod_host(cluster: str, namespace: str, role: Role, ordinal: int) -> str:
    """The stable DNS name of a node's pod through its headless Service."""
    return f"{pod_name(cluster, role, ordinal)}.{pool_name(cluster, role)}.{namespace}.svc"


def bootstrap_address(cluster: str, namespace: str, port: int) -> str:
    return f"{bootstrap_service_name(cluster)}.{namespace}.svc:{port}"


def selector_labels(cluster: str, role: Role | None = None) -> dict[str, str]:
    """Labels that select a cluster's pods (of one role); immutable once a StatefulSet exists."""
    labels = {
        "app.kubernetes.io/name": "kafka",
        "app.kubernetes.io/instance": cluster,
        CLUSTER_LABEL: cluster,
    }
    if role is not None:
        labels[ROLE_LABEL] = role.value
    return labels


def labels(
    cluster: str, component: str, *, version: str, role: Role | None = None
) -> dict[str, str]:
    """The full label set of an object the operator makes for a cluster."""
    return {
        **selector_labels(cluster, role),
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/managed-by": "kopfka",
        "app.kubernetes.io/version": version,
    }
