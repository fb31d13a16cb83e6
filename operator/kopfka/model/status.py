"""The status of a KafkaCluster, computed purely from the spec and the pods the API server reports.

Ready means every node's pod exists, is ready and runs the current restart hash; the conditions say
which of those is missing, in words a person on call can act on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kopfka.model import names
from kopfka.model.cluster import ClusterSpec
from kopfka.model.conditions import (
    DEGRADED,
    READY,
    RECONCILING,
    STALLED,
    Condition,
    merge_conditions,
)


def pod_ready(pod: Mapping[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    deleting = pod.get("metadata", {}).get("deletionTimestamp") is not None
    return not deleting and any(
        item.get("type") == "Ready" and item.get("status") == "True" for item in conditions
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def cluster_status(
    spec: ClusterSpec,
    *,
    cluster_id: str,
    restart_hashes: Mapping[str, str],
    pods: Sequence[Mapping[str, Any]],
    previous: Mapping[str, Any],
    generation: int,
    now: str,
    roll: Mapping[str, Any] | None = None,
    live: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    problems: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The full status: node facts, rollout progress and Ready/Reconciling/Degraded/Stalled.

    `roll` is the rolling restart's part of `status.rollout` (`rollout.execute.Roll.status`);
    its step, when there is one, is what Reconciling says. `live` is `status.liveSettings`,
    `metadata` the finalized metadata version's fields, and `problems` (reason, message) what
    keeps the work kopfka does inside Kafka (live settings, the metadata version) from being
    done: Reconciling says it, or Degraded when Kafka refused it.
    """
    by_name = {pod["metadata"]["name"]: pod for pod in pods}
    nodes: list[dict[str, Any]] = []
    missing: list[str] = []
    not_ready: list[str] = []
    outdated: list[str] = []
    versions: set[str] = set()
    for pool in spec.pools:
        for ordinal in range(pool.replicas):
            name = names.pod_name(spec.name, pool.role, ordinal)
            pod = by_name.get(name)
            if pod is None:
                missing.append(name)
                continue
            ready = pod_ready(pod)
            annotations = pod["metadata"].get("annotations") or {}
            up_to_date = annotations.get(names.RESTART_HASH_ANNOTATION) == restart_hashes[pool.role]
            versions.add((pod["metadata"].get("labels") or {}).get("app.kubernetes.io/version", ""))
            node: dict[str, Any] = {
                "nodeId": pool.node_id(ordinal),
                "role": pool.role.value,
                "pod": name,
                "ready": ready,
                "upToDate": up_to_date,
            }
            if (pod.get("spec") or {}).get("nodeName"):
                node["node"] = pod["spec"]["nodeName"]
            nodes.append(node)
            if not ready:
                not_ready.append(name)
            if not up_to_date:
                outdated.append(name)
    total = sum(pool.replicas for pool in spec.pools)
    ready_count = total - len(missing) - len(not_ready)
    broker_role = spec.broker_pool.role
    ready_brokers = sum(1 for node in nodes if node["role"] == broker_role.value and node["ready"])

    if missing or not_ready:
        waiting = missing + not_ready
        ready_condition = Condition(
            READY,
            status=False,
            reason="PodsNotReady",
            message=f"{ready_count}/{total} nodes ready; waiting for {', '.join(waiting)}",
        )
    elif outdated:
        # Serving, but not what the spec says: a change is only half in effect until they restart.
        ready_condition = Condition(
            READY,
            status=False,
            reason="RestartPending",
            message=f"{total}/{total} nodes ready; the previous configuration still runs on "
            f"{', '.join(outdated)} until they restart",
        )
    else:
        ready_condition = Condition(
            READY, status=True, reason="AllNodesReady", message=f"{total}/{total} nodes ready"
        )
    step = (roll or {}).get("step")
    starting = bool(missing or not_ready)
    reconciling = _reconciling(step, outdated, starting=starting, ready=ready_condition)
    reconciling, degraded = _with_kafka_work(reconciling, problems)
    stalled = Condition(STALLED, status=False, reason="AsExpected", message="no problem found")

    status: dict[str, Any] = {
        "observedGeneration": generation,
        "conditions": merge_conditions(
            previous.get("conditions") or [],
            [ready_condition, reconciling, degraded, stalled],
            now=now,
            generation=generation,
        ),
        "clusterId": cluster_id,
        "bootstrapServers": spec.bootstrap_servers,
        "readyBrokers": ready_brokers,
        "nodes": nodes,
        "rollout": {
            "pending": outdated,
            **(roll or {}),
            "restartHashes": dict(restart_hashes),
        },
    }
    if live:
        status["liveSettings"] = dict(live)
    status.update(metadata or {})
    if len(versions) == 1 and not missing and "" not in versions:
        status["kafkaVersion"] = versions.pop()
    elif previous.get("kafkaVersion"):
        status["kafkaVersion"] = previous["kafkaVersion"]
    return status


