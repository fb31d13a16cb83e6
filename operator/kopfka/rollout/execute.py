"""Carries a rolling restart forward by one step: gather the facts, ask the planner, act once.

Called on every status refresh of a KafkaCluster (pod events, reconciles, drift runs), each in the
cluster's turn. A restart is recorded in `status.rollout.restarting` before the pod is evicted, so
an operator stopped at any point resumes it and never restarts a node twice; it stays recorded
until the planner finds the node back and caught up. Kafka is read only when the planner needs
its view (a ready node to restart, a restarted node to see catch up).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

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
        """Nothing left to restart, and every node of the spec ready."""
        expected = sum(pool.replicas for pool in spec.pools)
        ready = [pod for pod in pods if pod_ready(pod)]
        return self.step.kind is Kind.IDLE and self.in_flight is None and len(ready) == expected

    def status(self) -> dict[str, Any]:
        """The roll's part of `status.rollout`."""
        found: dict[str, Any] = {"pending": list(self.step.pending)}
        if self.step.kind is not Kind.IDLE:
            found["step"] = {"kind": self.step.kind.value, "message": self.step.message}
        if self.in_flight is not None:
            found["restarting"] = {
                "pod": self.in_flight.pod,
                "uid": self.in_flight.uid,
                "reason": self.in_flight.reason,
            }
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
    """One pass of the roll: at most one pod restarted."""
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
    step = next_step(nodes, None, in_flight)
    if step.needs_kafka:
        health = _health(spec, connect)
        if health is not None:
            step = next_step(nodes, health, in_flight)
    if step.settled and in_flight is not None:
        requested = _without(requested, in_flight.pod)
        # Recorded before it is said: an operator stopped in between says nothing, rather than
        # saying it twice.
        kube.patch_status(body, {"rollout": {"restarting": None, "requested": requested}})
        kube.post_event(
            body,
            warning=False,
            reason="NodeRestarted",
            message=f"{in_flight.pod} restarted and caught up ({in_flight.reason})",
        )
        in_flight = None
    if step.kind is Kind.RESTART and step.node is not None:
        stale = _stale_template(kube, pods, step.node.pod, hashes)
        if stale:
            step = replace(step, kind=Kind.WAIT, message=stale)
        else:
            in_flight = _restart(kube, body, pods, step, requested=requested)
    if step.kind is Kind.IDLE and in_flight is None:
        again = None
    elif step.kind is Kind.BLOCKED and step.needs_kafka:
        again = UNREACHABLE_SECONDS
    else:
        again = POLL_SECONDS
    return Roll(step=step, in_flight=in_flight, requested=requested, again=again)


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
    if not isinstance(recorded, Mapping) or not recorded.get("pod") or not recorded.get("uid"):
        return None
    return InFlight(
        pod=str(recorded["pod"]), uid=str(recorded["uid"]), reason=str(recorded.get("reason", ""))
    )


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


def _without(requested: dict[str, Any] | None, pod: str) -> dict[str, Any] | None:
    if requested is None:
        return None
    return {**requested, "remaining": [name for name in requested["remaining"] if name != pod]}


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
    bootstrap = spec.bootstrap_servers
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
    return KafkaHealth(partitions=partitions, quorum=quorum)


def _stale_template(
    kube: Kube, pods: Sequence[Obj], pod_name: str, hashes: Mapping[str, str]
) -> str:
    """Why the pod's StatefulSet would make it again with an old template, or ''.

    A restart is only worth it when the pod comes back with the current configuration: when the
    last apply failed, restarting would bring the old one back and restart it again.
    """
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
    live = owner and kube.get("apps/v1", "StatefulSet", owner, pod["metadata"]["namespace"])
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
    *,
    requested: dict[str, Any] | None,
) -> InFlight:
    """Record the restart, then evict the pod (deleting it only if it is down and the budget
    still refuses, which happens when that very pod is the one the budget counts as down)."""
    assert step.node is not None
    pod = next(p for p in pods if p["metadata"]["name"] == step.node.pod)
    in_flight = InFlight(pod=step.node.pod, uid=pod["metadata"]["uid"], reason=step.reason)
    recorded = {
        "restarting": {"pod": in_flight.pod, "uid": in_flight.uid, "reason": in_flight.reason},
        "requested": requested,
    }
    kube.patch_status(body, {"rollout": recorded})
    evicted = kube.evict(pod)
    if not evicted and not step.node.ready:
        kube.delete(pod)
        evicted = True
    if evicted:
        kube.post_event(body, warning=False, reason="RestartingNode", message=step.message)
    else:
        logger.info("the disruption budget refuses to evict %s for now", step.node.pod)
    return in_flight
