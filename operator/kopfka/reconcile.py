"""One readable, ordered pipeline of named steps that makes a KafkaCluster so.

paused? -> parse the spec -> keep the cluster id -> render -> apply (skipping what is in place) ->
label pods -> observe pods -> write status if it changed. Every step is idempotent, so an operator
killed anywhere converges when it runs again; a reconcile of an unchanged cluster writes nothing.
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kopfka.k8s.client import ApplyError, Conflict, Kube, Obj
from kopfka.model import names, status
from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.errors import SpecError
from kopfka.model.topic import TopicSpec, check_against_cluster, parse_topic
from kopfka.render.cluster import owned_by, render_cluster
from kopfka.render.statefulset import restart_hash

logger = logging.getLogger(__name__)


class RetryLater(Exception):
    """A transient problem (a conflict, an API refusal worth retrying); the handler backs off."""


@dataclass(frozen=True)
class Outcome:
    ready: bool
    message: str


def new_cluster_id() -> str:
    """A KRaft cluster id: a random UUID in URL-safe base64, never starting with '-' (as Kafka)."""
    while True:
        encoded = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not encoded.startswith("-"):
            return encoded


def is_paused(body: Mapping[str, Any]) -> bool:
    annotations = body.get("metadata", {}).get("annotations") or {}
    return str(annotations.get(names.PAUSED_ANNOTATION, "")).lower() == "true"


def reconcile_cluster(
    kube: Kube, body: Obj, *, now: str, make_cluster_id: Callable[[], str] = new_cluster_id
) -> Outcome:
    if is_paused(body):
        _write_status(kube, body, status.paused_status(**_context(body, now)))
        return Outcome(ready=False, message="paused")
    spec = _parse(kube, body, now)
    if spec is None:
        return Outcome(ready=False, message="invalid spec")
    body, cluster_id = _ensure_cluster_id(kube, body, spec, make_cluster_id)
    _apply_children(kube, body, spec, cluster_id, now)
    return refresh_status(kube, body, now=now)


def refresh_status(kube: Kube, body: Obj, *, now: str) -> Outcome:
    """Observe the pods and write the status; changes nothing else (safe from any event)."""
    cluster_id = (body.get("status") or {}).get("clusterId")
    if is_paused(body) or cluster_id is None:
        return Outcome(ready=False, message="not reconciled yet")
    spec = _parse(kube, body, now)
    if spec is None:
        return Outcome(ready=False, message="invalid spec")
    pods = kube.list("v1", "Pod", spec.namespace, names.selector_labels(spec.name))
    _label_pods(kube, spec, pods)
    hashes = {pool.role.value: restart_hash(spec, pool, cluster_id) for pool in spec.pools}
    new = status.cluster_status(
        spec, cluster_id=cluster_id, restart_hashes=hashes, pods=pods, **_context(body, now)
    )
    _write_status(kube, body, new)
    ready = next(c for c in new["conditions"] if c["type"] == "Ready")
    return Outcome(ready=ready["status"] == "True", message=ready["message"])


def _context(body: Obj, now: str) -> dict[str, Any]:
    return {
        "previous": body.get("status") or {},
        "generation": body["metadata"].get("generation", 0),
        "now": now,
    }


def _parse(kube: Kube, body: Obj, now: str) -> ClusterSpec | None:
    metadata = body["metadata"]
    try:
        return parse_cluster(metadata["name"], metadata["namespace"], body.get("spec") or {})
    except SpecError as error:
        reason, message = "InvalidSpec", str(error)
    except Exception as error:  # a bug in kopfka: say so in the status instead of retrying blind
        logger.exception(
            "parsing KafkaCluster %s/%s failed", metadata["namespace"], metadata["name"]
        )
        reason, message = "InternalError", internal_error_message(error)
    _write_status(
        kube, body, status.failed_status(reason=reason, message=message, **_context(body, now))
    )
    return None


def internal_error_message(error: Exception) -> str:
    return (
        f"kopfka failed on this spec ({type(error).__name__}: {error}); this is a bug in "
        "kopfka: please report it with the spec"
    )


def _ensure_cluster_id(
    kube: Kube, body: Obj, spec: ClusterSpec, make_cluster_id: Callable[[], str]
) -> tuple[Obj, str]:
    """The cluster id is made once and kept in status; if status was lost, the pods' env has it."""
    existing = (body.get("status") or {}).get("clusterId")
    if existing:
        return body, str(existing)
    cluster_id = _cluster_id_from_pods_env(kube, spec) or make_cluster_id()
    try:
        # Guarded by resourceVersion: two writers can never record two different ids.
        updated = kube.patch_status(body, {"clusterId": cluster_id}, expect_version=True)
    except Conflict as error:
        raise RetryLater(f"cluster changed while recording its id: {error}") from error
    return updated, cluster_id