def _reconciling(
    step: Mapping[str, Any] | None, outdated: Sequence[str], *, starting: bool, ready: Condition
) -> Condition:
    """What is still changing: the rolling restart's step, pods to restart, or pods starting."""
    if step and step["kind"] == "Blocked":
        return Condition(RECONCILING, status=True, reason="RollBlocked", message=step["message"])
    if step:
        return Condition(RECONCILING, status=True, reason="Rolling", message=step["message"])
    if outdated:
        return Condition(
            RECONCILING,
            status=True,
            reason="RestartPending",
            message=(
                f"{_plural(len(outdated), 'pod')} run an outdated configuration: "
                f"{', '.join(outdated)}"
            ),
        )
    if starting:
        return Condition(RECONCILING, status=True, reason="PodsStarting", message=ready.message)
    return Condition(
        RECONCILING, status=False, reason="Reconciled", message="the cluster matches its spec"
    )


def _with_kafka_work(
    reconciling: Condition, problems: Sequence[tuple[str, str]]
) -> tuple[Condition, Condition]:
    """Reconciling and Degraded with what keeps kopfka's work inside Kafka from being done: Kafka
    refused it (Degraded), or it is on its way (Reconciling, unless something else is going on)."""
    degraded = Condition(DEGRADED, status=False, reason="AsExpected", message="no problem found")
    for reason, message in problems:
        kind = KAFKA_WORK_REASONS[reason]
        if kind == DEGRADED:
            degraded = Condition(DEGRADED, status=True, reason=reason, message=message)
        elif not reconciling.status:
            reconciling = Condition(RECONCILING, status=True, reason=reason, message=message)
    return reconciling, degraded


def _with_conditions(
    previous: Mapping[str, Any],
    observed: list[Condition],
    *,
    generation: int,
    now: str,
    reconciled: bool = True,
) -> dict[str, Any]:
    """`previous` with the observed conditions replaced (others kept); `reconciled` also records
    the generation as observed."""
    replaced = {condition.type for condition in observed}
    before = previous.get("conditions") or []
    kept = [item for item in before if item.get("type") not in replaced]
    merged = merge_conditions(before, observed, now=now, generation=generation)
    status = {**previous, "conditions": kept + merged}
    if reconciled:
        status["observedGeneration"] = generation
    return status


# What keeps kopfka's work inside Kafka from being done (live/apply.py, live/metadata.py,
# live/rebalance.py), and the condition each goes to: Kafka refused it (Degraded), or it is on
# its way (Reconciling).
KAFKA_WORK_REASONS = {
    "LiveSettingRefused": DEGRADED,
    "MetadataVersionRefused": DEGRADED,
    "LiveSettingsPending": RECONCILING,
    "MetadataVersionPending": RECONCILING,
    # live/rebalance.py
    "RebalanceRefused": DEGRADED,
    "RebalanceFailed": DEGRADED,
    "UnregisterFailed": DEGRADED,
    "RebalancePending": RECONCILING,
    "Rebalancing": RECONCILING,
    "ScalingDown": RECONCILING,
}

# Reasons of failed_status: the last reconcile of the generation could not act on the spec.
RECONCILE_FAILURES = frozenset(
    {
        "InvalidSpec",
        "ApplyFailed",
        "InternalError",
        "ObjectNotOwned",
        "ClusterIdConflict",
        "VersionDowngradeRefused",
        # TLS listeners: the user's CA Secret is missing, or a CA cannot issue certificates.
        "ClusterCaNotFound",
        "ClusterCaInvalid",
        # Listeners with authentication tls: the same for the clients CA.
        "ClientsCaNotFound",
        "ClientsCaInvalid",
        # spec.clusterCa.certManager: its Certificates refused, or not issued yet.
        "CertificatesNotApplied",
        "CertificatesPending",
    }
)


def failed_status(
    *,
    reason: str,
    message: str,
    previous: Mapping[str, Any],
    generation: int,
    now: str,
) -> dict[str, Any]:
    """Status for a spec the operator cannot act on: it says why and touches nothing else."""
    if reason not in RECONCILE_FAILURES:
        raise ValueError(f"{reason} is not one of {sorted(RECONCILE_FAILURES)}")
    observed = [
        Condition(READY, status=False, reason=reason, message=message),
        Condition(RECONCILING, status=False, reason=reason, message=message),
        Condition(DEGRADED, status=True, reason=reason, message=message),
        Condition(STALLED, status=True, reason=reason, message=message),
    ]
    return _with_conditions(previous, observed, generation=generation, now=now)


