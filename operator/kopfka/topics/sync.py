"""Make one KafkaCluster's topics in Kafka what its KafkaTopics say, and report what Kafka has.

The operator's half of the topic loop; the topic Job (kopfka.topics.batch) is the other. A sync of
a cluster reads Kafka, plans (kopfka.topics.plan), writes every KafkaTopic's status from what Kafka
has, and hands the changes to a Job; the Job's end causes the next sync, which reads Kafka again.
The operator itself never changes Kafka, and a status says what Kafka had when it was written.

A sync, in order:
1. The cluster. Gone, or being deleted: every KafkaTopic says so, and a KafkaTopic being deleted is
   released (its finalizer removed, with an Event): no Job can reach Kafka any more, and a
   namespace must never hang in Terminating. Invalid, or not made yet: the KafkaTopics say so.
2. Finalizers: only a KafkaTopic with `deletionPolicy: delete` has one (kopfka.dev/delete-topic),
   so that its topic is deleted before it goes; `retain` (the default) needs none.
3. The cluster's topic Job. While one runs, nothing more: changes wait for the next Job. One that
   ended and was not read yet is read: its pods' logs hold Kafka's answer per topic, and a failed
   Job is reported (an Event) and retried with backoff.
4. Kafka: its topics, and the own configs of the topics KafkaTopics claim: of all of them in a
   full sync (the periodic resync, and the first after a start), else only of those whose
   KafkaTopic is not Ready for its generation (the others' are what their statuses recorded).
   Unreachable: every KafkaTopic says so (Ready=False, its last facts kept), and the sync comes
   back soon.
5. The plan, with the holds of kopfka.topics.holds (changes Kafka refused wait before they are
   tried again). Every KafkaTopic's status is written if it changed, except that a new one whose
   topic the Job creates gets its first status from the sync after the Job; released ones lose
   their finalizer.
6. A Job for the work left, if any (the previous, ended Job deleted first): one per cluster at a
   time, named after its work, so a sync that runs twice never starts it twice.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import KW_ONLY, dataclass, field, replace
from typing import Any

from kopfka import metrics
from kopfka.identity import ensure_identity
from kopfka.k8s.client import ApplyError, Conflict, Kube, Obj
from kopfka.k8s.status import StatusChurn, write_status
from kopfka.kafka.admin import KafkaAdmin, KafkaUnavailable
from kopfka.kafka.facts import TopicFacts
from kopfka.model import names, status
from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.conditions import job_condition, job_ended, ready_condition
from kopfka.model.errors import SpecError, internal_error_message
from kopfka.model.topic import TopicSpec, check_against_cluster, parse_topic
from kopfka.render.cluster import owned_by
from kopfka.render.operator_job import JobImage
from kopfka.render.topic_job import render_topic_job
from kopfka.topics import holds
from kopfka.topics import plan as topic_plan
from kopfka.topics.bounded import call_each
from kopfka.topics.holds import Backoff, Held
from kopfka.topics.plan import State, TopicResource, Verdict, plan_topics
from kopfka.topics.wire import BatchLog, TopicWork, read_batch_log, work_file

logger = logging.getLogger(__name__)

Key = tuple[str, str]

# Reasons of the Ready condition besides the planner's (kopfka.topics.plan) and KafkaError.
CLUSTER_NOT_FOUND = "ClusterNotFound"
CLUSTER_INVALID = "ClusterInvalid"
CLUSTER_NOT_READY = "ClusterNotReady"
KAFKA_UNREACHABLE = "KafkaUnreachable"
CLUSTER_PAUSED = "ClusterPaused"
JOB_FAILED = "JobFailed"
INVALID_SPEC = topic_plan.INVALID_SPEC
INTERNAL_ERROR = "InternalError"

# The reasons that need a person to change something (the spec, the cluster, what Kafka accepts)
# before the topic can be ready: Argo CD shows them Degraded (TOPIC_FAILURES in
# manifests/argocd/kafkatopic-health.lua).
NEEDS_A_CHANGE = frozenset(
    {
        topic_plan.INVALID_SPEC,
        topic_plan.CONFLICT,
        topic_plan.TOPIC_NAME_CHANGED,
        topic_plan.PARTITION_DECREASE,
        holds.KAFKA_ERROR,
        CLUSTER_NOT_FOUND,
        CLUSTER_INVALID,
        INTERNAL_ERROR,
    }
)
# Work under way or a wait that passes by itself: Progressing.
IN_PROGRESS = frozenset(
    {
        topic_plan.CREATING,
        topic_plan.ADOPTING,
        topic_plan.UPDATING,
        topic_plan.REPLICATION_FACTOR_CHANGING,
        topic_plan.DELETING,
        CLUSTER_NOT_READY,
        KAFKA_UNREACHABLE,
        CLUSTER_PAUSED,
        JOB_FAILED,
    }
)
# Every reason a KafkaTopic's Ready condition can carry (docs/troubleshooting.md explains each).
# The planner's Deleted and Retained are not among them: they release a KafkaTopic that is being
# deleted, and its status is not written any more.
TOPIC_REASONS = frozenset({topic_plan.IN_SYNC, topic_plan.ADOPTED}) | IN_PROGRESS | NEEDS_A_CHANGE
_RELEASED_REASONS = frozenset({topic_plan.DELETED, topic_plan.RETAINED})

_JOB_POD_LABEL = "batch.kubernetes.io/controller-uid"
# Status writes in flight at once, across every cluster's sync.
STATUS_WRITERS = 8
_status_writers = ThreadPoolExecutor(max_workers=STATUS_WRITERS, thread_name_prefix="kopfka-status")
# Status writes one sync hands to the pool at a time (kopfka.topics.bounded says why not all).
STATUS_WRITES_IN_FLIGHT = 2 * STATUS_WRITERS


# After Kafka refuses a topic's change: 1 min, doubling up to an hour (kopfka.topics.holds).
REFUSAL_BACKOFF = Backoff(first=60.0, most=3600.0)
# After a failed Job (its pods' own retries spent): 30 s, doubling up to 10 min.
JOB_BACKOFF = Backoff(first=30.0, most=600.0)


@dataclass(frozen=True)
class Settings:
    """How a sync reaches Kafka and starts Jobs, and how long it waits before trying again."""

    connect: Callable[[str], KafkaAdmin]
    job_image: JobImage | None  # None: the operator does not know its image; no Job can start
    refusal_backoff: Backoff = REFUSAL_BACKOFF
    job_backoff: Backoff = JOB_BACKOFF
    unreachable_retry_seconds: float = 15.0
    # How long after a Job a change it did may still be missing from a broker's metadata.
    metadata_lag_seconds: float = 10.0


@dataclass
class _JobFailures:
    attempts: int
    retry_at: float
    message: str


# A KafkaTopic's spec as parsed, with what check_against_cluster found; or the reason and
# message of a spec that cannot be parsed.
_Parsed = tuple[TopicSpec, tuple[str, ...]] | tuple[str, str]


@dataclass
class Specs:
    """Parsed KafkaTopic specs by uid, each for the generation parsed, so that a sync parses and
    checks only what changed (a cluster may have thousands of KafkaTopics, and a sync runs after
    every Job). All are checked again when the cluster's spec changes (its generation)."""

    cluster_generation: int
    by_uid: dict[str, tuple[int, _Parsed]] = field(default_factory=dict)

    def parsed(self, body: Obj, cluster: ClusterSpec) -> _Parsed:
        metadata = body["metadata"]
        uid, generation = metadata["uid"], _generation(body)
        cached = self.by_uid.get(uid)
        if cached is not None and cached[0] == generation:
            return cached[1]
        found = _parse(body, cluster)
        self.by_uid[uid] = (generation, found)
        return found

    def keep_only(self, uids: set[str]) -> None:
        for gone in self.by_uid.keys() - uids:
            del self.by_uid[gone]


