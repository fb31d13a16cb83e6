"""Names and labels of everything the operator creates: the one place that builds them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

GROUP = "kopfka.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
CLUSTER_KIND = "KafkaCluster"
CLUSTER_PLURAL = "kafkaclusters"
TOPIC_KIND = "KafkaTopic"
TOPIC_PLURAL = "kafkatopics"
USER_KIND = "KafkaUser"
USER_PLURAL = "kafkausers"

FIELD_MANAGER = "kopfka"
FINALIZER = f"{GROUP}/finalizer"
# On a KafkaTopic with deletionPolicy delete only: its Kafka topic is deleted before it goes.
TOPIC_FINALIZER = f"{GROUP}/delete-topic"
# On every KafkaUser: its credential and quotas are removed from Kafka before it goes.
USER_FINALIZER = f"{GROUP}/delete-user"
# On a user Job: the users whose credentials it sets, and the revision (uid/resourceVersion)
# of each one's Secret (JSON).
USER_CREDENTIALS_ANNOTATION = f"{GROUP}/credentials"
# On a SCRAM KafkaUser's Secret: where its password comes from, `generated` or `<secret>/<key>`
# of the user's own Secret (absent on Secrets of earlier kopfka versions: generated).
PASSWORD_SOURCE_ANNOTATION = f"{GROUP}/password-source"
# On a topic or user Job whose pods' logs (or end) the operator has read.
OUTCOMES_READ_ANNOTATION = f"{GROUP}/outcomes-read"
# kopf's own annotations (progress, last handled spec). A prefix of its own: kopf ignores changes
# to annotations under it, and the users' annotations under kopfka.dev must not be ignored.
KOPF_STORAGE_PREFIX = f"kopf.{GROUP}"
PAUSED_ANNOTATION = f"{GROUP}/paused"
RESTART_HASH_ANNOTATION = f"{GROUP}/restart-hash"
# On a KafkaCluster (a new value rolls every node) or on one of its pods (rolls that node).
ROLL_ANNOTATION = f"{GROUP}/roll"
# A new value on a KafkaCluster asks for a rebalance now (live/rebalance.py).
REBALANCE_ANNOTATION = f"{GROUP}/rebalance"
DESIRED_HASH_ANNOTATION = f"{GROUP}/desired-hash"
# On volume claims: the KRaft cluster id their data was formatted with.
CLUSTER_ID_ANNOTATION = f"{GROUP}/cluster-id"

# A KafkaCluster's name starts the names of Services (DNS-1035 labels: a letter first, no dots)
# and StatefulSets. The StatefulSet controller labels each pod `controller-revision-hash:
# <statefulset>-<up to 10 characters>`, and a label value has at most 63 characters, so the
# longest StatefulSet name (`<cluster>-controllers`) may have 52: the cluster name 40.
CLUSTER_NAME_PATTERN = "^[a-z]([-a-z0-9]*[a-z0-9])?$"
CLUSTER_NAME_MAX = 40
CLUSTER_NAME_RULE = (
    f"cluster names are at most {CLUSTER_NAME_MAX} lowercase letters, digits and '-', starting "
    "with a letter and ending with a letter or digit (they start Service and pod names)"
)

CLUSTER_LABEL = f"{GROUP}/cluster"
# Every object the operator makes carries it; the operator's caches watch by it (k8s/children.py).
MANAGED_BY = {"app.kubernetes.io/managed-by": "kopfka"}
ROLE_LABEL = f"{GROUP}/role"
NODE_ID_LABEL = f"{GROUP}/node-id"
# On the pods of every Job kopfka runs for a cluster (topics, users, rebalance, Kafka's tools):
# what the cluster's NetworkPolicy lets in to its internal listeners (render/network_policy.py).
JOB_CLUSTER_LABEL = f"{GROUP}/job-cluster"

TOPIC_JOB_COMPONENT = "topic-job"
REBALANCE_JOB_COMPONENT = "rebalance-job"
USER_JOB_COMPONENT = "user-job"
# The operator's server-side watch of its topic and user Jobs: those of every cluster, nothing
# else.
TOPIC_JOB_SELECTOR = (
    f"app.kubernetes.io/component in ({TOPIC_JOB_COMPONENT},{USER_JOB_COMPONENT}),"
    "app.kubernetes.io/managed-by=kopfka"
)


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


def is_paused(body: Mapping[str, Any]) -> bool:
    """Whether a KafkaCluster carries the pause annotation (the value `true`, in any case)."""
    annotations = body.get("metadata", {}).get("annotations") or {}
    return str(annotations.get(PAUSED_ANNOTATION, "")).lower() == "true"


def cluster_name_problem(name: str) -> str | None:
    """Why `name` cannot name a KafkaCluster, or None (the same rule as the CRD's CEL rule)."""
    if len(name) <= CLUSTER_NAME_MAX and re.fullmatch(CLUSTER_NAME_PATTERN, name):
        return None
    return f"name {name!r}: {CLUSTER_NAME_RULE}"


def pool_name(cluster: str, role: Role) -> str:
    """StatefulSet, headless Service and PodDisruptionBudget name of one role."""
    suffix = {"controller": "controllers", "broker": "brokers", "combined": "nodes"}[role.value]
    return f"{cluster}-{suffix}"


def config_map_name(cluster: str, role: Role, revision: str) -> str:
    """The ConfigMap of one config revision of a pool: pods keep the one they were made with."""
    return f"{config_map_prefix(cluster, role)}-{revision}"


def config_map_prefix(cluster: str, role: Role) -> str:
    """What every config ConfigMap name of a pool starts with (also the single one of older
    kopfka releases, which had no revisions)."""
    return f"{pool_name(cluster, role)}-config"


def metrics_config_map_name(cluster: str) -> str:
    """The JMX exporter's configuration, one for every pool: pods mount it under this fixed name,
    so a rule change reaches running nodes without changing their pod spec."""
    return f"{cluster}-kafka-metrics"


def network_policy_name(cluster: str) -> str:
    """The NetworkPolicy of every Kafka pod of a cluster (spec.networkPolicy)."""
    return f"{cluster}-kafka"


def bootstrap_service_name(cluster: str) -> str:
    return f"{cluster}-kafka-bootstrap"


def cluster_ca_secret_name(cluster: str) -> str:
    """The CA kopfka makes for a cluster's TLS listeners: ca.crt and ca.key (never mounted)."""
    return f"{cluster}-cluster-ca"


def cluster_ca_cert_secret_name(cluster: str) -> str:
    """The cluster CA's certificate alone (ca.crt), for clients to mount and trust."""
    return f"{cluster}-cluster-ca-cert"


def broker_tls_secret_name(cluster: str) -> str:
    """Every broker's key and certificate, one file per pod (`broker_tls_file`)."""
    return f"{cluster}-kafka-tls"


def broker_tls_file(pod: str) -> str:
    """A broker's key, certificate and CA certificate in one PEM file, as Kafka reads them."""
    return f"{pod}.pem"


def clients_ca_secret_name(cluster: str) -> str:
    """The clients CA kopfka makes for a cluster's listeners with authentication tls: ca.crt and
    ca.key (never mounted; the user sync reads it to issue TLS KafkaUsers' certificates)."""
    return f"{cluster}-clients-ca"


# In the brokers' Secret, next to their key stores: the clients CA's certificates, the trust
# store of the listeners with authentication tls (a pod name never ends in .crt).
CLIENTS_CA_FILE = "clients-ca.crt"
# With spec.internalListeners.tls, also: the cluster CAs every node trusts on the controller and
# replication listeners (the CA, and during a change of CA the one before it).
NODE_TRUST_FILE = "cluster-ca.crt"


def operator_tls_secret_name(cluster: str) -> str:
    """With spec.internalListeners.tls: the operator's own key and certificate for the cluster
    (OPERATOR_KEY_STORE), the CAs it trusts (OPERATOR_TRUST) and a Kafka client config naming
    them (OPERATOR_CLIENT_CONFIG), which the operator's Jobs mount."""
    return f"{cluster}-operator-tls"


# On a pod of a cluster with spec.internalListeners.tls: the fingerprints of the CAs its Kafka
# trusts on the internal listeners (certs/kept.py fingerprints), from its pod template.
TRUSTED_CAS_ANNOTATION = f"{GROUP}/trusted-cas"
# cert-manager's Certificate (spec.clusterCa.certManager).
CERTIFICATE_API_VERSION = "cert-manager.io/v1"
CERTIFICATE_KIND = "Certificate"


def issued_certificate_name(holder: str) -> str:
    """With spec.clusterCa.certManager: the cert-manager Certificate, and the Secret cert-manager
    issues it into, of a node (`holder`: its pod's name) or of the operator
    (OPERATOR_CERTIFICATE_HOLDER)."""
    return f"{holder}-cert"


def operator_certificate_holder(cluster: str) -> str:
    return f"{cluster}-operator"


# The app.kubernetes.io/component of those Certificates and of the Secrets cert-manager issues
# them into (with the cluster's selector labels): one list finds a cluster's.
ISSUED_CERTIFICATE_COMPONENT = "issued-certificate"


OPERATOR_KEY_STORE = "operator.pem"
OPERATOR_TRUST = "ca.crt"
OPERATOR_CLIENT_CONFIG = "client.properties"
# The principal of the operator's certificate (CN); on the internal listeners every peer with a
# certificate of the cluster CA is the internal principal anyway.
OPERATOR_COMMON_NAME = "kopfka-operator"


# The cluster's DNS domain: the names under it go into the brokers' certificates too.
CLUSTER_DOMAIN = "cluster.local"


def _service_dns_names(host: str, namespace: str) -> list[str]:
    """The names a client may use for a Service (or a pod under a headless one): short, with the
    namespace, with .svc, and fully qualified."""
    return [
        host,
        f"{host}.{namespace}",
        f"{host}.{namespace}.svc",
        f"{host}.{namespace}.svc.{CLUSTER_DOMAIN}",
    ]


def broker_dns_names(cluster: str, namespace: str, role: Role, ordinal: int) -> tuple[str, ...]:
    """Every DNS name a client may reach a broker by, for its certificate: its pod's own name
    under the headless Service (what Kafka advertises), the headless Service and the bootstrap
    Service, each short, with the namespace, .svc and fully qualified."""
    pool = pool_name(cluster, role)
    return (
        *_service_dns_names(f"{pod_name(cluster, role, ordinal)}.{pool}", namespace),
        *_service_dns_names(bootstrap_service_name(cluster), namespace),
        *_service_dns_names(pool, namespace),
    )


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
        **MANAGED_BY,
        "app.kubernetes.io/version": version,
    }


