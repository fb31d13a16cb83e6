"""Carries a rolling restart forward by one step: gather the facts, ask the planner, act once.

Called on every status refresh of a KafkaCluster (pod events, reconciles, drift runs), each in the
cluster's turn. A restart is recorded in `status.rollout.restarting` before the pod is evicted, so
an operator stopped at any point resumes it and never restarts a node twice; it stays recorded
until the planner finds the node back and caught up. With `spec.rack.rollByRack` a restart may be
the brokers of one rack at once (see `_restart`). Kafka is read only when the planner needs its
view (a ready node to restart, a restarted node to see catch up).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from kopfka import metrics
from kopfka.k8s.client import Kube, Obj
from kopfka.kafka.admin import (
    UNREACHABLE_SECONDS,
    Connect,
    KafkaUnavailable,
    operator_client,
    unreachable,
)
from kopfka.model import names
from kopfka.model.cluster import ClusterSpec
from kopfka.model.status import pod_ready
from kopfka.rollout.plan import (
    InFlight,
    KafkaHealth,
    Kind,
    Node,
    PartitionHealth,
    Restarted,
    Step,
    Why,
    next_step,
)

logger = logging.getLogger(__name__)

# How soon to look again while a roll is under way (nothing else tells the operator that a
# restarted broker caught up).
POLL_SECONDS = 5.0


@dataclass(frozen=True)
class Roll:
    """What this pass of the roll decided and left in status."""

    step: Step
    in_flight: InFlight | None
    # The roll the KafkaCluster's annotation asked for: {"token": value, "remaining": [pods]}.
    requested: dict[str, Any] | None
    # Seconds until the roll should be looked at again; None when there is nothing to do.
    again: float | None

    def over(self, spec: ClusterSpec, pods: Sequence[Obj]) -> bool:
        """Nothing left to restart, and every node of the spec ready (brokers a scale-down
        removes may still run beside them)."""
        ready = {pod["metadata"]["name"] for pod in pods if pod_ready(pod)}
        every = (
            names.pod_name(spec.name, pool.role, ordinal)
            for pool in spec.pools
            for ordinal in range(pool.replicas)
        )
        return (
            self.step.kind is Kind.IDLE
            and self.in_flight is None
            and all(name in ready for name in every)
        )

    def status(self) -> dict[str, Any]:
        """The roll's part of `status.rollout`."""
        found: dict[str, Any] = {"pending": list(self.step.pending)}
        if self.step.kind is not Kind.IDLE:
            found["step"] = {"kind": self.step.kind.value, "message": self.step.message}
        if self.in_flight is not None:
            found["restarting"] = _recorded(self.in_flight)
        if self.requested is not None:
            found["requested"] = self.requested
        return found


def advance(
    kube: Kube,
    body: Obj,
    spec: ClusterSpec,
    pods: Sequence[Obj],
    hashes: Mapping[str, str],
    *,
    connect: Connect = operator_client,
) -> Roll:
    """One pass of the roll: at most one restart (a node, or the brokers of a rack)."""
    if _may_roll(body, pods, hashes):
        # What a roll decides rests on the restart recorded last, and the object at hand may be
        # older than that record (a kopf index or an event queued behind a status write): with
        # a stale record, a node restarted a moment ago could look due again.
        fresh = kube.get(body["apiVersion"], body["kind"], spec.name, spec.namespace)
        if fresh is None:
            return Roll(step=next_step([], None, None), in_flight=None, requested=None, again=None)
        body = fresh
    previous = (body.get("status") or {}).get("rollout") or {}
    requested = _requested(body, spec, previous.get("requested"))
    in_flight = _in_flight(previous.get("restarting"))
    nodes = _nodes(spec, pods, hashes, requested)
    by_rack = spec.roll_by_rack
    step = next_step(nodes, None, in_flight, by_rack=by_rack)
    if step.needs_kafka:
        health = _health(spec, connect)
        if health is not None:
            step = next_step(nodes, health, in_flight, by_rack=by_rack)
    if step.settled and in_flight is not None:
        requested = _without(requested, in_flight.names)
        # Recorded before it is said: an operator stopped in between says nothing, rather than
        # saying it twice.
        kube.patch_status(body, {"rollout": {"restarting": None, "requested": requested}})
        for pod in in_flight.names:
            kube.post_event(
                body,
                warning=False,
                reason="NodeRestarted",
                message=f"{pod} restarted and caught up ({in_flight.reason})",
            )
        in_flight = None
        if step.kind is Kind.IDLE:
            kube.post_event(
                body,
                warning=False,
                reason="RollFinished",
                message="the rolling restart is finished: every node restarted and caught up",
            )
    if step.kind is Kind.RESTART and step.nodes:
        stale = _stale_template(kube, pods, [node.pod for node in step.nodes], hashes)
        if stale:
            step = replace(step, kind=Kind.WAIT, message=stale)
        else:
            in_flight = _restart(kube, body, pods, step, in_flight, requested=requested)
    if step.kind is Kind.IDLE and in_flight is None:
        again = None
    elif step.kind is Kind.BLOCKED and step.needs_kafka:
        again = UNREACHABLE_SECONDS
    else:
        again = POLL_SECONDS
    metrics.roll_pending(*_key(body), len(step.pending))
    return Roll(step=step, in_flight=in_flight, requested=requested, again=again)