def _cluster_id_from_pods_env(kube: Kube, spec: ClusterSpec) -> str | None:
    pool = spec.controller_pool
    live = kube.get("apps/v1", "StatefulSet", names.pool_name(spec.name, pool.role), spec.namespace)
    if live is None:
        return None
    for container in live["spec"]["template"]["spec"]["containers"]:
        for env in container.get("env") or []:
            if env["name"] == "KOPFKA_CLUSTER_ID" and env.get("value"):
                return str(env["value"])
    return None


def _apply_children(kube: Kube, body: Obj, spec: ClusterSpec, cluster_id: str, now: str) -> None:
    """Apply every child, or none: the API server checks them all (dry run) before any write."""
    try:
        desired = render_cluster(spec, cluster_id)
    except Exception as error:  # a bug in kopfka: the model accepted what the renderers cannot do
        logger.exception("rendering KafkaCluster %s/%s failed", spec.namespace, spec.name)
        message = internal_error_message(error)
        _write_status(
            kube,
            body,
            status.failed_status(reason="InternalError", message=message, **_context(body, now)),
        )
        raise RetryLater(message) from error
    try:
        kube.apply_all([owned_by(obj, body) for obj in desired])
    except ApplyError as error:
        failed = status.failed_status(
            reason="ApplyFailed", message=str(error), **_context(body, now)
        )
        _write_status(kube, body, failed)
        raise RetryLater(str(error)) from error


def _label_pods(kube: Kube, spec: ClusterSpec, pods: list[Obj]) -> None:
    """Pods of a StatefulSet share one template; the node id label is added per pod."""
    ids = {
        names.pod_name(spec.name, pool.role, ordinal): pool.node_id(ordinal)
        for pool in spec.pools
        for ordinal in range(pool.replicas)
    }
    for pod in pods:
        node_id = ids.get(pod["metadata"]["name"])
        if node_id is not None:
            kube.add_labels(pod, {names.NODE_ID_LABEL: str(node_id)})


def _write_status(kube: Kube, body: Obj, new: dict[str, Any]) -> None:
    if new != (body.get("status") or {}):
        kube.patch_status(body, new)


def reconcile_topic(kube: Kube, body: Obj, *, now: str) -> Outcome:
    """Validate a KafkaTopic against its cluster and report it; topic Jobs come later."""
    metadata = body["metadata"]
    context = _context(body, now)
    try:
        topic = parse_topic(metadata["name"], body.get("spec") or {})
    except SpecError as error:
        reason, message = "InvalidSpec", str(error)
    except Exception as error:  # a bug in kopfka: say so in the status instead of retrying blind
        logger.exception("parsing KafkaTopic %s/%s failed", metadata["namespace"], metadata["name"])
        reason, message = "InternalError", internal_error_message(error)
    else:
        reason, message = _topic_against_cluster(kube, topic, metadata["namespace"])
        new = status.topic_status(ready=False, reason=reason, message=message, **context)
        new["topicName"] = topic.topic_name
        _write_status(kube, body, new)
        return Outcome(ready=False, message=message)
    _write_status(
        kube, body, status.topic_status(ready=False, reason=reason, message=message, **context)
    )
    return Outcome(ready=False, message=message)


def _topic_against_cluster(kube: Kube, topic: TopicSpec, namespace: str) -> tuple[str, str]:
    """(reason, message) of a valid KafkaTopic, given what its cluster is."""
    cluster_body = kube.get(names.API_VERSION, names.CLUSTER_KIND, topic.cluster, namespace)
    if cluster_body is None:
        return (
            "ClusterNotFound",
            f"KafkaCluster {topic.cluster} does not exist in namespace {namespace}",
        )
    try:
        cluster = parse_cluster(topic.cluster, namespace, cluster_body.get("spec") or {})
    except SpecError as error:
        return "ClusterInvalid", f"KafkaCluster {topic.cluster}: {error}"
    problems = check_against_cluster(topic, cluster)
    if problems:
        return "InvalidSpec", "; ".join(problems)
    return "Pending", "the spec is valid; creating topics through Jobs is not implemented yet"
