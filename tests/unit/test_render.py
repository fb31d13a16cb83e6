"""Renderers, case by case: what each spec turns into, and what changes the restart hash."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kopfka.model import names
from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.names import Role
from kopfka.render import config, statefulset
from kopfka.render.cluster import controllers_outlive_brokers, owned_by, render_cluster
from tests.support.render import properties

BASE: dict[str, Any] = {"brokers": {"replicas": 3}}


def parse(spec: dict[str, Any]) -> ClusterSpec:
    return parse_cluster("events", "streaming", spec)


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


VOTERS = ",".join(
    f"{9000 + i}@events-controllers-{i}.events-controllers.streaming.svc:9093" for i in range(3)
)


@pytest.mark.parametrize(
    ("spec", "role", "expected"),
    [
        (
            BASE,
            Role.CONTROLLER,
            {
                "process.roles": "controller",
                "node.id": "${KOPFKA_NODE_ID}",
                "controller.quorum.voters": VOTERS,
                "listeners": "CONTROLLER://${KOPFKA_BIND_ADDRESS}:9093",
                "advertised.listeners": "CONTROLLER://${POD_NAME}.events-controllers.streaming.svc:9093",
                "log.dirs": "/var/lib/kafka/data",
            },
        ),
        (
            BASE,
            Role.BROKER,
            {
                "process.roles": "broker",
                "listeners": "REPLICATION://${KOPFKA_BIND_ADDRESS}:9091,"
                "PLAIN://${KOPFKA_BIND_ADDRESS}:9092",
                "advertised.listeners": "REPLICATION://${POD_NAME}.events-brokers.streaming.svc:9091,"
                "PLAIN://${POD_NAME}.events-brokers.streaming.svc:9092",
                "listener.security.protocol.map": (
                    "CONTROLLER:PLAINTEXT,REPLICATION:PLAINTEXT,PLAIN:PLAINTEXT"
                ),
                "inter.broker.listener.name": "REPLICATION",
                "controller.quorum.voters": VOTERS,
            },
        ),
        (
            {"mode": "combined", "controllers": {"replicas": 1}},
            Role.COMBINED,
            {
                "process.roles": "broker,controller",
                "controller.quorum.voters": "0@events-nodes-0.events-nodes.streaming.svc:9093",
                "listeners": "CONTROLLER://${KOPFKA_BIND_ADDRESS}:9093,"
                "REPLICATION://${KOPFKA_BIND_ADDRESS}:9091,PLAIN://${KOPFKA_BIND_ADDRESS}:9092",
                "offsets.topic.replication.factor": "1",
            },
        ),
        (
            {**BASE, "rack": {"topologyKey": "topology.kubernetes.io/zone"}},
            Role.BROKER,
            {"broker.rack": "${KOPFKA_RACK}"},
        ),
    ],
    ids=["controller", "broker", "combined", "rack"],
)
def test_server_properties(spec: dict[str, Any], role: Role, expected: dict[str, str]) -> None:
    rendered = properties(parse(spec), role)
    assert {key: rendered.get(key) for key in expected} == expected


def test_controllers_have_no_broker_only_settings() -> None:
    rendered = properties(
        parse({**BASE, "rack": {"topologyKey": "topology.kubernetes.io/zone"}}), Role.CONTROLLER
    )
    assert "inter.broker.listener.name" not in rendered
    assert "broker.rack" not in rendered


@pytest.mark.parametrize(
    ("brokers", "buffer"),
    [
        ({}, None),
        ({"jvm": {"heap": "384Mi"}}, str(48 * 2**20)),
        ({"jvm": {"heap": "4Gi"}}, None),
        ({"jvm": {"heap": "256Mi", "options": ["-Xmx512m"]}}, str(64 * 2**20)),
    ],
    ids=["default-heap", "small-heap", "large-heap", "xmx-option-wins"],
)
def test_the_log_cleaner_buffer_is_sized_to_the_broker_heap(
    brokers: dict[str, Any], buffer: str | None
) -> None:
    """An eighth of the heap the JVM gets when that is below Kafka's 128 MiB, else Kafka's."""
    spec = parse({"brokers": {"replicas": 3, **brokers}})
    assert properties(spec, Role.BROKER).get("log.cleaner.dedupe.buffer.size") == buffer
    assert "log.cleaner.dedupe.buffer.size" not in properties(spec, Role.CONTROLLER)


def test_a_log_cleaner_buffer_in_the_spec_is_the_only_one_rendered() -> None:
    spec = parse(
        {
            "brokers": {"replicas": 3, "jvm": {"heap": "384Mi"}},
            "kafka": {"config": {"log.cleaner.dedupe.buffer.size": "16777216"}},
        }
    )
    text = config.server_properties(spec, spec.broker_pool)
    assert re.findall(r"^log\.cleaner\.dedupe\.buffer\.size=(.*)$", text, re.M) == ["16777216"]


def test_only_known_tokens_are_left_for_the_entrypoint() -> None:
    spec = parse({**BASE, "listeners": [{"name": "tls", "port": 9094, "tls": True}]})
    text = config.server_properties(spec, spec.broker_pool)
    tokens = set(re.findall(r"\$\{[A-Z_]+\}", text))
    assert "${KOPFKA_TLS_DIR}" in tokens
    assert tokens <= {
        "${KOPFKA_NODE_ID}",
        "${POD_NAME}",
        "${KOPFKA_BIND_ADDRESS}",
        "${KOPFKA_RACK}",
        "${KOPFKA_TLS_DIR}",
    }


def test_cluster_renders_every_child_in_apply_order() -> None:
    objects = render_cluster(parse(BASE), "cid")
    kinds = [obj["kind"] for obj in objects]
    assert kinds == [
        "ServiceAccount",
        "ConfigMap",
        "ConfigMap",
        "Service",
        "ConfigMap",
        "Service",
        "Service",
        "StatefulSet",
        "PodDisruptionBudget",
        "StatefulSet",
        "PodDisruptionBudget",
    ]
    assert all(obj["metadata"]["namespace"] == "streaming" for obj in objects)
    assert all(obj["metadata"]["labels"]["kopfka.dev/cluster"] == "events" for obj in objects)


def test_statefulset_shape() -> None:
    sts = by_kind(render_cluster(parse(BASE), "cid"), "StatefulSet")["events-brokers"]
    assert sts["spec"]["updateStrategy"] == {"type": "OnDelete"}
    assert sts["spec"]["serviceName"] == "events-brokers"
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain"
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"] == "100Gi"
    pod = sts["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    env = {item["name"]: item for item in container["env"]}
    assert env["KOPFKA_CLUSTER_ID"]["value"] == "cid"
    assert env["KOPFKA_NODE_ID_BASE"]["value"] == "0"
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert env["KOPFKA_PROBE_PORT"]["value"] == str(ports["probes"])
    probes = {
        kind: container[f"{kind}Probe"]["httpGet"] for kind in ("startup", "readiness", "liveness")
    }
    assert {kind: (get["path"], get["port"]) for kind, get in probes.items()} == {
        "startup": ("/live", "probes"),
        "readiness": ("/ready", "probes"),
        "liveness": ("/live", "probes"),
    }
    labels = sts["spec"]["template"]["metadata"]["labels"]
    assert labels["kopfka.dev/role"] == "broker"
    assert sts["spec"]["selector"]["matchLabels"].items() <= labels.items()


@pytest.mark.parametrize(
    ("storage", "claims", "retention"),
    [
        ({"type": "persistent-claim", "size": "5Gi", "class": "fast"}, True, "Retain"),
        ({"type": "persistent-claim", "size": "5Gi", "deleteClaim": True}, True, "Delete"),
        ({"type": "ephemeral", "sizeLimit": "1Gi"}, False, None),
    ],
)
def test_storage(storage: dict[str, Any], claims: bool, retention: str | None) -> None:
    spec = parse({"brokers": {"replicas": 3, "storage": storage}})
    sts = statefulset.stateful_set(spec, spec.broker_pool, "cid")
    assert ("volumeClaimTemplates" in sts["spec"]) is claims
    assert (
        sts["spec"].get("persistentVolumeClaimRetentionPolicy", {}).get("whenDeleted") == retention
    )
    volumes = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
    if claims:
        assert "data" not in volumes
        assert sts["spec"]["volumeClaimTemplates"][0]["spec"].get(
            "storageClassName"
        ) == storage.get("class")
    else:
        assert volumes["data"] == {"name": "data", "emptyDir": {"sizeLimit": "1Gi"}}


def test_rack_awareness_plumbing() -> None:
    spec = parse({**BASE, "rack": {"topologyKey": "topology.kubernetes.io/zone"}})
    pod = statefulset.pod_spec(spec, spec.broker_pool, "cid")
    env = {item["name"]: item for item in pod["containers"][0]["env"]}
    assert env["KOPFKA_RACK"]["valueFrom"]["fieldRef"]["fieldPath"] == (
        "metadata.labels['topology.kubernetes.io/zone']"
    )
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    controllers = statefulset.pod_spec(spec, spec.controller_pool, "cid")
    assert "KOPFKA_RACK" not in {item["name"] for item in controllers["containers"][0]["env"]}


def test_pod_template_customisation() -> None:
    template = {
        "metadata": {"labels": {"team": "data"}, "annotations": {"note": "x"}},
        "tolerations": [{"key": "kafka", "operator": "Exists"}],
        "nodeSelector": {"disk": "ssd"},
        "priorityClassName": "high",
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "disk", "operator": "Exists"}]}
                    ]
                }
            }
        },
    }
    spec = parse({**BASE, "template": {"pod": template}})
    sts = statefulset.stateful_set(spec, spec.broker_pool, "cid")
    meta, pod = sts["spec"]["template"]["metadata"], sts["spec"]["template"]["spec"]
    assert meta["labels"]["team"] == "data"
    assert meta["annotations"]["note"] == "x"
    assert pod["tolerations"] == template["tolerations"]
    assert pod["nodeSelector"] == {"disk": "ssd"}
    assert pod["priorityClassName"] == "high"
    assert pod["affinity"]["nodeAffinity"] == template["affinity"]["nodeAffinity"]
    assert "podAntiAffinity" in pod["affinity"]


def restart_hash(spec: dict[str, Any], role: Role = Role.BROKER, cluster_id: str = "cid") -> str:
    parsed = parse(spec)
    pool = next(pool for pool in parsed.pools if pool.role is role)
    return statefulset.restart_hash(parsed, pool, cluster_id)


def with_config(**settings: Any) -> dict[str, Any]:
    return {**BASE, "kafka": {"config": {key.replace("_", "."): v for key, v in settings.items()}}}


@pytest.mark.parametrize(
    ("change", "restarts"),
    [
        (with_config(log_retention_ms=1000), False),
        (with_config(min_insync_replicas=1), False),
        (with_config(num_io_threads=16), False),
        ({**BASE, "template": {"pod": {"metadata": {"labels": {"team": "a"}}}}}, False),
        ({"brokers": {"replicas": 4}}, False),
        (with_config(auto_create_topics_enable=False), True),
        (with_config(num_partitions=6), True),
        ({**BASE, "kafka": {"version": "4.3.1"}}, True),
        ({**BASE, "kafka": {"image": "registry.local/kafka:4.4.0"}}, True),
        ({"brokers": {"replicas": 3, "resources": {"limits": {"memory": "8Gi"}}}}, True),
        ({"brokers": {"replicas": 3, "jvm": {"options": ["-XX:+UseG1GC"]}}}, True),
        ({**BASE, "listeners": [{"name": "plain", "port": 9094}]}, True),
        ({**BASE, "metrics": {"rules": [{"pattern": "kafka.server<type=(.+)><>Count"}]}}, False),
        ({**BASE, "metrics": {"includeObjectNames": ["kafka.server:type=Fetch,*"]}}, False),
        ({**BASE, "metrics": {"enabled": False}}, True),
    ],
    ids=[
        "dynamic-retention",
        "dynamic-min-isr",
        "dynamic-threads",
        "pod-label",
        "scale-out",
        "static-auto-create",
        "static-num-partitions",
        "version",
        "image",
        "memory",
        "jvm-options",
        "listener-port",
        "metrics-rules",
        "metrics-object-names",
        "metrics-off",
    ],
)
def test_restart_hash_changes_only_when_a_restart_is_needed(
    change: dict[str, Any], restarts: bool
) -> None:
    assert (restart_hash(change) != restart_hash(BASE)) is restarts


def test_dynamic_change_still_reaches_the_config_file() -> None:
    spec = parse(with_config(log_retention_ms=1000))
    assert "log.retention.ms=1000" in config.server_properties(spec, spec.broker_pool)


def test_broker_scale_out_leaves_controllers_alone() -> None:
    assert restart_hash({"brokers": {"replicas": 5}}, Role.CONTROLLER) == restart_hash(
        BASE, Role.CONTROLLER
    )


def test_owner_reference() -> None:
    owner = {
        "apiVersion": names.API_VERSION,
        "kind": "KafkaCluster",
        "metadata": {"name": "events", "uid": "u-1"},
    }
    child = owned_by(render_cluster(parse(BASE), "cid")[0], owner)
    assert child["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "kopfka.dev/v1alpha1",
            "kind": "KafkaCluster",
            "name": "events",
            "uid": "u-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


def pod(name: str, uid: str, role: Role) -> dict[str, Any]:
    return {"metadata": {"name": name, "uid": uid, "labels": {names.ROLE_LABEL: role.value}}}


def owners(objects: list[dict[str, Any]]) -> dict[tuple[str, str], list[str]]:
    return {
        (obj["kind"], obj["metadata"]["name"]): [
            ref["name"] for ref in obj["metadata"]["ownerReferences"]
        ]
        for obj in objects
    }


OWNER = {
    "apiVersion": "kopfka.dev/v1alpha1",
    "kind": "KafkaCluster",
    "metadata": {"name": "events", "uid": "u-1"},
}


def test_controllers_statefulset_and_service_are_also_owned_by_every_broker_pod() -> None:
    spec = parse(BASE)
    owned = [owned_by(obj, OWNER) for obj in render_cluster(spec, "cid")]
    pods = [
        pod("events-brokers-1", "b1", Role.BROKER),
        pod("events-controllers-0", "c0", Role.CONTROLLER),
        pod("events-brokers-0", "b0", Role.BROKER),
    ]
    result = owners(controllers_outlive_brokers(owned, spec, pods))
    both = ["events", "events-brokers-0", "events-brokers-1"]
    assert result[("StatefulSet", "events-controllers")] == both
    assert result[("Service", "events-controllers")] == both
    # Everything else, the brokers' objects and the controllers' budget and config included, has
    # the KafkaCluster as its only owner.
    others = {key: value for key, value in result.items() if key[1] != "events-controllers"}
    assert others
    assert all(value == ["events"] for value in others.values())
    assert result[("PodDisruptionBudget", "events-controllers")] == ["events"]
    refs = controllers_outlive_brokers(owned, spec, pods)
    sts = next(
        o
        for o in refs
        if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "events-controllers"
    )
    # The KafkaCluster stays the controller owner (kopfka's ownership check reads the first), and
    # the pods never block their own deletion.
    assert sts["metadata"]["ownerReferences"][0]["controller"] is True
    assert sts["metadata"]["ownerReferences"][1] == {
        "apiVersion": "v1",
        "kind": "Pod",
        "name": "events-brokers-0",
        "uid": "b0",
    }


def test_combined_nodes_and_clusters_without_broker_pods_keep_one_owner() -> None:
    combined = parse({"mode": "combined", "controllers": {"replicas": 3}})
    owned = [owned_by(obj, OWNER) for obj in render_cluster(combined, "cid")]
    nodes = [pod(f"events-nodes-{i}", f"n{i}", Role.COMBINED) for i in range(3)]
    assert controllers_outlive_brokers(owned, combined, nodes) == owned
    dedicated = parse(BASE)
    owned = [owned_by(obj, OWNER) for obj in render_cluster(dedicated, "cid")]
    assert controllers_outlive_brokers(owned, dedicated, []) == owned


def claim_templates(spec: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    statefulsets = by_kind(render_cluster(parse(spec), "cid"), "StatefulSet")
    return {name: sts["spec"]["volumeClaimTemplates"] for name, sts in statefulsets.items()}


COMBINED = {"mode": "combined", "controllers": {"replicas": 3}}


@pytest.mark.parametrize("spec", [BASE, COMBINED], ids=["dedicated", "combined"])
def test_claim_templates_carry_only_labels_that_never_change(spec: dict[str, Any]) -> None:
    """A live StatefulSet's claim templates cannot change (the API server answers 422), so they
    carry no label that a spec change could change (the version above all)."""
    parsed = parse(spec)
    templates = claim_templates(spec)
    assert len(templates) == len(parsed.pools)
    for pool in parsed.pools:
        (claim,) = templates[names.pool_name("events", pool.role)]
        assert claim["metadata"]["labels"] == {
            **names.selector_labels("events", pool.role),
            "app.kubernetes.io/component": pool.role.value,
            "app.kubernetes.io/managed-by": "kopfka",
        }
        assert "app.kubernetes.io/version" not in claim["metadata"]["labels"]


@pytest.mark.parametrize("spec", [BASE, COMBINED], ids=["dedicated", "combined"])
def test_claim_templates_stay_the_same_when_the_spec_changes(spec: dict[str, Any]) -> None:
    before = claim_templates({**spec, "kafka": {"version": "4.3.1"}})
    changes = [
        {"kafka": {"version": "4.4.0"}},
        {"kafka": {"version": "4.4.0", "image": "registry.local/kafka:4.4.0"}},
        {"kafka": {"version": "4.3.1", "config": {"num.partitions": 6}}},
        {"kafka": {"version": "4.3.1"}, "template": {"pod": {"metadata": {"labels": {"a": "b"}}}}},
        {"kafka": {"version": "4.3.1"}, "listeners": [{"name": "tls2", "port": 9095}]},
    ]
    for change in changes:
        assert claim_templates({**spec, **change}) == before, change


def test_quantities_are_rendered_as_the_api_server_writes_them() -> None:
    """The API server stores "0.5" as "500m" and "1024Mi" as "1Gi"; rendering anything else
    would never compare equal to the live object, and every drift run would write again."""
    pool = {
        "replicas": 3,
        "resources": {
            "requests": {"cpu": "0.5", "memory": "1024Mi", "ephemeral-storage": "1e9"},
            "limits": {"cpu": 2, "memory": "2.5Gi", "ephemeral-storage": "2000000000"},
        },
    }
    spec = parse(
        {
            "controllers": {**pool, "storage": {"type": "ephemeral", "sizeLimit": "1.5Gi"}},
            "brokers": {**pool, "storage": {"type": "persistent-claim", "size": "102400Mi"}},
        }
    )
    brokers = statefulset.stateful_set(spec, spec.broker_pool, "cid")
    controllers = statefulset.stateful_set(spec, spec.controller_pool, "cid")
    for sts in (brokers, controllers):
        assert sts["spec"]["template"]["spec"]["containers"][0]["resources"] == {
            "requests": {"cpu": "500m", "memory": "1Gi", "ephemeral-storage": "1e9"},
            "limits": {"cpu": "2", "memory": "2560Mi", "ephemeral-storage": "2G"},
        }
    claim = brokers["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"] == "100Gi"
    volumes = {v["name"]: v for v in controllers["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"]["emptyDir"] == {"sizeLimit": "1536Mi"}


def test_the_same_quantity_written_differently_needs_no_restart() -> None:
    def with_memory(memory: str) -> dict[str, Any]:
        return {"brokers": {"replicas": 3, "resources": {"limits": {"memory": memory}}}}

    assert restart_hash(with_memory("4Gi")) == restart_hash(with_memory("4096Mi"))
    assert restart_hash(with_memory("0.5Ti")) == restart_hash(with_memory("512Gi"))


def test_empty_optional_fields_are_left_out_as_the_api_server_does() -> None:
    """The API server drops optional fields left empty in the pod's Kubernetes types (they are
    `omitempty`); an empty struct such as a label selector stays, as `{}`."""
    template = {
        "tolerations": [
            {"key": "dedicated", "operator": "Equal", "value": "", "effect": ""},
            {"operator": "Exists", "key": ""},
        ],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "disk", "operator": "Exists", "values": []}]}
                    ]
                },
                "preferredDuringSchedulingIgnoredDuringExecution": [],
            },
            "podAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "topologyKey": "kubernetes.io/hostname",
                        "labelSelector": {"matchLabels": {}, "matchExpressions": []},
                        "namespaces": [],
                    }
                ]
            },
        },
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"team": ""}},
                "matchLabelKeys": [],
            }
        ],
    }
    spec = parse({**BASE, "template": {"pod": template}})
    pod = statefulset.pod_spec(spec, spec.broker_pool, "cid")
    assert pod["tolerations"] == [{"key": "dedicated", "operator": "Equal"}, {"operator": "Exists"}]
    assert pod["affinity"]["nodeAffinity"] == {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "disk", "operator": "Exists"}]}]
        }
    }
    assert pod["affinity"]["podAffinity"] == {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "kubernetes.io/hostname", "labelSelector": {}}
        ]
    }
    assert pod["topologySpreadConstraints"] == [
        {
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"team": ""}},
        }
    ]


def test_a_users_spread_constraint_on_the_rack_takes_the_place_of_the_operators() -> None:
    """Constraints are keyed by topology key and whenUnsatisfiable: two with the same pair make
    the API server refuse the StatefulSet."""
    zone = "topology.kubernetes.io/zone"
    rack = {**BASE, "rack": {"topologyKey": zone}}
    own = {"maxSkew": 2, "topologyKey": zone, "whenUnsatisfiable": "ScheduleAnyway"}
    spec = parse({**rack, "template": {"pod": {"topologySpreadConstraints": [own]}}})
    assert statefulset.pod_spec(spec, spec.broker_pool, "cid")["topologySpreadConstraints"] == [own]
    hard = {**own, "whenUnsatisfiable": "DoNotSchedule"}
    spec = parse({**rack, "template": {"pod": {"topologySpreadConstraints": [hard]}}})
    pairs = [
        (item["topologyKey"], item["whenUnsatisfiable"])
        for item in statefulset.pod_spec(spec, spec.broker_pool, "cid")["topologySpreadConstraints"]
    ]
    assert pairs == [(zone, "DoNotSchedule"), (zone, "ScheduleAnyway")]
