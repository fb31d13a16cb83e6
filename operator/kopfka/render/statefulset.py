"""The StatefulSet of each role, with the restart hash of everything whose change needs a restart.

`updateStrategy: OnDelete`: the operator, not the StatefulSet controller, decides which pod restarts
and when. A pod whose `kopfka.dev/restart-hash` differs from its StatefulSet's is outdated.

Everything is rendered in the API server's normal form: quantities (resources, sizes) as
`quantity.canonical` writes them, and the user's Kubernetes-typed pod settings without the empty
fields the API server drops (`normal.normal_form`). What is rendered is what a GET returns, so an
unchanged cluster compares equal and is not written again, and writing a quantity differently
("4096Mi" for "4Gi") changes nothing and restarts nothing.
"""

from __future__ import annotations

from typing import Any

from kopfka.model import k8s_core, names
from kopfka.model.cluster import ClusterSpec, Pool
from kopfka.model.hashing import stable_hash
from kopfka.model.quantity import canonical
from kopfka.model.schema import METRICS_PORT, PROBE_PORT
from kopfka.render import meta, metrics
from kopfka.render.config import (
    CONFIG_MOUNT,
    DATA_MOUNT,
    TLS_MOUNT,
    config_map_name,
    container_ports,
    server_properties,
)
from kopfka.render.normal import normal_form

KAFKA_UID = 1001
# Controlled shutdown moves leadership away and flushes logs; give it time before SIGKILL.
TERMINATION_GRACE_SECONDS = 300
# The brokers' keys: readable by the Kafka user's group (fsGroup) only, 0440.
TLS_FILE_MODE = 0o440


def serves_tls(spec: ClusterSpec, pool: Pool) -> bool:
    """The pool's nodes serve a TLS listener: they mount the nodes' key store Secret. Brokers
    with a TLS client listener; every node with spec.internalListeners.tls."""
    return (spec.tls and pool.role.is_broker) or spec.internal_tls


def _field_env(name: str, path: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}}


def _env(spec: ClusterSpec, pool: Pool, cluster_id: str) -> list[dict[str, Any]]:
    env = [
        _field_env("POD_NAME", "metadata.name"),
        _field_env("POD_NAMESPACE", "metadata.namespace"),
        {"name": "KOPFKA_NODE_ID_BASE", "value": str(pool.role.node_id_base)},
        {"name": "KOPFKA_CLUSTER_ID", "value": cluster_id},
        {"name": "KAFKA_HEAP_OPTS", "value": f"-Xms{pool.heap_mib}m -Xmx{pool.heap_mib}m"},
        {"name": "KOPFKA_PROBE_PORT", "value": str(PROBE_PORT)},
    ]
    if pool.jvm_options:
        # One option per line: the entrypoint passes each line as one argument to java.
        env.append({"name": "KAFKA_JVM_OPTS", "value": "\n".join(pool.jvm_options)})
    if spec.rack_topology_key is not None and pool.role.is_broker:
        # The API server copies the node's zone/region label onto the pod when it is bound.
        env.append(_field_env("KOPFKA_RACK", f"metadata.labels['{spec.rack_topology_key}']"))
    if spec.metrics.enabled:
        # The entrypoint starts the JMX exporter agent on this port, with the configuration
        # mounted at its default place (metrics.METRICS_MOUNT).
        env.append({"name": "KOPFKA_METRICS_PORT", "value": str(METRICS_PORT)})
    return env