def _parse(body: Obj, cluster: ClusterSpec) -> _Parsed:
    spec = _parse_spec(body)
    if isinstance(spec, tuple):
        return spec
    return spec, tuple(check_against_cluster(spec, cluster))


def _parse_spec(body: Obj) -> TopicSpec | tuple[str, str]:
    """The spec, or the reason and message of why it cannot be read."""
    try:
        return parse_topic(body["metadata"]["name"], body.get("spec") or {})
    except SpecError as error:
        return INVALID_SPEC, str(error)
    except Exception as error:  # a bug in kopfka: say so in the status
        logger.exception("parsing KafkaTopic %s failed", _key_text(body))
        return INTERNAL_ERROR, internal_error_message(error)


@dataclass
class Memory:
    """What the operator keeps between syncs (lost on restart; statuses say enough to go on).
    One sync of a cluster at a time (the caller's promise), and each touches its own keys."""

    # Per cluster: the held KafkaTopics, by namespace/name.
    held: dict[Key, dict[str, Held]] = field(default_factory=dict)
    job_failures: dict[Key, _JobFailures] = field(default_factory=dict)  # by cluster
    # Per cluster: (topic, action) the last Job did, and until when Kafka may not show them.
    recent: dict[Key, tuple[frozenset[tuple[str, str]], float]] = field(default_factory=dict)
    # Per cluster: what Kafka refused in a Job read, until a plan has held the KafkaTopics.
    refused: dict[Key, dict[str, str]] = field(default_factory=dict)
    # Per cluster: the status.topicName of the new KafkaTopics whose first status waits for the
    # Job that carries their work (by namespace/name), until that status is written.
    unwritten: dict[Key, dict[str, str]] = field(default_factory=dict)
    # Per cluster: its KafkaTopics' specs as parsed and checked against the cluster.
    specs: dict[Key, Specs] = field(default_factory=dict)
    # Per cluster: the configs of the topics the running Job creates, and of those the last Job
    # created (Kafka keeps a new topic's configs as given), until a sync has read Kafka.
    launched: dict[Key, dict[str, dict[str, str]]] = field(default_factory=dict)
    created: dict[Key, dict[str, dict[str, str]]] = field(default_factory=dict)
    # Clusters whose next sync reads every topic's configs: a full sync was asked for and has not
    # reached Kafka yet (a Job ran, Kafka was unreachable).
    full_pending: set[Key] = field(default_factory=set)

    def forget(self, key: Key) -> None:
        """The cluster is gone: nothing of it is kept."""
        remembered_all = (
            self.job_failures,
            self.held,
            self.recent,
            self.refused,
            self.unwritten,
            self.specs,
            self.launched,
            self.created,
        )
        for remembered in remembered_all:
            remembered.pop(key, None)
        self.full_pending.discard(key)