def paused_status(
    *,
    previous: Mapping[str, Any],
    generation: int,
    now: str,
    observed: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The status of a paused cluster: the `observed` node facts (when there are any) saying that
    nothing is reconciled. The spec's generation is not recorded as observed: none of it was
    applied."""
    message = f"reconciliation is paused by the annotation {names.PAUSED_ANNOTATION}"
    base = dict(observed or previous)
    base["observedGeneration"] = previous.get("observedGeneration")
    if base["observedGeneration"] is None:
        del base["observedGeneration"]
    conditions = [Condition(RECONCILING, status=False, reason="Paused", message=message)]
    return _with_conditions(base, conditions, generation=generation, now=now, reconciled=False)


def reconcile_failed(previous: Mapping[str, Any], generation: int) -> bool:
    """The last reconcile of this generation failed (a pod event must not report it healthy)."""
    for item in previous.get("conditions") or []:
        if item.get("type") == DEGRADED:
            return (
                item.get("status") == "True"
                and item.get("reason") in RECONCILE_FAILURES
                and item.get("observedGeneration") == generation
            )
    return False


def with_failure_kept(observed: Mapping[str, Any], previous: Mapping[str, Any]) -> dict[str, Any]:
    """Freshly observed node facts under the previous (failed) conditions."""
    return {
        **observed,
        "conditions": list(previous.get("conditions") or []),
        "observedGeneration": previous.get("observedGeneration", observed["observedGeneration"]),
    }


# What a KafkaTopic's status says of its topic as Kafka last reported it (besides conditions).
TOPIC_FACTS = ("topicName", "topicId", "partitions", "replicationFactor", "config")


def topic_status(
    *,
    ready: bool,
    reason: str,
    message: str,
    previous: Mapping[str, Any],
    generation: int,
    now: str,
    facts: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The Ready condition, and the topic's `facts` (keys of TOPIC_FACTS) in place of the previous
    ones; with `facts` None (Kafka was not read) the previous facts stay as last seen."""
    base = dict(previous)
    if facts is not None:
        base = {key: value for key, value in base.items() if key not in TOPIC_FACTS}
        base.update(facts)
    observed = [Condition(READY, status=ready, reason=reason, message=message)]
    return _with_conditions(base, observed, generation=generation, now=now)


@dataclass(frozen=True, kw_only=True)
class Said:
    """A Kubernetes Event to post about a KafkaCluster."""

    warning: bool
    reason: str
    message: str


# Reconciling reasons whose start people want to read as an Event: (warning, what it says first).
_STARTS = {
    "Rolling": (False, "rolling restart: "),
    "RollBlocked": (True, "rolling restart blocked: "),
    "Rebalancing": (False, ""),
    "RebalancePending": (False, ""),
}


def condition_events(
    before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]
) -> list[Said]:
    """The Events a status change from conditions `before` to `after` is worth, in words a person
    reads: a problem that starts (Degraded, with its reason: a refused spec, Kafka refusing a
    change), and work that starts or stops going on (a roll starts or is blocked, a rebalance).
    A steady status says nothing, and progress within the same reason says nothing either."""
    was = {item.get("type"): item for item in before}
    now = {item.get("type"): item for item in after}
    said: list[Said] = []
    degraded, earlier = now.get(DEGRADED), was.get(DEGRADED)
    if _true(degraded) and not (_true(earlier) and _reason(earlier) == _reason(degraded)):
        assert degraded is not None
        message = str(degraded.get("message", ""))
        said.append(Said(warning=True, reason=_reason(degraded), message=message))
    reconciling, earlier = now.get(RECONCILING), was.get(RECONCILING)
    reason = _reason(reconciling) if _true(reconciling) else None
    if reason in _STARTS and not (_true(earlier) and _reason(earlier) == reason):
        assert reconciling is not None
        warning, prefix = _STARTS[reason]
        message = prefix + str(reconciling.get("message", ""))
        said.append(Said(warning=warning, reason=reason, message=message))
    return said


def _true(condition: Mapping[str, Any] | None) -> bool:
    return condition is not None and condition.get("status") == "True"


def _reason(condition: Mapping[str, Any] | None) -> str:
    return str((condition or {}).get("reason", ""))