def _probe(path: str, *, period: int, failures: int) -> dict[str, Any]:
    """An HTTP probe answered by the probe agent inside the JVM: the kubelet asks it directly,
    with no process started in the container (docs/broker-image.md)."""
    return {
        "httpGet": {"path": path, "port": "probes", "scheme": "HTTP"},
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


def _container(spec: ClusterSpec, pool: Pool, cluster_id: str) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "kafka",
        "image": spec.image,
        "imagePullPolicy": spec.image_pull_policy,
        "env": _env(spec, pool, cluster_id),
        "ports": [
            {"name": name, "containerPort": port, "protocol": "TCP"}
            for name, port in container_ports(spec, pool.role)
        ],
        # Started: the JVM runs the agent (storage formatting and JVM start may take minutes on
        # a busy node); liveness only counts from then on.
        "startupProbe": _probe("/live", period=5, failures=36),
        # Ready: the node is RUNNING in Kafka's own terms (broker state / quorum member).
        "readinessProbe": _probe("/ready", period=5, failures=3),
        # Live: the JVM is responsive; a broker in long log recovery stays live.
        "livenessProbe": _probe("/live", period=10, failures=6),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "data", "mountPath": DATA_MOUNT},
            {"name": "config", "mountPath": CONFIG_MOUNT, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    if spec.metrics.enabled:
        container["volumeMounts"].append(
            {"name": "metrics", "mountPath": metrics.METRICS_MOUNT, "readOnly": True}
        )
    if serves_tls(spec, pool):
        container["volumeMounts"].append({"name": "tls", "mountPath": TLS_MOUNT, "readOnly": True})
    if pool.resources:
        container["resources"] = {
            kind: {name: canonical(amount, resource_list=True) for name, amount in amounts.items()}
            for kind, amounts in pool.resources.items()
        }
    return container


def _affinity(spec: ClusterSpec, pool: Pool) -> dict[str, Any]:
    """Prefer one node of a role per Kubernetes node, merged with the user's affinity."""
    affinity: dict[str, Any] = normal_form(spec.template.affinity, k8s_core.affinity())
    anti = dict(affinity.get("podAntiAffinity", {}))
    preferred = list(anti.get("preferredDuringSchedulingIgnoredDuringExecution", []))
    preferred.append(
        {
            "weight": 100,
            "podAffinityTerm": {
                "topologyKey": "kubernetes.io/hostname",
                "labelSelector": {"matchLabels": names.selector_labels(spec.name, pool.role)},
            },
        }
    )
    anti["preferredDuringSchedulingIgnoredDuringExecution"] = preferred
    affinity["podAntiAffinity"] = anti
    return affinity


def _spread(spec: ClusterSpec, pool: Pool) -> list[dict[str, Any]]:
    """The user's constraints, and with rack awareness a soft spread of the role over the racks.

    A pod's constraints are keyed by topology key and `whenUnsatisfiable` (the API server refuses
    two with the same pair), so a constraint of the user's on the rack key with `ScheduleAnyway`
    takes the place of the operator's.
    """
    schema = k8s_core.topology_spread_constraint()
    constraints = [normal_form(item, schema) for item in spec.template.topology_spread_constraints]
    taken = {(item.get("topologyKey"), item.get("whenUnsatisfiable")) for item in constraints}
    if (
        spec.rack_topology_key is not None
        and (spec.rack_topology_key, "ScheduleAnyway") not in taken
    ):
        constraints.append(
            {
                "maxSkew": 1,
                "topologyKey": spec.rack_topology_key,
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": names.selector_labels(spec.name, pool.role)},
            }
        )
    return constraints


def pod_spec(spec: ClusterSpec, pool: Pool, cluster_id: str) -> dict[str, Any]:
    volumes: list[dict[str, Any]] = [
        {"name": "config", "configMap": {"name": config_map_name(spec, pool)}},
        {"name": "tmp", "emptyDir": {}},
    ]
    if spec.metrics.enabled:
        # A fixed name, so that the rules in it are no part of the restart hash.
        volumes.append(
            {"name": "metrics", "configMap": {"name": names.metrics_config_map_name(spec.name)}}
        )
    if serves_tls(spec, pool):
        # Every broker's file, each read by its own pod only (server.properties names the file
        # after the pod); a Secret made before the StatefulSet, so a new pod finds its file.
        volumes.append(
            {
                "name": "tls",
                "secret": {
                    "secretName": names.broker_tls_secret_name(spec.name),
                    "defaultMode": TLS_FILE_MODE,
                },
            }
        )
    if not pool.storage.persistent:
        empty_dir: dict[str, Any] = {}
        if pool.storage.size_limit:
            empty_dir["sizeLimit"] = canonical(pool.storage.size_limit)
        volumes.append({"name": "data", "emptyDir": empty_dir})
    result: dict[str, Any] = {
        "serviceAccountName": names.service_account_name(spec.name),
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": KAFKA_UID,
            "runAsGroup": KAFKA_UID,
            "fsGroup": KAFKA_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [_container(spec, pool, cluster_id)],
        "volumes": volumes,
        "affinity": _affinity(spec, pool),
    }
    optional: dict[str, Any] = {
        "topologySpreadConstraints": _spread(spec, pool),
        "tolerations": [
            normal_form(item, k8s_core.toleration()) for item in spec.template.tolerations
        ],
        "nodeSelector": dict(spec.template.node_selector),
        "priorityClassName": spec.template.priority_class_name,
        "imagePullSecrets": [{"name": name} for name in spec.template.image_pull_secrets],
    }
    result.update({key: value for key, value in optional.items() if value})
    return result


def restart_hash(
    spec: ClusterSpec, pool: Pool, cluster_id: str, *, certificates: str | None = None
) -> str:
    """Hash of what a running node cannot pick up live: static settings, the pod spec and, for
    nodes that serve TLS, the revision of their certificates (`certificates`, the broker Secret's
    kopfka.dev/certificates-revision), which changes when kopfka issues running brokers new
    certificates (renewal, new names, another CA), so that they restart one at a time to read
    them. A certificate for a new broker does not change it.

    The exporter's rules are not in it: they live in a ConfigMap of fixed name that the exporter
    reads again when it changes; whether the exporter runs at all is in the pod spec."""
    parts: list[Any] = [
        server_properties(spec, pool, dynamic=False),
        pod_spec(spec, pool, cluster_id),
    ]
    if serves_tls(spec, pool):
        if certificates is None:
            raise ValueError(
                f"{pool.role.value} nodes serve TLS: the certificates' revision is needed"
            )
        parts.append(certificates)
    return stable_hash(*parts)


def _claim_template(spec: ClusterSpec, pool: Pool, cluster_id: str) -> dict[str, Any]:
    """The volume claim template of a pool. The API server refuses any change to the claim
    templates of a live StatefulSet (422), so everything here is fixed for the life of the
    cluster: size and class are immutable in the CRD, and the labels are only those that never
    change (no `app.kubernetes.io/version`, or the first upgrade of Kafka could never be applied).
    """
    claim_spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": canonical(pool.storage.size, resource_list=True)}},
    }
    if pool.storage.storage_class:
        claim_spec["storageClassName"] = pool.storage.storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": "data",
            "labels": meta.lifelong_pool_labels(spec, pool),
            # Every claim is born with the id its data will be formatted for (the id is fixed for
            # the cluster's life): a cluster made again over kept claims finds it there.
            "annotations": {names.CLUSTER_ID_ANNOTATION: cluster_id},
        },
        "spec": claim_spec,
    }