@dataclass(frozen=True)
class _KafkaView:
    """What a sync read from Kafka: the claimed topics, their own configs, registered brokers."""

    topics: Mapping[str, TopicFacts]
    configs: Mapping[str, Mapping[str, str]]
    brokers: int


@dataclass(frozen=True)
class _Report:
    """One KafkaTopic's Ready condition and facts (None: keep the facts it has)."""

    reason: str
    message: str
    generation: int
    _: KW_ONLY
    ready: bool = False
    facts: Mapping[str, Any] | None = None


def sync_topics(
    kube: Kube,
    key: Key,
    bodies: Sequence[Obj],
    *,
    settings: Settings,
    memory: Memory,
    now: str,
    clock: float,
    full: bool,
) -> float | None:
    """Sync the KafkaTopics `bodies` (as last seen) of the KafkaCluster `key` (namespace, name).
    `full`: read every topic's configs from Kafka (the periodic resync, which finds changes made
    in Kafka directly), in this sync or, if it ends before it reads Kafka, the next; otherwise a
    KafkaTopic that is Ready for its generation is taken to have the configs its status
    recorded. Returns how soon (seconds) to sync again without an event, or None."""
    return _ClusterSync(kube, key, bodies, settings, memory, now, clock, full).run()


@dataclass
class _ClusterSync:
    kube: Kube
    key: Key
    bodies: Sequence[Obj]
    settings: Settings
    memory: Memory
    now: str
    clock: float
    full: bool

    @property
    def wall(self) -> datetime.datetime:
        return datetime.datetime.strptime(self.now, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.UTC
        )

    def run(self) -> float | None:
        if self.full:
            self.memory.full_pending.add(self.key)
        self.full = self.key in self.memory.full_pending
        for body in self.bodies:
            if names.FINALIZER in (body["metadata"].get("finalizers") or []):
                # kopf's finalizer, which the timers of an older kopfka put on KafkaTopics:
                # kopf removed it while it watched them; nothing waits for it now.
                self._set_finalizer(body, present=False, finalizer=names.FINALIZER)
        namespace, cluster_name = self.key
        cluster_body = self.kube.get(names.API_VERSION, names.CLUSTER_KIND, cluster_name, namespace)
        if cluster_body is None or cluster_body["metadata"].get("deletionTimestamp"):
            self._cluster_gone()
            self.memory.forget(self.key)
            return None
        cluster, problem = _parse_cluster(cluster_body)
        if cluster is None:
            self.memory.specs.pop(self.key, None)
            self._write_reports(_cluster_invalid(self.bodies, problem))
            return None
        specs = self.memory.specs.get(self.key)
        if specs is None or specs.cluster_generation != _generation(cluster_body):
            specs = self.memory.specs[self.key] = Specs(_generation(cluster_body))
        specs.keep_only({body["metadata"]["uid"] for body in self.bodies})
        unwritten = self.memory.unwritten.get(self.key, {})
        resources, reports = _resources(self.bodies, cluster, specs, unwritten)
        planned = {resource.key for resource in resources}
        for body in self.bodies:
            if _key_text(body) in planned:
                self._keep_finalizer(body)
            elif body["metadata"].get("deletionTimestamp"):
                # A spec kopfka cannot read never made a topic in Kafka: nothing to delete.
                self._set_finalizer(body, present=False)
        if names.is_paused(cluster_body):
            message = (
                f"KafkaCluster {cluster_name} is paused ({names.PAUSED_ANNOTATION}): kopfka "
                "changes none of its topics meanwhile"
            )
            _report_all(resources, reports, CLUSTER_PAUSED, message, cluster=cluster)
            self._write_reports(reports)
            return None

        jobs = self.kube.list("batch/v1", "Job", namespace, names.topic_job_labels(cluster_name))
        if any(not job_ended(job) for job in jobs):
            self._write_reports(reports)  # what kopfka finds wrong without Kafka
            return None  # the Job's end syncs again
        self._read_ended_jobs(cluster_body, jobs)

        if not (cluster_body.get("status") or {}).get("clusterId"):
            message = f"KafkaCluster {cluster_name} has not started yet"
            _report_all(resources, reports, CLUSTER_NOT_READY, message, cluster=cluster)
            self._write_reports(reports)
            return None
        try:
            kafka = self._read_kafka(cluster, resources)
            if kafka is None:
                return METADATA_RETRY_SECONDS
        except KafkaUnavailable as error:
            reason, message = _unreachable(cluster_body, cluster, error)
            _report_all(resources, reports, reason, message, cluster=cluster)
            self._write_reports(reports)
            return self.settings.unreachable_retry_seconds
        return self._act(
            cluster_body=cluster_body,
            cluster=cluster,
            jobs=jobs,
            resources=resources,
            reports=reports,
            kafka=kafka,
        )

    def _act(
        self,
        *,
        cluster_body: Obj,
        cluster: ClusterSpec,
        jobs: Sequence[Obj],
        resources: Sequence[TopicResource],
        reports: dict[str, _Report],
        kafka: _KafkaView,
    ) -> float | None:
        """Plan from what Kafka has, start a Job for the work, write every status."""
        actual, configs, brokers = kafka.topics, kafka.configs, kafka.brokers
        plan = plan_topics(resources, actual=actual, configs=configs, cluster=cluster)
        decided = holds.apply_holds(
            plan,
            held=self._held(),
            refused=self.memory.refused.pop(self.key, {}),
            clock=self.clock,
            wall=self.wall,
            backoff=self.settings.refusal_backoff,
        )
        self.memory.held[self.key] = dict(decided.held)
        if self._waits_for_metadata(decided.work):
            return METADATA_RETRY_SECONDS

        verdicts = dict(decided.verdicts)
        retry = decided.next_retry(self.clock)
        work, short = _without_brokers_missing(decided.work, brokers)
        if short:
            verdicts = _waiting_for_brokers(verdicts, short, cluster, brokers)
            retry = _sooner(retry, BROKERS_RETRY_SECONDS)
        if work.has_work:
            waiting, job_retry = self._start_job(cluster_body, cluster, jobs, work)
            if waiting is not None:
                verdicts = _pending_say(verdicts, waiting)
            retry = _sooner(retry, job_retry)
        # A new KafkaTopic whose topic the Job creates gets its first status when Kafka has
        # answered: a status saying Creating first would double the API writes of a bulk apply,
        # which are most of what 10,000 new topics cost. What it would have recorded
        # (status.topicName) is kept meanwhile, so the next plan knows the topic as its own.
        fresh = {_key_text(body) for body in self.bodies if not _has_condition(body)}
        unwritten: dict[str, str] = {}
        for resource in resources:
            verdict = verdicts[resource.key]
            creating = verdict.reason == topic_plan.CREATING
            if resource.key in fresh and creating and verdict.topic_name:
                unwritten[resource.key] = verdict.topic_name
                continue
            reports[resource.key] = _report_of(verdict, actual, configs)
        self.memory.unwritten[self.key] = unwritten
        self._write_reports(reports)
        for body in self.bodies:
            released = verdicts.get(_key_text(body))
            if released is not None and released.release_finalizer:
                self._set_finalizer(body, present=False)
        return retry

    # --- the KafkaTopics ---

    def _cluster_gone(self) -> None:
        namespace, cluster_name = self.key
        message = f"KafkaCluster {cluster_name} does not exist in namespace {namespace}"
        self._write_reports(
            {
                _key_text(body): _Report(CLUSTER_NOT_FOUND, message, _generation(body))
                for body in self.bodies
                if not body["metadata"].get("deletionTimestamp")
            }
        )
        for body in self.bodies:
            metadata = body["metadata"]
            if metadata.get("deletionTimestamp") and names.TOPIC_FINALIZER in (
                metadata.get("finalizers") or []
            ):
                self.kube.post_event(
                    body,
                    warning=True,
                    reason="FinalizerReleased",
                    message=(
                        f"{message} (or is being deleted): its Kafka topic was not deleted; it "
                        "stays on the cluster's kept volumes, if any"
                    ),
                )
                self._set_finalizer(body, present=False)

    def _keep_finalizer(self, body: Obj) -> None:
        """A KafkaTopic with deletionPolicy delete has kopfka's finalizer; others need none."""
        if body["metadata"].get("deletionTimestamp"):
            return  # released by its verdict, not here
        wanted = (body.get("spec") or {}).get("deletionPolicy") == "delete"
        self._set_finalizer(body, present=wanted)

    def _set_finalizer(
        self, body: Obj, *, present: bool, finalizer: str = names.TOPIC_FINALIZER
    ) -> None:
        try:
            self.kube.set_finalizer(body, finalizer, present=present)
        except Conflict:
            logger.debug("%s changed meanwhile; its event syncs again", _key_text(body))

    def _held(self) -> dict[str, Held]:
        """The holds remembered, and after a restart those the statuses record."""
        held = dict(self.memory.held.get(self.key, {}))
        for body in self.bodies:
            if _key_text(body) in held:
                continue
            found = holds.held_from_status(
                body.get("status") or {},
                _generation(body),
                clock=self.clock,
                wall=self.wall,
                backoff=self.settings.refusal_backoff,
            )
            if found is not None:
                held[_key_text(body)] = found
        return held

    def _write_reports(self, reports: Mapping[str, _Report]) -> None:
        """Write the statuses that changed, several at a time: one API round trip each, and a
        cluster may have thousands of KafkaTopics. The first error is raised after the rest."""
        writes = []
        for body in self.bodies:
            report = reports.get(_key_text(body))
            if report is None:
                continue
            if body["metadata"].get("deletionTimestamp") and report.reason in _RELEASED_REASONS:
                continue  # released while being deleted: about to go, its status not written
            writes.append((body, report))
        if len(writes) <= 1:
            for body, report in writes:
                self._write_report(body, report)
            return
        call_each(
            _status_writers,
            lambda write: self._write_report(*write),
            writes,
            in_flight=STATUS_WRITES_IN_FLIGHT,
        )

    def _write_report(self, body: Obj, report: _Report) -> None:
        def status_of(current: Obj) -> dict[str, Any]:
            return status.topic_status(
                ready=report.ready,
                reason=report.reason,
                message=report.message,
                previous=current.get("status") or {},
                generation=report.generation,
                now=self.now,
                facts=report.facts,
            )

        try:
            write_status(self.kube, body, status_of)
        except StatusChurn as error:
            logger.info("%s; its next event syncs again", error)

    # --- Kafka ---

    def _read_kafka(
        self, cluster: ClusterSpec, resources: Sequence[TopicResource]
    ) -> _KafkaView | None:
        """The claimed topics Kafka has, their own configs, and how many brokers it has; None
        while the broker asked does not show the topics the last Job created or deleted yet."""
        claimed = {resource.claimed_topic for resource in resources}
        # Kafka describes every config of a topic (dozens each), so a sync of thousands of topics
        # would spend most of its time there: it asks only for the topics it has no settled
        # record of (the configs the last Job created topics with are such a record), except in
        # a full sync.
        created = self.memory.created.pop(self.key, {})
        recorded = {} if self.full else {**created, **settled_configs(self.bodies)}
        ensure_identity(
            self.kube,
            namespace=cluster.namespace,
            cluster=cluster.name,
            bootstrap=cluster.operator_bootstrap,
            internal_tls=cluster.internal_tls,
        )
        admin = self.settings.connect(cluster.operator_bootstrap)
        try:
            actual = {name: facts for name, facts in admin.topics().items() if name in claimed}
            if actual:
                moving = admin.reassignments()
                actual = {name: facts.settled(moving) for name, facts in actual.items()}
            if self._metadata_lags(actual):
                self.memory.created[self.key] = created
                return None
            unknown = [name for name in actual if name not in recorded]
            configs = admin.topic_configs(unknown) if unknown else {}
            self.memory.full_pending.discard(self.key)
            configs.update(
                (name, config) for name, config in recorded.items() if name in actual and config
            )
            brokers = len(admin.cluster().brokers)
        finally:
            admin.close()
        return _KafkaView(actual, configs, brokers)

    # --- Jobs ---

    def _read_ended_jobs(self, cluster_body: Obj, jobs: Sequence[Obj]) -> None:
        """Read the ended Jobs not read yet: Kafka's refusals per topic are kept until a plan
        holds the KafkaTopics that asked; a failed Job is reported and counts for the backoff
        before the next."""
        for job in jobs:
            annotations = job["metadata"].get("annotations") or {}
            if annotations.get(names.OUTCOMES_READ_ANNOTATION) == "true":
                continue
            logs = self._job_logs(job)
            refused = holds.refusals(logs)
            self.memory.refused.setdefault(self.key, {}).update(refused)
            done = frozenset((o.topic, o.action) for log in logs for o in log.outcomes if o.ok)
            self.memory.recent[self.key] = (done, self.clock + self.settings.metadata_lag_seconds)
            launched = self.memory.launched.pop(self.key, {})
            self.memory.created.setdefault(self.key, {}).update(
                (topic, launched[topic])
                for topic, action in done
                if action == "create" and topic in launched
            )
            failed = job_condition(job, "Failed")
            if failed is None:
                self.memory.job_failures.pop(self.key, None)
            else:
                self._job_failed(cluster_body, job, failed)
            for message in sorted(refused.values()):
                logger.info("KafkaCluster %s/%s: %s", *self.key, message)
            self.kube.add_metadata(job, annotations={names.OUTCOMES_READ_ANNOTATION: "true"})

    def _job_failed(self, cluster_body: Obj, job: Obj, failed: Mapping[str, Any]) -> None:
        before = self.memory.job_failures.get(self.key)
        attempts = before.attempts + 1 if before else 1
        wait = self.settings.job_backoff.after(attempts)
        name = job["metadata"]["name"]
        message = (
            f"topic Job {name} failed ({failed.get('reason')}: {failed.get('message')}); see "
            f"`kubectl logs -n {self.key[0]} job/{name}`"
        )
        self.memory.job_failures[self.key] = _JobFailures(attempts, self.clock + wait, message)
        metrics.job_failed(names.TOPIC_JOB_COMPONENT, job["metadata"]["uid"])
        self.kube.post_event(cluster_body, warning=True, reason="TopicJobFailed", message=message)

    def _job_logs(self, job: Obj) -> list[BatchLog]:
        metadata = job["metadata"]
        pods = self.kube.list("v1", "Pod", metadata["namespace"], {_JOB_POD_LABEL: metadata["uid"]})
        pods.sort(key=lambda pod: pod["metadata"]["creationTimestamp"])
        logs = []
        for pod in pods:
            text = self.kube.pod_log(pod["metadata"]["name"], metadata["namespace"])
            if text is not None:
                logs.append(read_batch_log(text))
        return logs

    def _metadata_lags(self, actual: Mapping[str, TopicFacts]) -> bool:
        """Whether the broker asked does not show yet a topic the last Job created, or still
        shows one it deleted: seen in the topic list, before the configs are read."""
        return any(
            (action == "create" and topic not in actual) or (action == "delete" and topic in actual)
            for topic, action in self._recent()
        )

    def _waits_for_metadata(self, work: TopicWork) -> bool:
        """Whether the work repeats what the last Job just did: a broker's metadata may lag
        behind the controller's for a moment, and a second Job would only be refused."""
        planned = {(create.name, "create") for create in work.creates}
        planned |= {(name, "partitions") for name in work.partition_increases}
        planned |= {(name, "config") for name in work.config_changes}
        planned |= {(name, "delete") for name in work.deletions}
        return bool(planned & self._recent())

    def _recent(self) -> frozenset[tuple[str, str]]:
        """(topic, action) the last Job did, while Kafka's metadata may still not show them."""
        done, until = self.memory.recent.get(self.key, (frozenset(), 0.0))
        if self.clock >= until:
            self.memory.recent.pop(self.key, None)
            return frozenset()
        return done

    def _start_job(
        self, cluster_body: Obj, cluster: ClusterSpec, jobs: Sequence[Obj], work: TopicWork
    ) -> tuple[str | None, float | None]:
        """Start the Job for `work`, after deleting the ended ones: (why it waits, or None when
        it started; seconds until it may start, or None)."""
        failures = self.memory.job_failures.get(self.key)
        if failures is not None and self.clock < failures.retry_at:
            wait = failures.retry_at - self.clock
            return f"the last {failures.message}; the next starts in {round(wait)} s", wait
        if self.settings.job_image is None:
            return (
                "the operator does not know its own image (KOPFKA_JOB_IMAGE), so it cannot "
                "start topic Jobs"
            ), None
        config_map, job = render_topic_job(
            cluster,
            work=work_file(work),
            bootstrap=cluster.operator_bootstrap,
            image=self.settings.job_image,
        )
        name = job["metadata"]["name"]
        try:
            with contextlib.suppress(Conflict):  # a sync that stopped before its Job made it
                self.kube.create(owned_by(config_map, cluster_body))
            self.kube.create(owned_by(job, cluster_body))
            metrics.JOBS_STARTED.labels(names.TOPIC_JOB_COMPONENT).inc()
        except Conflict:
            return None, None  # the same work's Job runs already
        except ApplyError as error:
            wait = self.settings.unreachable_retry_seconds
            return f"cannot start topic Job {name}: {error}", wait
        self.memory.launched[self.key] = {c.name: dict(c.config) for c in work.creates}
        self.kube.post_event(
            cluster_body, warning=False, reason="TopicJobStarted", message=_job_summary(name, work)
        )
        # The ended Jobs go once the next runs (their logs stay readable until then), with the
        # ConfigMaps of every Job but this one (also of Jobs their TTL removed).
        for old in jobs:
            self.kube.delete(old, background=True)
        labels = names.topic_job_labels(cluster.name)
        for config in self.kube.list("v1", "ConfigMap", cluster.namespace, labels):
            if config["metadata"]["name"] != name:
                self.kube.delete(config)
        return None, None