def _key(body: Obj) -> tuple[str, str]:
    return body["metadata"]["namespace"], body["metadata"]["name"]


def _may_roll(body: Obj, pods: Sequence[Obj], hashes: Mapping[str, str]) -> bool:
    """Whether a roll may have work: one is recorded or asked for, or a pod is outdated."""
    rollout = (body.get("status") or {}).get("rollout") or {}
    if rollout.get("restarting") or rollout.get("requested"):
        return True
    if names.ROLL_ANNOTATION in (body["metadata"].get("annotations") or {}):
        return True
    for pod in pods:
        annotations = pod["metadata"].get("annotations") or {}
        role = (pod["metadata"].get("labels") or {}).get(names.ROLE_LABEL, "")
        if names.ROLL_ANNOTATION in annotations:
            return True
        if annotations.get(names.RESTART_HASH_ANNOTATION) != hashes.get(role):
            return True
    return False


def _in_flight(recorded: Any) -> InFlight | None:
    if not isinstance(recorded, Mapping):
        return None
    pods = tuple(
        Restarted(pod=str(item["name"]), uid=str(item["uid"]))
        for item in recorded.get("pods") or ()
        if isinstance(item, Mapping) and item.get("name") and item.get("uid")
    )
    if not pods:
        return None
    rack = recorded.get("rack")
    return InFlight(
        pods=pods,
        reason=str(recorded.get("reason", "")),
        rack=str(rack) if rack is not None else None,
    )


def _recorded(in_flight: InFlight) -> dict[str, Any]:
    """`status.rollout.restarting`: the pods by the uid they had, and why."""
    found: dict[str, Any] = {
        "pods": [{"name": r.pod, "uid": r.uid} for r in in_flight.pods],
        "reason": in_flight.reason,
    }
    if in_flight.rack is not None:
        found["rack"] = in_flight.rack
    return found


def _requested(body: Obj, spec: ClusterSpec, recorded: Any) -> dict[str, Any] | None:
    """The roll the KafkaCluster's `kopfka.dev/roll` annotation asks for.

    Any new value of the annotation asks for one roll of every node; the value is recorded with the
    nodes still to restart, so the same value never rolls twice, and the annotation can stay in git
    (kopfka never removes it).
    """
    token = (body["metadata"].get("annotations") or {}).get(names.ROLL_ANNOTATION)
    if isinstance(recorded, Mapping) and recorded.get("token") == token:
        return {"token": token, "remaining": list(recorded.get("remaining") or [])}
    if not token:
        return None
    every = [
        names.pod_name(spec.name, pool.role, ordinal)
        for pool in spec.pools
        for ordinal in range(pool.replicas)
    ]
    return {"token": str(token), "remaining": every}


def _without(requested: dict[str, Any] | None, pods: Sequence[str]) -> dict[str, Any] | None:
    if requested is None:
        return None
    return {**requested, "remaining": [name for name in requested["remaining"] if name not in pods]}


def _nodes(
    spec: ClusterSpec,
    pods: Sequence[Obj],
    hashes: Mapping[str, str],
    requested: Mapping[str, Any] | None,
) -> list[Node]:
    by_name = {pod["metadata"]["name"]: pod for pod in pods}
    remaining = set((requested or {}).get("remaining") or ())
    nodes = []
    for pool in spec.pools:
        for ordinal in range(pool.replicas):
            name = names.pod_name(spec.name, pool.role, ordinal)
            pod = by_name.get(name)
            base = Node(
                node_id=pool.node_id(ordinal),
                pod=name,
                controller=pool.role.is_controller,
                broker=pool.role.is_broker,
            )
            if pod is None:
                nodes.append(replace(base, exists=False, ready=False))
                continue
            metadata = pod["metadata"]
            annotations = metadata.get("annotations") or {}
            why = []
            if annotations.get(names.RESTART_HASH_ANNOTATION) != hashes[pool.role.value]:
                why.append(Why.OUTDATED)
            if names.ROLL_ANNOTATION in annotations:
                why.append(Why.POD_REQUESTED)
            if name in remaining:
                why.append(Why.CLUSTER_REQUESTED)
            nodes.append(
                replace(
                    base,
                    uid=metadata["uid"],
                    ready=pod_ready(pod),
                    deleting=metadata.get("deletionTimestamp") is not None,
                    why=tuple(why),
                )
            )
    return nodes


