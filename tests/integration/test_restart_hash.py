"""Which configuration changes need a restart, as the StatefulSets and the status show it.

A restart-needing change changes the pod template's `kopfka.dev/restart-hash`; with `OnDelete`
the StatefulSet controller then restarts nothing, and status.rollout.pending lists the pods that
run the old configuration. kopfka's roll restarts them only once Kafka says it is safe; with no
Kafka to ask (kwok's pods run none) it touches no pod and says so. A dynamic setting changes the
ConfigMap only.
"""

from __future__ import annotations

import json

from tests.support.clusters import mounted_config, pods, wait_ready
from tests.support.kube import Obj, TestKube, condition
from tests.support.manifests import kafka_cluster
from tests.support.operator import OperatorProcess
from tests.support.waiting import wait_for

HASH = "kopfka.dev/restart-hash"
BROKER_PODS = ["events-brokers-0", "events-brokers-1", "events-brokers-2"]


def _set_config(kube: TestKube, namespace: str, config: dict[str, str]) -> None:
    patch = {"spec": {"kafka": {"config": config}}}
    kube.kubectl(
        "patch", "kafkacluster", "events", "-n", namespace, "--type=merge", "-p", json.dumps(patch)
    )


def _statefulset(kube: TestKube, namespace: str, role: str) -> Obj:
    return kube.must_get("apps/v1", "StatefulSet", f"events-{role}", namespace)


def _hash(statefulset: Obj) -> str:
    return str(statefulset["spec"]["template"]["metadata"]["annotations"][HASH])


def _properties(kube: TestKube, namespace: str) -> str:
    config_map = mounted_config(kube, "events-brokers", namespace)
    return "\n".join(str(value) for value in config_map["data"].values())


def test_dynamic_change_keeps_hash_and_restart_change_is_held_without_kafkas_word(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    kube.apply(kafka_cluster("events", namespace))
    wait_ready(kube, "events", namespace)
    hashes = {
        role: _hash(_statefulset(kube, namespace, role)) for role in ("controllers", "brokers")
    }
    uids = {name: pod["metadata"]["uid"] for name, pod in pods(kube, "events", namespace).items()}

    # Dynamic: the brokers' configuration changes; nothing needs a restart.
    _set_config(kube, namespace, {"log.retention.ms": "3600000"})
    wait_for(
        lambda: "log.retention.ms=3600000" in _properties(kube, namespace),
        timeout=60,
        what="log.retention.ms in the brokers' ConfigMap",
        describe=lambda: _properties(kube, namespace),
    )
    cluster = wait_ready(kube, "events", namespace)
    assert _hash(_statefulset(kube, namespace, "brokers")) == hashes["brokers"]
    assert cluster["status"]["rollout"]["pending"] == []

    # Static: auto.create.topics.enable is read at start-up only.
    _set_config(kube, namespace, {"auto.create.topics.enable": "false"})
    new_hash = wait_for(
        lambda: (h := _hash(_statefulset(kube, namespace, "brokers"))) != hashes["brokers"] and h,
        timeout=60,
        what="a new restart hash on the brokers' pod template",
    )
    assert "auto.create.topics.enable=false" in _properties(kube, namespace)

    def pending_listed() -> Obj | None:
        obj = kube.cluster("events", namespace)
        pending = (obj or {}).get("status", {}).get("rollout", {}).get("pending", [])
        return obj if set(BROKER_PODS) <= set(pending) else None

    cluster = wait_for(
        pending_listed, timeout=60, what="outdated brokers in status.rollout.pending"
    )
    # kopfka would roll them, but only after Kafka says a restart is safe, and no Kafka runs on
    # kwok's pods: the roll is held and says why (the pods are not touched, below).
    reconciling = wait_for(
        lambda: (
            (found := condition(kube.cluster("events", namespace) or {}, "Reconciling"))
            and found["reason"] == "RollBlocked"
            and found
        ),
        timeout=60,
        what="the roll to say it is held",
    )
    assert reconciling["status"] == "True"
    assert "must restart, but Kafka cannot be read" in reconciling["message"]
    # The change is only half in effect while pods run the old configuration: not Ready.
    ready = condition(cluster, "Ready")
    assert ready is not None
    assert (ready["status"], ready["reason"]) == ("False", "RestartPending")
    assert cluster["status"]["rollout"]["restartHashes"]["broker"] == new_hash

    # The StatefulSet controller has seen the new template, and restarted nothing (OnDelete).
    def observed() -> Obj | None:
        statefulset = _statefulset(kube, namespace, "brokers")
        status = statefulset.get("status") or {}
        seen = status.get("observedGeneration") == statefulset["metadata"]["generation"]
        moved = status.get("updateRevision") != status.get("currentRevision")
        return statefulset if seen and moved else None

    wait_for(observed, timeout=60, what="the StatefulSet controller to observe the new template")
    now = pods(kube, "events", namespace)
    assert {name: pod["metadata"]["uid"] for name, pod in now.items()} == uids
    for name in BROKER_PODS:
        assert now[name]["metadata"]["annotations"][HASH] == hashes["brokers"]
        assert now[name]["metadata"].get("deletionTimestamp") is None