def _key_text(body: Obj) -> str:
    metadata = body["metadata"]
    return f"{metadata['namespace']}/{metadata['name']}"


def settled_configs(bodies: Sequence[Obj]) -> dict[str, dict[str, str]]:
    """topic -> its own configs, as recorded by the KafkaTopics that are Ready (InSync or
    Adopted) for their current generation and not being deleted: what a sync wrote from Kafka
    and has changed nothing since. Changes made in Kafka directly are found by a full sync."""
    settled: dict[str, dict[str, str]] = {}
    for body in bodies:
        metadata, status = body["metadata"], body.get("status") or {}
        config, name = status.get("config"), status.get("topicName")
        if (
            metadata.get("deletionTimestamp")
            or status.get("observedGeneration") != _generation(body)
            or not isinstance(config, dict)
            or not isinstance(name, str)
        ):
            continue
        ready = ready_condition(status)
        if ready is not None and ready.get("status") == "True":
            settled[name] = {str(key): str(value) for key, value in config.items()}
    return settled


def _has_condition(body: Obj) -> bool:
    return bool((body.get("status") or {}).get("conditions"))


def _generation(body: Obj) -> int:
    return int(body["metadata"].get("generation") or 0)


def _sooner(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _parse_cluster(body: Obj) -> tuple[ClusterSpec | None, str]:
    metadata = body["metadata"]
    try:
        spec = parse_cluster(
            metadata["name"],
            metadata["namespace"],
            body.get("spec") or {},
            size_defaults=(body.get("status") or {}).get("sizeDefaults"),
        )
    except SpecError as error:
        return None, f"KafkaCluster {metadata['name']}: {error}"
    return spec, ""


def _unreachable(cluster_body: Obj, cluster: ClusterSpec, error: Exception) -> tuple[str, str]:
    ready = next(
        (
            c
            for c in (cluster_body.get("status") or {}).get("conditions") or []
            if c.get("type") == "Ready"
        ),
        None,
    )
    where = f"Kafka at {cluster.operator_bootstrap} cannot be reached ({error})"
    if ready is None or ready.get("status") != "True":
        detail = f": {ready.get('message')}" if ready and ready.get("message") else ""
        return CLUSTER_NOT_READY, f"KafkaCluster {cluster.name} is not ready{detail}; {where}"
    return KAFKA_UNREACHABLE, f"{where}; kopfka tries again shortly"


def _cluster_invalid(bodies: Sequence[Obj], problem: str) -> dict[str, _Report]:
    """Each KafkaTopic of an invalid cluster says so, unless its own spec is invalid too."""
    reports = {}
    for body in bodies:
        found = _parse_spec(body)
        reason, message = found if isinstance(found, tuple) else (CLUSTER_INVALID, problem)
        reports[_key_text(body)] = _Report(reason, message, _generation(body))
    return reports


def _resources(
    bodies: Sequence[Obj], cluster: ClusterSpec, specs: Specs, unwritten: Mapping[str, str]
) -> tuple[list[TopicResource], dict[str, _Report]]:
    """The KafkaTopics the planner takes, and reports of those it cannot (an invalid spec).
    `unwritten`: the status.topicName of KafkaTopics whose first status is not written yet
    (Memory.unwritten)."""
    resources: list[TopicResource] = []
    reports: dict[str, _Report] = {}
    for body in bodies:
        metadata = body["metadata"]
        key = _key_text(body)
        parsed = specs.parsed(body, cluster)
        if isinstance(parsed[0], str):
            reports[key] = _Report(parsed[0], str(parsed[1]), _generation(body))
            continue
        spec, problems = parsed
        resources.append(
            TopicResource(
                metadata["namespace"],
                metadata["name"],
                uid=metadata["uid"],
                created=metadata["creationTimestamp"],
                generation=_generation(body),
                spec=spec,
                recorded_topic_name=(body.get("status") or {}).get("topicName")
                or unwritten.get(key),
                deleting=bool(metadata.get("deletionTimestamp")),
                problems=problems,
            )
        )
    return resources, reports


def _report_all(
    resources: Sequence[TopicResource],
    reports: dict[str, _Report],
    reason: str,
    message: str,
    *,
    cluster: ClusterSpec,
) -> None:
    """Without Kafka's view every KafkaTopic gets `reason`, except those kopfka refuses whatever
    Kafka has (an invalid spec, a conflict, a changed topicName): they say that instead."""
    refused = plan_topics(resources, actual={}, configs={}, cluster=cluster).verdicts
    for resource in resources:
        verdict = refused[resource.key]
        if verdict.state is State.REFUSED:
            reports[resource.key] = _Report(verdict.reason, verdict.message, verdict.generation)
        else:
            reports[resource.key] = _Report(reason, message, resource.generation)


def _report_of(
    verdict: Verdict, actual: Mapping[str, TopicFacts], configs: Mapping[str, Mapping[str, str]]
) -> _Report:
    facts: dict[str, Any] = {}
    name = verdict.topic_name
    if name is not None:
        facts["topicName"] = name
        found = actual.get(name)
        if found is not None:
            facts.update(
                topicId=found.topic_id,
                partitions=len(found.partitions),
                replicationFactor=found.replication_factor,
                config=dict(configs.get(name, {})),
            )
    return _Report(
        verdict.reason, verdict.message, verdict.generation, ready=verdict.ready, facts=facts
    )


def _job_summary(name: str, work: TopicWork) -> str:
    parts = [
        f"{len(work.creates)} to create" if work.creates else "",
        f"{len(work.partition_increases)} to grow" if work.partition_increases else "",
        f"{len(work.config_changes)} to reconfigure" if work.config_changes else "",
        f"{len(work.deletions)} to delete" if work.deletions else "",
    ]
    return f"topic Job {name} started: {', '.join(part for part in parts if part)} topics"


# How soon to look again while the broker asked lags behind what the last Job did.
METADATA_RETRY_SECONDS = 1.0
# How soon to look again while a new topic waits for brokers to register with Kafka.
BROKERS_RETRY_SECONDS = 5.0


def _without_brokers_missing(work: TopicWork, brokers: int) -> tuple[TopicWork, dict[str, int]]:
    """The work without the creates that need more brokers than Kafka has registered (a cluster
    that is starting, or a broker that is down): Kafka would refuse them. Topic -> its factor."""
    short = {c.name: c.replication_factor for c in work.creates if c.replication_factor > brokers}
    return holds.without(work, short.keys()), short


def _waiting_for_brokers(
    verdicts: Mapping[str, Verdict], short: Mapping[str, int], cluster: ClusterSpec, brokers: int
) -> dict[str, Verdict]:
    """The creates left out for want of brokers say so (ClusterNotReady: it passes by itself)."""
    waiting = dict(verdicts)
    for key, verdict in verdicts.items():
        factor = short.get(verdict.topic_name or "")
        if verdict.state is not State.PENDING or factor is None:
            continue
        waiting[key] = replace(
            verdict,
            reason=CLUSTER_NOT_READY,
            message=(
                f"{verdict.message}; waiting: replication factor {factor} needs that many "
                f"brokers, and {brokers} of the {cluster.broker_count} brokers of KafkaCluster "
                f"{cluster.name} are registered in Kafka"
            ),
        )
    return waiting


def _pending_say(verdicts: Mapping[str, Verdict], waiting: str) -> dict[str, Verdict]:
    """Pending verdicts say why no Job carries their change yet. A replication factor change
    keeps its reason, which hands it to the cluster's rebalance: that goes ahead without the
    topic Job."""
    return {
        key: replace(verdict, reason=JOB_FAILED, message=f"{verdict.message}; waiting: {waiting}")
        if verdict.state is State.PENDING
        and verdict.reason != topic_plan.REPLICATION_FACTOR_CHANGING
        else verdict
        for key, verdict in verdicts.items()
    }