def topic_job_name(cluster: str, digest: str) -> str:
    """The topic Job and its work ConfigMap, named by the digest of the work (10 lowercase hex
    characters). Kubernetes puts a Job's name into a label of its pod, so it has at most 63
    characters: a cluster name has at most 40, and `-topics-` and the digest add 18."""
    return f"{cluster}-topics-{digest}"


def topic_job_labels(cluster: str) -> dict[str, str]:
    return operator_job_labels(cluster, "topics", TOPIC_JOB_COMPONENT)


def topic_job_pod_labels(cluster: str) -> dict[str, str]:
    return operator_job_pod_labels(cluster, "topics", TOPIC_JOB_COMPONENT)


def user_job_name(cluster: str, digest: str) -> str:
    """The user Job and its work ConfigMap, named like the topic Job's (60 characters at most)."""
    return f"{cluster}-users-{digest}"


def user_job_labels(cluster: str) -> dict[str, str]:
    return operator_job_labels(cluster, "users", USER_JOB_COMPONENT)


def user_job_pod_labels(cluster: str) -> dict[str, str]:
    return operator_job_pod_labels(cluster, "users", USER_JOB_COMPONENT)


def user_secret_name(user: str) -> str:
    """The Secret of a KafkaUser's password: the KafkaUser's own name."""
    return user


