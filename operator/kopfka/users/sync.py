"""Make one KafkaCluster's users in Kafka what its KafkaUsers say, and report what Kafka holds.

The operator's half of the user loop; the user Job (kopfka.users.batch) is the other, as for
topics (kopfka.topics.sync): the operator reads Kafka and plans, the Job changes Kafka, and the
Job's end causes the next sync. A sync of a cluster, in order:

1. The cluster. Gone, or being deleted: every KafkaUser says so, and a KafkaUser being deleted is
   released (its finalizer removed, with an Event): no Job can reach Kafka any more, and a
   namespace must never hang in Terminating. Invalid: the KafkaUsers say so.
2. Finalizers: every KafkaUser has kopfka.dev/delete-user, so that its credential and quotas
   leave Kafka before it goes.
3. Secrets: each KafkaUser's password lives in the Secret of its name, owned by the KafkaUser
   (deleting the KafkaUser deletes it). A generated password: a missing Secret is made with a
   new one; one that is there is never changed, so the password stays across reconciles and
   operator restarts. The user's own password (spec.authentication.password): read from the
   user's Secret (a GET, every sync: Secrets are not watched), checked, and copied into the
   Secret of the KafkaUser's name when that holds another (so applications mount one Secret
   either way, and the Job mounts the copy Kafka's credential is set from); switched back to a
   generated password, a new one is generated. A Secret of the KafkaUser's name that kopfka
   did not make for this KafkaUser is never taken over. A TLS
   user's Secret holds its certificate and key instead: issued from the cluster's clients CA
   (read by name, never made here: the cluster's reconcile makes it) when missing, due for
   renewal or of another CA, and written again then (certs/keep.py keep_user_certificate).
4. The cluster's user Job. While one runs, nothing more. One that ended and was not read yet is
   read: a success records which Secret revision's password each credential now holds (the
   Job's annotation), a failure is reported (an Event, and Kafka's refusals from its log) and
   retried with backoff.
5. Kafka: the users' SCRAM credentials and quotas, and with an authorizer their ACLs.
   Unreachable: every KafkaUser says so.
6. The plan (kopfka.users.plan); statuses written if changed; released KafkaUsers lose their
   finalizer; a Job for the work left, if any.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kopfka import metrics
from kopfka.certs.kept import USER_CA, CaProblem
from kopfka.identity import ensure_identity
from kopfka.k8s.client import ApplyError, Conflict, Kube, NotOwned, Obj
from kopfka.k8s.status import merge_patch
from kopfka.kafka.admin import KafkaAdmin, KafkaUnavailable
from kopfka.kafka.facts import UserFacts
from kopfka.model import names
from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.conditions import (
    READY,
    Condition,
    job_condition,
    job_ended,
    merge_conditions,
    ready_condition,
)
from kopfka.model.errors import SpecError
from kopfka.model.user import (
    NO_AUTHORIZER,
    NO_SCRAM_LISTENER,
    NO_TLS_LISTENER,
    PASSWORD_INVALID,
    PASSWORD_KEY_NOT_FOUND,
    PASSWORD_SECRET_NOT_FOUND,
    PasswordProblem,
    UserSpec,
    acl_status,
    check_against_cluster,
    own_password,
    parse_user,
)
from kopfka.render.cluster import owned_by
from kopfka.render.operator_job import JobImage
from kopfka.render.tls import decoded
from kopfka.render.user_job import (
    GENERATED,
    JAAS_KEY,
    PASSWORD_KEY,
    jaas_config,
    render_user_certificate_secret,
    render_user_job,
    render_user_secret,
)
from kopfka.users import plan as user_plan
from kopfka.users.plan import UserResource, UserWork, Verdict, plan_users
from kopfka.users.wire import refusals, work_file

logger = logging.getLogger(__name__)

Key = tuple[str, str]

CLUSTER_NOT_FOUND = "ClusterNotFound"
CLUSTER_INVALID = "ClusterInvalid"
CLUSTER_NOT_READY = "ClusterNotReady"
KAFKA_UNREACHABLE = "KafkaUnreachable"
INVALID_SPEC = "InvalidSpec"
SECRET_NOT_OWNED = "SecretNotOwned"
JOB_FAILED = "JobFailed"
CLIENTS_CA_NOT_READY = "ClientsCaNotReady"

# Every reason a KafkaUser's Ready condition can carry (docs/troubleshooting.md explains each).
# The planner's Deleted is not among them: it releases a KafkaUser being deleted.
USER_REASONS = frozenset(
    {
        user_plan.IN_SYNC,
        user_plan.CREATING,
        user_plan.UPDATING,
        user_plan.DELETING,
        user_plan.SECRET_MISSING,
        INVALID_SPEC,
        NO_SCRAM_LISTENER,
        NO_TLS_LISTENER,
        NO_AUTHORIZER,
        PASSWORD_SECRET_NOT_FOUND,
        PASSWORD_KEY_NOT_FOUND,
        PASSWORD_INVALID,
        CLIENTS_CA_NOT_READY,
        SECRET_NOT_OWNED,
        CLUSTER_NOT_FOUND,
        CLUSTER_INVALID,
        CLUSTER_NOT_READY,
        KAFKA_UNREACHABLE,
        JOB_FAILED,
    }
)

# Characters of a generated password: 32 random bytes, URL-safe base64 (256 bits).
PASSWORD_BYTES = 32
_JOB_POD_LABEL = "batch.kubernetes.io/controller-uid"


@dataclass(frozen=True)
class Settings:
    connect: Callable[[str], KafkaAdmin]
    job_image: JobImage | None
    unreachable_retry_seconds: float = 15.0
    # After a failed Job: this, doubling per failure up to job_backoff_most.
    job_backoff_first: float = 30.0
    job_backoff_most: float = 600.0
    # How long after a Job a change it made may not show yet on the broker asked.
    metadata_lag_seconds: float = 5.0


@dataclass
class _Failures:
    attempts: int
    retry_at: float
    message: str


@dataclass
class Memory:
    """What the operator keeps between syncs, per cluster (lost on restart: status.secretUid and
    status.secretResourceVersion say enough to go on, and a credential set again from the same
    Secret changes nothing)."""

    applied: dict[Key, dict[str, str]] = field(default_factory=dict)  # user -> Secret revision
    failures: dict[Key, _Failures] = field(default_factory=dict)
    refused: dict[Key, dict[str, str]] = field(default_factory=dict)  # user -> Kafka's answer
    settle_until: dict[Key, float] = field(default_factory=dict)

    def forget(self, key: Key) -> None:
        for kept in (self.applied, self.failures, self.refused, self.settle_until):
            kept.pop(key, None)


def sync_users(
    kube: Kube,
    key: Key,
    bodies: Sequence[Obj],
    *,
    settings: Settings,
    memory: Memory,
    now: str,
    clock: float,
) -> float | None:
    """Sync the KafkaUsers `bodies` (as last seen) of the KafkaCluster `key` (namespace, name).
    Returns how soon (seconds) to sync again without an event, or None."""
    return _ClusterSync(kube, key, bodies, settings, memory, now, clock).run()


@dataclass
class _ClusterSync:
    kube: Kube
    key: Key
    bodies: Sequence[Obj]
    settings: Settings
    memory: Memory
    now: str
    clock: float
    # CA Secrets read during this sync, decoded (None: not found), by name.
    ca_secrets: dict[str, dict[str, bytes] | None] = field(default_factory=dict)

    def run(self) -> float | None:
        namespace, cluster_name = self.key
        cluster_body = self.kube.get(names.API_VERSION, names.CLUSTER_KIND, cluster_name, namespace)
        if cluster_body is None or cluster_body["metadata"].get("deletionTimestamp"):
            self._cluster_gone()
            self.memory.forget(self.key)
            return None
        cluster = _parse_cluster(cluster_body)
        if isinstance(cluster, str):
            for body in self.bodies:
                self._write(body, Verdict(CLUSTER_INVALID, cluster, _generation(body)))
            return None
        for body in self.bodies:
            if not body["metadata"].get("deletionTimestamp"):
                self._set_finalizer(body, present=True)
        resources = [self._resource(body, cluster) for body in self.bodies]
        jobs = self.kube.list("batch/v1", "Job", namespace, names.user_job_labels(cluster_name))
        if any(not job_ended(job) for job in jobs):
            return None  # its end asks for the next sync
        for job in jobs:
            self._read_job(cluster_body, job)
        try:
            actual = self._read_kafka(cluster, resources)
        except KafkaUnavailable as error:
            reason, message = _unreachable(cluster_body, cluster, error)
            for body, resource in zip(self.bodies, resources, strict=True):
                verdict = Verdict(reason, message, resource.generation)
                self._write(body, _keep_refusal(resource, verdict), resource=resource)
            return self.settings.unreachable_retry_seconds
        plan = plan_users(resources, actual)
        waiting = self._why_no_job(plan.work)
        by_key = {_key_text(body): body for body in self.bodies}
        for resource in resources:
            verdict = plan.verdicts[resource.key]
            body = by_key[resource.key]
            if verdict.released:
                self._set_finalizer(body, present=False)
                continue
            refused = self.memory.refused.get(self.key, {}).get(resource.username)
            if refused and not verdict.ready and resource.username in plan.work.users:
                verdict = Verdict(JOB_FAILED, refused, verdict.generation, facts=verdict.facts)
            elif waiting is not None and resource.username in plan.work.users:
                message = f"{verdict.message}; waiting: {waiting[0]}"
                verdict = Verdict(verdict.reason, message, verdict.generation, facts=verdict.facts)
            self._write(body, verdict, resource=resource)
        if not plan.work.has_work:
            self.memory.refused.pop(self.key, None)
            return None
        if waiting is not None:
            return waiting[1]
        return self._start_job(cluster_body, cluster, jobs, plan.work)

    def _resource(self, body: Obj, cluster: ClusterSpec) -> UserResource:
        metadata, status = body["metadata"], body.get("status") or {}
        name = metadata["name"]
        common: dict[str, Any] = {"deleting": bool(metadata.get("deletionTimestamp"))}
        recorded = self.memory.applied.get(self.key, {}).get(name) or _recorded_revision(status)
        try:
            spec = parse_user(name, body.get("spec") or {})
        except SpecError as error:
            invalid = (INVALID_SPEC, str(error))
            return UserResource(_key_text(body), name, _generation(body), problem=invalid, **common)
        unusable = check_against_cluster(spec, cluster)
        if unusable is not None:
            return UserResource(
                _key_text(body), name, _generation(body), spec=spec, problem=unusable, **common
            )
        secret_revision: str | None = None
        problem_of_secret: tuple[str, str] | None = None
        certificate: tuple[str, str] | None = None
        if common["deleting"]:
            pass
        elif spec.tls:
            secret_revision, problem_of_secret, certificate = self._certificate(body, cluster)
        else:
            secret_revision, problem_of_secret = self._secret(body, cluster, spec)
        return UserResource(
            _key_text(body),
            name,
            _generation(body),
            spec=spec,
            problem=problem_of_secret,
            secret_revision=secret_revision,
            applied_revision=recorded,
            certificate=certificate,
            **common,
        )

    def _ca_secret(self, name: str) -> dict[str, bytes] | None:
        """A CA Secret of the cluster, decoded; read once per sync (a GET: Secrets are not
        cached) for all its TLS users."""
        if name not in self.ca_secrets:
            secret = self.kube.get("v1", "Secret", name, self.key[0])
            self.ca_secrets[name] = None if secret is None else decoded(secret)
        return self.ca_secrets[name]

    def _certificate(
        self, body: Obj, cluster: ClusterSpec
    ) -> tuple[str | None, tuple[str, str] | None, tuple[str, str] | None]:
        """A TLS user's Secret: its certificate kept while it is good, else issued from the
        clients CA (new, due for renewal, or of another clients CA) and the Secret written;
        (the Secret's revision, why it cannot be used, (subject, notAfter))."""
        # Here, not at the top: it imports `cryptography`, which only TLS users need.
        from kopfka.certs.keep import keep_user_certificate  # noqa: PLC0415

        metadata = body["metadata"]
        name = names.user_secret_name(metadata["name"])
        secret = self.kube.get("v1", "Secret", name, metadata["namespace"])
        if secret is not None and not _owned_by(secret, body):
            return None, _not_owned(name), None
        clients_ca = cluster.clients_ca.secret_name or names.clients_ca_secret_name(cluster.name)
        trusted = self._ca_secret(names.cluster_ca_cert_secret_name(cluster.name)) or {}
        if not trusted.get(USER_CA):
            message = (
                f"the cluster CA's certificate (Secret "
                f"{names.cluster_ca_cert_secret_name(cluster.name)}) is not made yet"
            )
            return None, (CLIENTS_CA_NOT_READY, message), None
        try:
            kept = keep_user_certificate(
                cluster,
                metadata["name"],
                clients_ca_data=self._ca_secret(clients_ca),
                cluster_ca_certificate=trusted[USER_CA],
                kept=decoded(secret),
                now=datetime.datetime.fromisoformat(self.now.replace("Z", "+00:00")),
            )
        except CaProblem as problem:
            message = f"the clients CA cannot issue the user's certificate: {problem}"
            return None, (CLIENTS_CA_NOT_READY, message), None
        facts = (kept.subject, kept.not_after)
        held = decoded(secret)
        if secret is not None and {key: held.get(key) for key in kept.files} == kept.files:
            return _revision(secret), None, facts
        rendered = render_user_certificate_secret(
            metadata["namespace"], metadata["name"], cluster.name, kept.files
        )
        try:
            self.kube.apply_all([owned_by(rendered, body)])
        except (NotOwned, ApplyError) as error:
            logger.warning("cannot write the certificate Secret %s: %s", name, error)
            return None, (SECRET_NOT_OWNED, str(error)), None
        why = "a new certificate" if kept.issued else "the cluster CA's certificate"
        logger.info(
            "wrote %s (%s) into Secret %s/%s",
            why,
            kept.issued or "ca.crt changed",
            metadata["namespace"],
            name,
        )
        written = self.kube.get("v1", "Secret", name, metadata["namespace"])
        return (None if written is None else _revision(written)), None, facts

    def _secret(
        self, body: Obj, cluster: ClusterSpec, spec: UserSpec
    ) -> tuple[str | None, tuple[str, str] | None]:
        """The revision of the KafkaUser's password Secret, made now if missing and written
        now if it must hold another password (the user's own, changed; or one generated anew
        after the user's own); or why it cannot be used."""
        metadata = body["metadata"]
        namespace = metadata["namespace"]
        name = names.user_secret_name(metadata["name"])
        own: str | None = None
        if spec.password is not None:
            source = self.kube.get("v1", "Secret", spec.password.secret, namespace)
            try:
                own = own_password(
                    spec.password, None if source is None else decoded(source), namespace
                )
            except PasswordProblem as problem:
                return None, (problem.reason, problem.message)
        wanted = GENERATED if spec.password is None else spec.password.text
        secret = self.kube.get("v1", "Secret", name, namespace)
        if secret is None:
            password = own if own is not None else secrets.token_urlsafe(PASSWORD_BYTES)
            rendered = render_user_secret(
                namespace, metadata["name"], cluster.name, password, source=wanted
            )
            try:
                secret = self.kube.create(owned_by(rendered, body))
            except Conflict:
                return None, None  # made meanwhile: the next sync reads it
            logger.info("made the password Secret %s/%s (password: %s)", namespace, name, wanted)
        if not _owned_by(secret, body):
            return None, _not_owned(name)
        annotations = secret["metadata"].get("annotations") or {}
        held_source = annotations.get(names.PASSWORD_SOURCE_ANNOTATION)
        held = decoded(secret)
        if own is not None:
            rewrite = (
                held_source != wanted
                or held.get(PASSWORD_KEY) != own.encode()
                or held.get(JAAS_KEY) != jaas_config(metadata["name"], own).encode()
            )
        else:
            # A password that was the user's own is known outside this Secret (the user's
            # Secret may still hold it): a generated one must not be.
            rewrite = held_source not in (None, GENERATED)
            if not rewrite and not held.get(PASSWORD_KEY):
                return None, (
                    SECRET_NOT_OWNED,
                    f"Secret {name} has no {PASSWORD_KEY}: delete it, and kopfka makes a new "
                    "password",
                )
        if rewrite:
            password = own if own is not None else secrets.token_urlsafe(PASSWORD_BYTES)
            rendered = render_user_secret(
                namespace, metadata["name"], cluster.name, password, source=wanted
            )
            try:
                self.kube.apply_all([owned_by(rendered, body)])
            except (NotOwned, ApplyError) as error:
                logger.warning("cannot write the password Secret %s/%s: %s", namespace, name, error)
                return None, (SECRET_NOT_OWNED, str(error))
            logger.info(
                "wrote a new password into Secret %s/%s (password: %s, was: %s)",
                namespace,
                name,
                wanted,
                held_source or GENERATED,
            )
            where = (
                "a new generated password"
                if spec.password is None
                else f"the password of Secret {spec.password.secret}, key {spec.password.key}"
            )
            self.kube.post_event(
                body,
                warning=False,
                reason="PasswordChanged",
                message=f"wrote {where} into Secret {name}; a user Job sets Kafka's credential "
                "from it (the previous password is refused from then on)",
            )
            secret = self.kube.get("v1", "Secret", name, namespace)
            if secret is None:
                return None, None  # deleted meanwhile: the next sync makes it again
        return _revision(secret), None

    def _read_job(self, cluster_body: Obj, job: Obj) -> None:
        annotations = job["metadata"].get("annotations") or {}
        if annotations.get(names.OUTCOMES_READ_ANNOTATION) == "true":
            return
        if job_condition(job, "Failed") is None:
            credentials = json.loads(annotations.get(names.USER_CREDENTIALS_ANNOTATION) or "{}")
            self.memory.applied.setdefault(self.key, {}).update(credentials)
            self.memory.failures.pop(self.key, None)
            self.memory.refused.pop(self.key, None)
            self.memory.settle_until[self.key] = self.clock + self.settings.metadata_lag_seconds
        else:
            self._job_failed(cluster_body, job)
        self.kube.add_metadata(job, annotations={names.OUTCOMES_READ_ANNOTATION: "true"})

    def _job_failed(self, cluster_body: Obj, job: Obj) -> None:
        before = self.memory.failures.get(self.key)
        attempts = before.attempts + 1 if before else 1
        wait = min(
            self.settings.job_backoff_first * 2 ** (attempts - 1), self.settings.job_backoff_most
        )
        metadata = job["metadata"]
        refused: dict[str, str] = {}
        pods = self.kube.list("v1", "Pod", metadata["namespace"], {_JOB_POD_LABEL: metadata["uid"]})
        for pod in pods:
            refused.update(
                refusals(self.kube.pod_log(pod["metadata"]["name"], metadata["namespace"]) or "")
            )
        failed = job_condition(job, "Failed") or {}
        message = (
            f"user Job {metadata['name']} failed ({failed.get('reason')}: "
            f"{failed.get('message')}); see `kubectl logs -n {metadata['namespace']} "
            f"job/{metadata['name']}`"
        )
        self.memory.failures[self.key] = _Failures(attempts, self.clock + wait, message)
        self.memory.refused[self.key] = refused
        metrics.job_failed(names.USER_JOB_COMPONENT, metadata["uid"])
        self.kube.post_event(cluster_body, warning=True, reason="UserJobFailed", message=message)

    def _read_kafka(
        self, cluster: ClusterSpec, resources: Sequence[UserResource]
    ) -> Mapping[str, UserFacts]:
        ensure_identity(
            self.kube,
            namespace=cluster.namespace,
            cluster=cluster.name,
            bootstrap=cluster.operator_bootstrap,
            internal_tls=cluster.internal_tls,
        )
        admin = self.settings.connect(cluster.operator_bootstrap)
        try:
            return admin.users(
                (resource.username for resource in resources),
                acls=cluster.authorization is not None,
            )
        finally:
            admin.close()

    def _why_no_job(self, work: UserWork) -> tuple[str, float | None] | None:
        """Why the work's Job cannot start now, and how soon to look again; None: it can."""
        if not work.has_work:
            return None
        settle = self.memory.settle_until.get(self.key, 0.0)
        if self.clock < settle:
            return "the last user Job's changes to show in Kafka", settle - self.clock
        failures = self.memory.failures.get(self.key)
        if failures is not None and self.clock < failures.retry_at:
            wait = failures.retry_at - self.clock
            return f"the last {failures.message}; the next starts in {round(wait)} s", wait
        if self.settings.job_image is None:
            return (
                "the operator does not know its own image (KOPFKA_JOB_IMAGE), so it cannot "
                "start user Jobs",
                None,
            )
        return None

    def _start_job(
        self, cluster_body: Obj, cluster: ClusterSpec, jobs: Sequence[Obj], work: UserWork
    ) -> float | None:
        assert self.settings.job_image is not None
        config_map, job = render_user_job(
            cluster,
            work=work_file(work),
            credentials=work.credentials,
            bootstrap=cluster.operator_bootstrap,
            image=self.settings.job_image,
        )
        name = job["metadata"]["name"]
        for old in jobs:  # ended and read: their logs are no longer needed
            self.kube.delete(old, background=True)
        for old_config in self.kube.list(
            "v1", "ConfigMap", cluster.namespace, names.user_job_labels(cluster.name)
        ):
            if old_config["metadata"]["name"] != name:
                self.kube.delete(old_config)
        try:
            with contextlib.suppress(Conflict):
                self.kube.create(owned_by(config_map, cluster_body))
            self.kube.create(owned_by(job, cluster_body))
        except Conflict:
            return self.settings.metadata_lag_seconds  # the same work's Job is still going away
        except ApplyError as error:
            logger.warning("cannot start user Job %s: %s", name, error)
            return self.settings.unreachable_retry_seconds
        metrics.JOBS_STARTED.labels(names.USER_JOB_COMPONENT).inc()
        users = ", ".join(sorted(work.users))
        self.kube.post_event(
            cluster_body,
            warning=False,
            reason="UserJobStarted",
            message=f"user Job {name} started for users {users}",
        )
        return None

    def _cluster_gone(self) -> None:
        namespace, cluster_name = self.key
        for body in self.bodies:
            if body["metadata"].get("deletionTimestamp"):
                if names.USER_FINALIZER in (body["metadata"].get("finalizers") or []):
                    self._set_finalizer(body, present=False)
                    self.kube.post_event(
                        body,
                        warning=True,
                        reason="FinalizerReleased",
                        message=f"KafkaCluster {cluster_name} is gone: the credential and "
                        "quotas of this user were not removed from its Kafka",
                    )
                continue
            message = f"KafkaCluster {cluster_name} does not exist in namespace {namespace}"
            self._write(body, Verdict(CLUSTER_NOT_FOUND, message, _generation(body)))

    def _set_finalizer(self, body: Obj, *, present: bool) -> None:
        with contextlib.suppress(Conflict):  # changed meanwhile: its event asks for a sync
            self.kube.set_finalizer(body, names.USER_FINALIZER, present=present)

    def _write(self, body: Obj, verdict: Verdict, *, resource: UserResource | None = None) -> None:
        """Write the KafkaUser's status if it changed; on a conflict the informer's newer view
        of it causes another sync."""
        if body["metadata"].get("deletionTimestamp") and verdict.reason == CLUSTER_NOT_FOUND:
            return
        old = body.get("status") or {}
        new = _status(body, verdict, resource=resource, now=self.now)
        if new == old:
            return
        with contextlib.suppress(Conflict):
            self.kube.patch_status(body, merge_patch(old, new), expect_version=True)


def _status(
    body: Obj, verdict: Verdict, *, resource: UserResource | None, now: str
) -> dict[str, Any]:
    old = body.get("status") or {}
    name = body["metadata"]["name"]
    status: dict[str, Any] = {
        "observedGeneration": verdict.generation,
        "conditions": merge_conditions(
            old.get("conditions") or [],
            [
                Condition(
                    READY, status=verdict.ready, reason=verdict.reason, message=verdict.message
                )
            ],
            now=now,
            generation=verdict.generation,
        ),
        "username": name,
        "secret": names.user_secret_name(name),
    }
    tls = resource is not None and resource.spec is not None and resource.spec.tls
    if verdict.ready and resource is not None and resource.secret_revision and not tls:
        uid, _, version = resource.secret_revision.partition("/")
        status["secretUid"] = uid
        status["secretResourceVersion"] = version
    else:
        for kept in ("secretUid", "secretResourceVersion"):
            if kept in old:
                status[kept] = old[kept]
    if resource is not None and resource.certificate is not None:
        subject, not_after = resource.certificate
        status["certificate"] = {"subject": subject, "notAfter": not_after}
    elif "certificate" in old:
        status["certificate"] = old["certificate"]
    if verdict.facts is not None:
        status["credentials"] = [
            {"mechanism": c.mechanism, "iterations": c.iterations}
            for c in verdict.facts.credentials
        ]
        status["quotas"] = dict(sorted(verdict.facts.quotas.items()))
        status["acls"] = [acl_status(acl) for acl in verdict.facts.acls]
    else:
        for kept in ("credentials", "quotas", "acls"):
            if kept in old and verdict.reason in {CLUSTER_NOT_READY, KAFKA_UNREACHABLE}:
                status[kept] = old[kept]
    return status


def _revision(secret: Obj) -> str:
    """A Secret's revision: another uid is another Secret, another resourceVersion another
    write of it (neither says anything about what it holds)."""
    metadata = secret["metadata"]
    return f"{metadata['uid']}/{metadata['resourceVersion']}"


def _recorded_revision(status: Mapping[str, Any]) -> str | None:
    """The revision of the Secret Kafka's credential was last set from, as status records it.
    A kopfka before revisions recorded the uid alone, which is no revision: that credential is
    set once more, from the same password."""
    uid = status.get("secretUid")
    if not uid:
        return None
    version = status.get("secretResourceVersion")
    return f"{uid}/{version}" if version else str(uid)


def _owned_by(secret: Obj, body: Obj) -> bool:
    owners = secret["metadata"].get("ownerReferences") or []
    return any(owner.get("uid") == body["metadata"]["uid"] for owner in owners)


def _not_owned(name: str) -> tuple[str, str]:
    return (
        SECRET_NOT_OWNED,
        f"Secret {name} exists and kopfka did not make it for this KafkaUser: it never "
        "takes over a Secret (delete or rename it, and kopfka makes one)",
    )


def _keep_refusal(resource: UserResource, verdict: Verdict) -> Verdict:
    """Without Kafka's view, a KafkaUser kopfka refuses whatever Kafka holds says that instead."""
    if resource.problem is not None and not resource.deleting:
        return Verdict(*resource.problem, resource.generation)
    return verdict


def _parse_cluster(body: Obj) -> ClusterSpec | str:
    metadata = body["metadata"]
    try:
        return parse_cluster(
            metadata["name"],
            metadata["namespace"],
            body.get("spec") or {},
            size_defaults=(body.get("status") or {}).get("sizeDefaults"),
        )
    except SpecError as error:
        return f"KafkaCluster {metadata['name']}: {error}"


def _unreachable(cluster_body: Obj, cluster: ClusterSpec, error: Exception) -> tuple[str, str]:
    ready = ready_condition(cluster_body.get("status") or {})
    where = f"Kafka at {cluster.operator_bootstrap} cannot be reached ({error})"
    if ready is None or ready.get("status") != "True":
        return CLUSTER_NOT_READY, f"KafkaCluster {cluster.name} is not ready; {where}"
    return KAFKA_UNREACHABLE, f"{where}; kopfka tries again shortly"


def _key_text(body: Obj) -> str:
    metadata = body["metadata"]
    return f"{metadata['namespace']}/{metadata['name']}"


def _generation(body: Obj) -> int:
    return int(body["metadata"].get("generation") or 0)
