"""One readable, ordered pipeline of named steps that makes a KafkaCluster so.

paused? -> parse the spec -> keep the cluster id -> keep the TLS certificates (issuing only what
is missing or due) -> render (keeping brokers a scale-down removes until they are drained) ->
apply (skipping what is in place) -> delete the NetworkPolicy once it is turned off -> prune
config revisions no pod mounts -> label pods -> observe pods, and take the roll, the live
settings, the metadata version and the rebalance a step further -> write status if it changed.
Every step is idempotent, so an operator killed anywhere converges when it runs again; a reconcile
of an unchanged cluster writes nothing.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kopfka.certs.kept import CaProblem, Certificates, CertificatesPending
from kopfka.k8s.client import ApplyError, Conflict, Kube, NotOwned, Obj
from kopfka.k8s.status import StatusChurn, write_status
from kopfka.kafka.admin import Connect, operator_client
from kopfka.kafka.tls import identities
from kopfka.live import metadata
from kopfka.live.apply import applied_at_creation, keep_live_settings
from kopfka.live.rebalance import brokers_to_run, keep_balanced
from kopfka.model import names, status
from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.errors import SpecError, internal_error_message
from kopfka.render.cert_manager import certificates as issued_certificates
from kopfka.render.cluster import controllers_outlive_brokers, owned_by, render_cluster
from kopfka.render.config import config_map_name
from kopfka.render.network_policy import OperatorPods
from kopfka.render.operator_job import JobImage
from kopfka.render.statefulset import restart_hash
from kopfka.render.tls import CERTIFICATES_REVISION_ANNOTATION, decoded
from kopfka.rollout import execute as rollout

logger = logging.getLogger(__name__)


class RetryLater(Exception):
    """A transient problem (a conflict, an API refusal worth retrying); the handler backs off."""


@dataclass(frozen=True)
class Outcome:
    ready: bool
    message: str
    # Seconds after which the cluster should be looked at again (a rolling restart is under way
    # and no event will say when its restarted node caught up); None: when something changes.
    again: float | None = None


def new_cluster_id() -> str:
    """A KRaft cluster id: a random UUID in URL-safe base64, never starting with '-' (as Kafka)."""
    while True:
        encoded = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not encoded.startswith("-"):
            return encoded


def reconcile_cluster(
    kube: Kube,
    body: Obj,
    *,
    now: str,
    topics: Sequence[Obj],
    make_cluster_id: Callable[[], str] = new_cluster_id,
    connect: Connect = operator_client,
    job_image: JobImage | None = None,
    operator: OperatorPods | None = None,
) -> Outcome:
    """Apply the spec's children, then refresh_status; `topics` are the cluster's KafkaTopics as
    last seen (their replication factor changes are the rebalance's work), `operator` the
    operator's own pods, which the cluster's NetworkPolicy lets in."""
    if names.is_paused(body):
        return refresh_status(kube, body, now=now, topics=topics)
    spec = _parse(kube, body, now)
    if spec is None:
        return Outcome(ready=False, message="invalid spec")
    # Records spec.size_defaults as they are: parsing again with them recorded gives this spec.
    body, cluster_id = _ensure_cluster_id(kube, body, spec, make_cluster_id, now)
    refusal = metadata.downgrade_refusal(body.get("status") or {}, spec)
    if refusal is not None:
        _fail(kube, body, now, reason="VersionDowngradeRefused", message=refusal)
        return Outcome(ready=False, message=refusal)
    pods = kube.list("v1", "Pod", spec.namespace, names.selector_labels(spec.name))
    brokers = brokers_to_run(spec, _running_brokers(kube, spec), body.get("status") or {})
    _apply_children(
        kube, body, spec, cluster_id, now, pods=pods, brokers=brokers, operator=operator
    )
    _delete_network_policy_turned_off(kube, body, spec)
    _prune_config_revisions(kube, body, spec)
    # New claims are born annotated (the claim template); claims of a StatefulSet made by an
    # older kopfka, without that annotation, get it here.
    _record_cluster_id_on_claims(kube, spec, cluster_id)
    return refresh_status(
        kube,
        body,
        now=now,
        applied=True,
        topics=topics,
        pods=pods,
        running=brokers,
        connect=connect,
        job_image=job_image,
        operator=operator,
    )


def refresh_status(
    kube: Kube,
    body: Obj,
    *,
    now: str,
    topics: Sequence[Obj],
    applied: bool = False,
    pods: list[Obj] | None = None,
    running: int | None = None,
    connect: Connect = operator_client,
    job_image: JobImage | None = None,
    operator: OperatorPods | None = None,
) -> Outcome:
    """Observe the pods, take the rolling restart and kopfka's work inside Kafka one step
    further, and write the status (safe from any event).

        A paused cluster is observed too, and says it is paused. Unless this follows a successful
        apply (`applied`), a failure the last reconcile reported for this generation stays reported:
        pods that look fine do not make a refused spec healthy; and a generation no reconcile has
        seen yet is left to that reconcile.
    """
    paused = names.is_paused(body)
    cluster_id = (body.get("status") or {}).get("clusterId")
    if cluster_id is None:
        if paused:
            _write_status(
                kube, body, lambda current: status.paused_status(**_context(current, now))
            )
        return Outcome(ready=False, message="not reconciled yet")
    generation = body["metadata"].get("generation", 0)
    reconciled = (body.get("status") or {}).get("observedGeneration")
    if not applied and not paused and reconciled != generation:
        # A spec newer than the last reconcile: its children are not applied yet, and a status
        # for it now would say so wrongly (a pod event can come before the change handler). The
        # reconcile of that generation writes its status.
        return Outcome(ready=False, message=f"generation {generation} is not reconciled yet")
    spec = _parse(kube, body, now)
    if spec is None:
        return Outcome(ready=False, message="invalid spec")
    if pods is None:
        pods = kube.list("v1", "Pod", spec.namespace, names.selector_labels(spec.name))
    revision = None
    if spec.needs_certificates:
        revision = _certificates_revision(kube, spec)
        if revision is None:
            # Not made yet (or deleted): the reconcile makes them, and until then no restart
            # hash can be known, so nothing is judged outdated.
            return Outcome(ready=False, message="the brokers' certificates are not made yet")
    hashes = {
        pool.role.value: restart_hash(spec, pool, cluster_id, certificates=revision)
        for pool in spec.pools
    }
    roll = live = finalized = balance = None
    if not paused:
        _label_pods(kube, spec, pods)
        if not status.reconcile_failed(body.get("status") or {}, generation) or applied:
            roll = rollout.advance(kube, body, spec, pods, hashes, connect=connect)
            roll_over = roll.over(spec, pods)
            live = keep_live_settings(kube, body, spec, pods, connect=connect)
            finalized = metadata.keep_metadata_version(
                kube, body, spec, pods, roll_over=roll_over, connect=connect
            )
            balance = keep_balanced(
                kube,
                body,
                spec,
                pods,
                # What the reconcile just applied, else the StatefulSet as it is.
                running=_running_brokers(kube, spec) if running is None else running,
                roll_over=roll_over,
                topics=topics,
                connect=connect,
                image=job_image,
            )
    kafka_work = (live, finalized, balance.progress if balance else None)
    problems = [work.problem for work in kafka_work if work and work.problem]

    def observed(current: Obj) -> dict[str, Any]:
        context = _context(current, now)
        new = status.cluster_status(
            spec,
            cluster_id=cluster_id,
            restart_hashes=hashes,
            pods=pods,
            roll=None if roll is None else roll.status(),
            live=(live.status if live else None) or context["previous"].get("liveSettings"),
            metadata=finalized.status if finalized else _metadata_fields(context["previous"]),
            problems=problems,
            **context,
        )
        new["sizeDefaults"] = dict(spec.size_defaults)
        if balance is not None:
            new["rebalance"] = balance.progress.status
        if paused:
            return status.paused_status(observed=new, **context)
        if not applied and status.reconcile_failed(context["previous"], context["generation"]):
            return status.with_failure_kept(new, context["previous"])
        return new

    written = _write_status(kube, body, observed)
    if balance is not None and balance.shrink:
        # The brokers that leave are drained (the status says so now): the StatefulSet shrinks.
        _apply_children(
            kube,
            written,
            spec,
            cluster_id,
            now,
            pods=pods,
            brokers=spec.broker_count,
            operator=operator,
        )
    ready = next(
        (c for c in (written.get("status") or {}).get("conditions", []) if c["type"] == "Ready"),
        {"status": "Unknown", "message": "no status written"},
    )
    return Outcome(
        ready=ready["status"] == "True",
        message=str(ready.get("message", "")),
        again=min(
            (
                seconds
                for work in (roll, *kafka_work)
                if work is not None and (seconds := work.again)
            ),
            default=None,
        ),
    )


def _metadata_fields(previous: Obj) -> dict[str, Any]:
    return {k: previous[k] for k in ("metadataVersion", "metadataVersionLevel") if k in previous}


def _context(body: Obj, now: str) -> dict[str, Any]:
    return {
        "previous": body.get("status") or {},
        "generation": body["metadata"].get("generation", 0),
        "now": now,
    }


def _parse(kube: Kube, body: Obj, now: str) -> ClusterSpec | None:
    metadata = body["metadata"]
    recorded = (body.get("status") or {}).get("sizeDefaults")
    try:
        return parse_cluster(
            metadata["name"], metadata["namespace"], body.get("spec") or {}, size_defaults=recorded
        )
    except SpecError as error:
        reason, message = "InvalidSpec", str(error)
    except Exception as error:  # a bug in kopfka: say so in the status instead of retrying blind
        logger.exception(
            "parsing KafkaCluster %s/%s failed", metadata["namespace"], metadata["name"]
        )
        reason, message = "InternalError", internal_error_message(error)
    _fail(kube, body, now, reason=reason, message=message)
    return None


def _fail(kube: Kube, body: Obj, now: str, *, reason: str, message: str) -> None:
    _write_status(
        kube,
        body,
        lambda current: status.failed_status(
            reason=reason, message=message, **_context(current, now)
        ),
    )


def _ensure_cluster_id(
    kube: Kube,
    body: Obj,
    spec: ClusterSpec,
    make_cluster_id: Callable[[], str],
    now: str,
) -> tuple[Obj, str]:
    """The cluster id is made once and kept in status, with the size defaults chosen then.

    If status was lost, or the KafkaCluster was deleted and made again over its kept volumes, the
    id comes back from the volume claims (or the controllers' StatefulSet): storage formatted for
    one id refuses to start under another.
    """
    previous = body.get("status") or {}
    existing = previous.get("clusterId")
    if existing and previous.get("sizeDefaults"):
        return body, str(existing)
    on_claims = _cluster_ids_on_claims(kube, spec) if not existing else []
    if len(on_claims) > 1:
        message = (
            "the kept volume claims of this cluster were formatted for different cluster ids "
            f"({', '.join(on_claims)}); kopfka will not pick one: keep the claims of one cluster "
            "and delete the others"
        )
        _fail(kube, body, now, reason="ClusterIdConflict", message=message)
        raise RetryLater(message)
    kept = existing or next(iter(on_claims), None) or _cluster_id_from_env(kube, spec)
    chosen_id = kept or make_cluster_id()
    recorded: dict[str, Any] = {"clusterId": chosen_id, "sizeDefaults": dict(spec.size_defaults)}
    if not kept:
        # A cluster made now: its nodes start with the live settings in their server.properties.
        recorded["liveSettings"] = applied_at_creation(spec)
        recorded.update(metadata.at_creation(spec))
    try:
        # Guarded by resourceVersion: two writers can never record two different ids.
        updated = kube.patch_status(body, recorded, expect_version=True)
    except Conflict as error:
        raise RetryLater(f"cluster changed while recording its id: {error}") from error
    return updated, chosen_id


def _claims(kube: Kube, spec: ClusterSpec) -> list[Obj]:
    """The cluster's volume claims, kept or in use (they carry its selector labels)."""
    return kube.list(
        "v1", "PersistentVolumeClaim", spec.namespace, names.selector_labels(spec.name)
    )


def _cluster_ids_on_claims(kube: Kube, spec: ClusterSpec) -> list[str]:
    """The distinct cluster ids recorded on the cluster's claims: none, one, or a conflict."""
    annotations = (claim["metadata"].get("annotations") or {} for claim in _claims(kube, spec))
    return sorted(
        {
            str(found[names.CLUSTER_ID_ANNOTATION])
            for found in annotations
            if found.get(names.CLUSTER_ID_ANNOTATION)
        }
    )


def _cluster_id_from_env(kube: Kube, spec: ClusterSpec) -> str | None:
    pool = spec.controller_pool
    live = kube.get_made(
        "apps/v1", "StatefulSet", names.pool_name(spec.name, pool.role), spec.namespace
    )
    if live is None:
        return None
    for container in live["spec"]["template"]["spec"]["containers"]:
        for env in container.get("env") or []:
            if env["name"] == "KOPFKA_CLUSTER_ID" and env.get("value"):
                return str(env["value"])
    return None


def _record_cluster_id_on_claims(kube: Kube, spec: ClusterSpec, cluster_id: str) -> None:
    """Claims outlive the KafkaCluster (deleteClaim: false): they carry the id of their data."""
    for claim in _claims(kube, spec):
        kube.add_metadata(claim, annotations={names.CLUSTER_ID_ANNOTATION: cluster_id})


def _running_brokers(kube: Kube, spec: ClusterSpec) -> int:
    """The replicas of the broker StatefulSet as it is (0 before it exists)."""
    pool = spec.broker_pool
    live = kube.get_made(
        "apps/v1", "StatefulSet", names.pool_name(spec.name, pool.role), spec.namespace
    )
    return int((live or {}).get("spec", {}).get("replicas") or 0)


def _apply_children(
    kube: Kube,
    body: Obj,
    spec: ClusterSpec,
    cluster_id: str,
    now: str,
    *,
    pods: list[Obj],
    brokers: int,
    operator: OperatorPods | None,
) -> None:
    """Apply every child, or none: the API server checks them all (dry run) before any write.
    The broker StatefulSet gets `brokers` replicas (live/rebalance.py brokers_to_run)."""
    pools = tuple(
        dataclasses.replace(pool, replicas=brokers) if pool is spec.broker_pool else pool
        for pool in spec.pools
    )
    running = dataclasses.replace(spec, pools=pools)
    try:
        _apply_issued_certificates(kube, body, running)
    except ApplyError as error:
        message = f"spec.clusterCa.certManager: {error} (is cert-manager installed?)"
        _fail(kube, body, now, reason="CertificatesNotApplied", message=message)
        raise RetryLater(message) from error
    try:
        certificates = _keep_certificates(kube, running, now, pods=pods)
    except CertificatesPending as pending:
        # Nothing is applied: the nodes keep running with what they have.
        message = f"{pending}{_issuer_says(kube, running)}"
        _fail(kube, body, now, reason="CertificatesPending", message=message)
        raise RetryLater(message) from pending
    except CaProblem as problem:
        # Nothing is applied: running brokers keep the certificates they have. (Each reason
        # spelled out where it is set: tests/unit/test_docs.py finds them there.)
        if problem.clients and problem.missing:
            reason = "ClientsCaNotFound"
        elif problem.clients:
            reason = "ClientsCaInvalid"
        elif problem.missing:
            reason = "ClusterCaNotFound"
        else:
            reason = "ClusterCaInvalid"
        _fail(kube, body, now, reason=reason, message=str(problem))
        raise RetryLater(str(problem)) from problem
    identities.keep(spec.operator_bootstrap, certificates.operator if certificates else None)
    try:
        desired = render_cluster(running, cluster_id, certificates=certificates, operator=operator)
    except Exception as error:  # a bug in kopfka: the model accepted what the renderers cannot do
        logger.exception("rendering KafkaCluster %s/%s failed", spec.namespace, spec.name)
        message = internal_error_message(error)
        _fail(kube, body, now, reason="InternalError", message=message)
        raise RetryLater(message) from error
    try:
        owned = [owned_by(obj, body) for obj in desired]
        kube.apply_all(controllers_outlive_brokers(owned, spec, pods))
    except NotOwned as error:
        _fail(kube, body, now, reason="ObjectNotOwned", message=str(error))
        raise RetryLater(str(error)) from error
    except ApplyError as error:
        _fail(kube, body, now, reason="ApplyFailed", message=str(error))
        raise RetryLater(str(error)) from error


def _certificates_revision(kube: Kube, spec: ClusterSpec) -> str | None:
    """The brokers' certificates revision, from their Secret (None: no such Secret yet)."""
    return _revision(
        kube.get("v1", "Secret", names.broker_tls_secret_name(spec.name), spec.namespace)
    )


def _revision(brokers_secret: Obj | None) -> str | None:
    annotations = (brokers_secret or {}).get("metadata", {}).get("annotations") or {}
    revision = annotations.get(CERTIFICATES_REVISION_ANNOTATION)
    return None if revision is None else str(revision)


def _keep_certificates(
    kube: Kube, spec: ClusterSpec, now: str, *, pods: list[Obj]
) -> Certificates | None:
    """The CA and node certificates of a cluster with TLS listeners (and its clients CA, with a
    listener with authentication tls; the operator's own certificate, with TLS on the internal
    listeners), read from their Secrets (a GET each: Secrets are not cached, docs/security.md)
    and issued where missing or due; `pods` say which CAs the running nodes trust.
    Raises CaProblem."""
    if not spec.needs_certificates:
        return None
    # Here, not at the top: it imports `cryptography`, which only TLS clusters need (certs/kept.py).
    from kopfka.certs.keep import keep_certificates  # noqa: PLC0415

    ca_name = spec.cluster_ca.secret_name or names.cluster_ca_secret_name(spec.name)
    ca = kube.get("v1", "Secret", ca_name, spec.namespace)
    brokers = kube.get("v1", "Secret", names.broker_tls_secret_name(spec.name), spec.namespace)
    clients_ca = None
    if spec.mtls:
        clients_name = spec.clients_ca.secret_name or names.clients_ca_secret_name(spec.name)
        clients_ca = kube.get("v1", "Secret", clients_name, spec.namespace)
    operator = None
    if spec.internal_tls:
        operator = kube.get(
            "v1", "Secret", names.operator_tls_secret_name(spec.name), spec.namespace
        )
    issued = None
    if spec.cluster_ca.cert_manager is not None:
        issued = {
            name: decoded(kube.get("v1", "Secret", name, spec.namespace))
            for name in _issued_names(spec)
        }
    return keep_certificates(
        spec,
        ca_data=None if ca is None else decoded(ca),
        broker_files=decoded(brokers),
        revision=_revision(brokers),
        now=datetime.datetime.fromisoformat(now.replace("Z", "+00:00")),
        clients_ca_data=None if clients_ca is None else decoded(clients_ca),
        operator_files=decoded(operator),
        pods_trust=[_trusted_cas(pod) for pod in pods],
        issued=issued,
    )


def _issued_names(spec: ClusterSpec) -> list[str]:
    """The cert-manager Certificates of a cluster with spec.clusterCa.certManager, which are
    also the names of the Secrets cert-manager issues them into."""
    return [c["metadata"]["name"] for c in issued_certificates(spec)]


def _apply_issued_certificates(kube: Kube, body: Obj, spec: ClusterSpec) -> None:
    """With spec.clusterCa.certManager: its Certificates in place, before their Secrets are read
    (cert-manager issues them meanwhile), and those of nodes that are gone deleted. Raises
    ApplyError."""
    desired = [owned_by(obj, body) for obj in issued_certificates(spec)]
    if desired:
        kube.apply_all(desired)
    if spec.cluster_ca.cert_manager is None:
        return
    wanted = {obj["metadata"]["name"] for obj in desired}
    selector = {
        **names.selector_labels(spec.name),
        **names.MANAGED_BY,
        "app.kubernetes.io/component": names.ISSUED_CERTIFICATE_COMPONENT,
    }
    kind = (names.CERTIFICATE_API_VERSION, names.CERTIFICATE_KIND)
    for live in kube.list(*kind, spec.namespace, selector):
        if live["metadata"]["name"] not in wanted:
            kube.delete(live)


def _issuer_says(kube: Kube, spec: ClusterSpec) -> str:
    """What cert-manager says of the Certificates it has not issued (their Ready condition), for
    a message: often the reason (an issuer not found, a CA that cannot sign)."""
    said = []
    for name in _issued_names(spec):
        live = kube.get(names.CERTIFICATE_API_VERSION, names.CERTIFICATE_KIND, name, spec.namespace)
        for condition in ((live or {}).get("status") or {}).get("conditions") or []:
            if condition.get("type") == "Ready" and condition.get("status") != "True":
                said.append(f"{name}: {condition.get('reason')}: {condition.get('message')}")
    return f"; cert-manager says: {'; '.join(sorted(set(said)))}" if said else ""


def _trusted_cas(pod: Obj) -> frozenset[str]:
    """The CAs a pod's Kafka trusts on the internal listeners (its kopfka.dev/trusted-cas)."""
    annotations = pod["metadata"].get("annotations") or {}
    return frozenset(filter(None, annotations.get(names.TRUSTED_CAS_ANNOTATION, "").split(",")))


def _delete_network_policy_turned_off(kube: Kube, body: Obj, spec: ClusterSpec) -> None:
    """With spec.networkPolicy off, the NetworkPolicy this KafkaCluster made (if any) is deleted.
    Read from the cache of kopfka's objects, so a cluster without one sends no request; one of
    that name that this KafkaCluster does not own is left alone."""
    if spec.network_policy.enabled:
        return
    live = kube.get_made(
        "networking.k8s.io/v1",
        "NetworkPolicy",
        names.network_policy_name(spec.name),
        spec.namespace,
    )
    if live is None:
        return
    owners = {ref.get("uid") for ref in live["metadata"].get("ownerReferences") or []}
    if body["metadata"]["uid"] in owners:
        kube.delete(live)


def _prune_config_revisions(kube: Kube, body: Obj, spec: ClusterSpec) -> None:
    """Delete the cluster's ConfigMaps of config revisions that neither the spec nor any pod uses.

    Runs after the StatefulSets carry the current revision, so no new pod can be made with an old
    one; a pod that still runs an old revision keeps it until it is restarted. Only ConfigMaps
    this KafkaCluster owns, with a pool's config name, are candidates.
    """
    current = {config_map_name(spec, pool) for pool in spec.pools}
    prefixes = tuple(names.config_map_prefix(spec.name, role) for role in names.Role)
    owner = body["metadata"]["uid"]
    # Every config revision carries MANAGED_BY: with it in the selector, the cache of kopfka's
    # objects answers (k8s/children.py).
    labels = {**names.selector_labels(spec.name), **names.MANAGED_BY}
    candidates = [
        config
        for config in kube.list("v1", "ConfigMap", spec.namespace, labels)
        if config["metadata"]["name"] not in current
        and config["metadata"]["name"].startswith(prefixes)
        and owner in {ref.get("uid") for ref in config["metadata"].get("ownerReferences") or []}
    ]
    if not candidates:
        return
    # Listed again: a pod made from the old template before the apply mounts an old revision.
    pods = kube.list("v1", "Pod", spec.namespace, names.selector_labels(spec.name))
    mounted = {
        volume["configMap"]["name"]
        for pod in pods
        for volume in pod["spec"].get("volumes") or []
        if volume.get("configMap")
    }
    for config in candidates:
        if config["metadata"]["name"] not in mounted:
            kube.delete(config)


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
            kube.add_metadata(pod, labels={names.NODE_ID_LABEL: str(node_id)})


def _write_status(kube: Kube, body: Obj, status_of: Callable[[Obj], dict[str, Any]]) -> Obj:
    """Write the status, and post the Events its change of conditions is worth
    (status.condition_events)."""
    seen: list[Any] = []

    def observed(current: Obj) -> dict[str, Any]:
        seen[:] = [(current.get("status") or {}).get("conditions") or []]
        return status_of(current)

    try:
        written = write_status(kube, body, observed)
    except StatusChurn as error:
        raise RetryLater(str(error)) from error
    if seen:
        after = (written.get("status") or {}).get("conditions") or []
        for said in status.condition_events(seen[0], after):
            kube.post_event(written, warning=said.warning, reason=said.reason, message=said.message)
    return written