def _health(spec: ClusterSpec, connect: Connect) -> KafkaHealth | None:
    """Kafka's view for the safety checks, or None when it cannot be read now."""
    bootstrap = spec.operator_bootstrap
    if unreachable.recently(bootstrap):
        return None
    try:
        admin = connect(bootstrap)
    except KafkaUnavailable as error:
        logger.info("roll of %s/%s: Kafka cannot be read: %s", spec.namespace, spec.name, error)
        unreachable.mark(bootstrap, reachable=False)
        return None
    try:
        topics = admin.topics()
        overrides = admin.topic_configs(topics)
        cluster = admin.cluster()
        defaults = admin.broker_config(cluster.brokers[0].node_id) if cluster.brokers else {}
        found = defaults.get("min.insync.replicas")
        default_min_isr = int(found.value) if found is not None else 1
        quorum = admin.quorum()
    except Exception as error:  # Kafka answered, then failed: the roll waits and says so
        logger.info("roll of %s/%s: Kafka cannot be read: %s", spec.namespace, spec.name, error)
        unreachable.mark(bootstrap, reachable=False)
        return None
    finally:
        admin.close()
    unreachable.mark(bootstrap, reachable=True)
    partitions = tuple(
        PartitionHealth(
            topic=name,
            partition=partition.partition,
            replicas=partition.replicas,
            isr=partition.isr,
            min_isr=int(overrides.get(name, {}).get("min.insync.replicas", default_min_isr)),
        )
        for name, facts in sorted(topics.items())
        for partition in facts.partitions
    )
    racks = {broker.node_id: broker.rack for broker in cluster.brokers}
    return KafkaHealth(partitions=partitions, quorum=quorum, racks=racks)


def _stale_template(
    kube: Kube, pods: Sequence[Obj], pod_names: Sequence[str], hashes: Mapping[str, str]
) -> str:
    """Why a pod's StatefulSet would make it again with an old template, or ''.

    A restart is only worth it when the pod comes back with the current configuration: when the
    last apply failed, restarting would bring the old one back and restart it again.
    """
    checked: set[str] = set()
    for pod_name in pod_names:
        pod = next(p for p in pods if p["metadata"]["name"] == pod_name)
        role = (pod["metadata"].get("labels") or {}).get(names.ROLE_LABEL, "")
        owner = next(
            (
                ref["name"]
                for ref in pod["metadata"].get("ownerReferences") or []
                if ref.get("kind") == "StatefulSet"
            ),
            None,
        )
        if owner is None or owner in checked:
            continue
        checked.add(owner)
        live = kube.get("apps/v1", "StatefulSet", owner, pod["metadata"]["namespace"])
        template = ((live or {}).get("spec") or {}).get("template") or {}
        current = (template.get("metadata") or {}).get("annotations") or {}
        if current.get(names.RESTART_HASH_ANNOTATION) != hashes.get(role):
            return f"waiting for the StatefulSet of {pod_name} to carry the current configuration"
    return ""


def _restart(
    kube: Kube,
    body: Obj,
    pods: Sequence[Obj],
    step: Step,
    recorded: InFlight | None,
    *,
    requested: dict[str, Any] | None,
) -> InFlight:
    """Record the restart (unless it is the recorded one, resumed), then evict the pods.

    The first pod is evicted, so the disruption budget has its say (a node drain elsewhere may
    have the one disruption it allows); it is deleted instead only when it is down and the budget
    still refuses, which happens when that very pod is the one the budget counts as down, or when
    the rest of its rack already went. The rest of a rack (rack by rack) are deleted when the
    budget refuses them: it allows one pod down, and the planner has checked with Kafka that the
    whole rack may be.
    """
    by_name = {pod["metadata"]["name"]: pod for pod in pods}
    in_flight = recorded or InFlight(
        pods=tuple(
            Restarted(pod=node.pod, uid=by_name[node.pod]["metadata"]["uid"]) for node in step.nodes
        ),
        reason=step.reason,
        rack=step.rack,
    )
    if recorded is None:
        kube.patch_status(
            body, {"rollout": {"restarting": _recorded(in_flight), "requested": requested}}
        )
    first, *rest = step.nodes
    # Resuming a rack whose other pods already went: the budget counts those, and had its say.
    resumed_rack = len(in_flight.pods) > len(step.nodes)
    evicted = kube.evict(by_name[first.pod])
    if not evicted and (not first.ready or resumed_rack):
        kube.delete(by_name[first.pod])
        evicted = True
    if not evicted:
        logger.info("the disruption budget refuses to evict %s for now", first.pod)
        return in_flight
    for node in rest:
        if not kube.evict(by_name[node.pod]):
            kube.delete(by_name[node.pod])
    kube.post_event(body, warning=False, reason="RestartingNode", message=step.message)
    metrics.NODE_RESTARTS.labels(*_key(body)).inc(len(step.nodes))
    return in_flight