def stateful_set(
    spec: ClusterSpec,
    pool: Pool,
    cluster_id: str,
    *,
    certificates: str | None = None,
    trusted_cas: str = "",
) -> dict[str, Any]:
    """The pool's StatefulSet. With spec.internalListeners.tls, its pods carry the CAs their
    Kafka trusts on the internal listeners (`trusted_cas`, fingerprints): read back from the
    pods, it tells when every node trusts a new cluster CA (certs/keep.py). It is no part of the
    restart hash: a CA joins the trust only with a new certificates revision, which is."""
    pod_labels = {
        **spec.template.labels,
        **meta.pool_labels(spec, pool),
    }
    pod_annotations = {
        **spec.template.annotations,
        names.RESTART_HASH_ANNOTATION: restart_hash(
            spec, pool, cluster_id, certificates=certificates
        ),
    }
    if spec.internal_tls:
        pod_annotations[names.TRUSTED_CAS_ANNOTATION] = trusted_cas
    sts_spec: dict[str, Any] = {
        "serviceName": names.pool_name(spec.name, pool.role),
        "replicas": pool.replicas,
        # Every controller must be up for the quorum to form, so none waits for another.
        "podManagementPolicy": "Parallel",
        "updateStrategy": {"type": "OnDelete"},
        "selector": {"matchLabels": names.selector_labels(spec.name, pool.role)},
        "template": {
            "metadata": {"labels": pod_labels, "annotations": pod_annotations},
            "spec": pod_spec(spec, pool, cluster_id),
        },
    }
    if pool.storage.persistent:
        sts_spec["volumeClaimTemplates"] = [_claim_template(spec, pool, cluster_id)]
        sts_spec["persistentVolumeClaimRetentionPolicy"] = {
            "whenDeleted": "Delete" if pool.storage.delete_claim else "Retain",
            "whenScaled": "Retain",
        }
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": meta.object_meta(
            spec, names.pool_name(spec.name, pool.role), meta.pool_labels(spec, pool)
        ),
        "spec": sts_spec,
    }