def rebalance_job_name(cluster: str, digest: str) -> str:
    """The rebalance Job and its work ConfigMap, named like the topic Job's (61 characters at
    most)."""
    return f"{cluster}-rebalance-{digest}"


def rebalance_job_labels(cluster: str) -> dict[str, str]:
    return operator_job_labels(cluster, "rebalance", REBALANCE_JOB_COMPONENT)


def rebalance_job_pod_labels(cluster: str) -> dict[str, str]:
    return operator_job_pod_labels(cluster, "rebalance", REBALANCE_JOB_COMPONENT)


def operator_job_labels(cluster: str, kind: str, component: str) -> dict[str, str]:
    """Labels of an operator Job (render/operator_job.py) and its ConfigMap. Not
    `app.kubernetes.io/name: kafka`: the operator lists a cluster's Kafka pods by
    `selector_labels`, and a Job's pod is no Kafka node."""
    return {
        **operator_job_pod_labels(cluster, kind, component),
        "app.kubernetes.io/managed-by": "kopfka",
        CLUSTER_LABEL: cluster,
    }


def operator_job_pod_labels(cluster: str, kind: str, component: str) -> dict[str, str]:
    """Labels of an operator Job's pod: without `app.kubernetes.io/managed-by` and the cluster
    label, which the operator's watch of Kafka pods selects (handlers.cluster.POD_SELECTOR), so
    that a Job's pod never reaches the handler of Kafka pods."""
    return {
        "app.kubernetes.io/name": f"kopfka-{kind}",
        "app.kubernetes.io/instance": cluster,
        "app.kubernetes.io/component": component,
        **job_pod_selector_labels(cluster),
    }


def job_pod_selector_labels(cluster: str) -> dict[str, str]:
    """What every pod of a Job kopfka runs for a cluster carries, whatever the Job's kind: the
    cluster's NetworkPolicy lets these pods reach the Kafka pods."""
    return {JOB_CLUSTER_LABEL: cluster}
