"""Keeps a cluster's partition replicas balanced over its brokers: after brokers came, before
brokers leave, and when the `kopfka.dev/rebalance` annotation asks.

The operator reads Kafka to plan (rebalance/plan.py, the fewest moves to balance) and to report;
the moves run as a rebalance Job (render/rebalance_job.py) whose pod and log people can see.
`status.rebalance` records what was decided, so that an operator that restarts resumes:

- `balancedBrokers`: the brokers the last finished rebalance balanced over. A cluster that has no
  record yet (new, or made by an older kopfka) is recorded as it is, without moving anything.
  Another set of brokers (a scale-up) starts a rebalance once the new brokers have joined.
- `job`, `moves`, `done`: the rebalance Job running, the replicas it moves, how many of its
  partitions Kafka shows at their target. While it runs, nothing is planned again; when it ends,
  the plan is made again from what Kafka then has (topics may have come meanwhile).
- `leaving`, `drained`, `unregister`: a scale-down. The StatefulSet keeps the brokers that leave
  (`brokers_to_run`) until a rebalance has moved every replica off them and Kafka shows them
  empty (`drained`); only then does it shrink. Once a removed broker's pod is gone, a Job of
  Kafka's own `kafka-cluster unregister` removes it from the KRaft metadata (`unregister` lists
  those still to do). A scale-down the brokers left cannot hold (a partition with more replicas
  than them) is refused, and nothing moves.
- `requested`: the `kopfka.dev/rebalance` value last handled; a new value asks for a rebalance even
  when the brokers did not change, and retries after a failed rebalance Job.

A KafkaTopic whose replication factor differs from its spec is another reason: the topic sync
(kopfka.topics.sync), which decides which KafkaTopic owns which topic, says so with the reason
`ReplicationFactorChanging`, and the next plan asks for that factor for the topic's partitions.
When the Job has ended, the topic sync reads Kafka again and the KafkaTopic becomes Ready.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kopfka import metrics
from kopfka.k8s.client import ApplyError, Conflict, Kube, Obj
from kopfka.kafka.admin import UNREACHABLE_SECONDS, Connect, KafkaAdmin, unreachable
from kopfka.live.jobs import Phase, Progress, Started, kafkas_answer, run_tool_job
from kopfka.model import names
from kopfka.model.cluster import ClusterSpec
from kopfka.model.status import pod_ready
from kopfka.rebalance.plan import Broker, Kind, Partition, Plan, place_replicas
from kopfka.rebalance.progress import Progress as RebalanceProgress
from kopfka.rebalance.progress import progress
from kopfka.rebalance.wire import RebalanceWork, read_work_file, work_file
from kopfka.render.cluster import owned_by
from kopfka.render.operator_job import WORK_KEY, JobImage
from kopfka.render.rebalance_job import render_rebalance_job
from kopfka.render.unregister_job import UNREGISTER_JOB_COMPONENT, render_unregister_job
from kopfka.topics.plan import REPLICATION_FACTOR_CHANGING

logger = logging.getLogger(__name__)

POLL_SECONDS = 10.0
# The fields of status.rebalance about the running Job.
_JOB_FIELDS = ("job", "moves", "partitions", "done", "bytesLeft")


@dataclass(frozen=True)
class Balance:
    """A pass of keep_balanced: its Progress, and whether the StatefulSet may shrink now."""

    progress: Progress
    shrink: bool = False


def brokers_to_run(spec: ClusterSpec, running: int, previous: dict[str, Any]) -> int:
    """How many broker pods the StatefulSet keeps, with `running` its replicas now and `previous`
    the KafkaCluster's status: the spec's count, except that brokers a scale-down removes stay
    until a rebalance drained them."""
    pool = spec.broker_pool
    if pool.role.is_controller or running <= pool.replicas:
        return pool.replicas
    drained = set((previous.get("rebalance") or {}).get("drained") or ())
    leaving = {pool.node_id(ordinal) for ordinal in range(pool.replicas, running)}
    return pool.replicas if leaving <= drained else running


def factor_changes(topics: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Kafka topic -> replication factor, for each of `topics` (KafkaTopics) whose last topic sync
    left a change of its replication factor to the rebalance, for its current spec."""
    found: dict[str, int] = {}
    for topic in topics:
        status = topic.get("status") or {}
        ready = next((c for c in status.get("conditions") or () if c.get("type") == "Ready"), None)
        factor = (topic.get("spec") or {}).get("replicationFactor")
        name = status.get("topicName")
        if (
            ready is not None
            and ready.get("reason") == REPLICATION_FACTOR_CHANGING
            and status.get("observedGeneration") == topic["metadata"].get("generation")
            and isinstance(factor, int)
            and isinstance(name, str)
        ):
            found[name] = factor
    return dict(sorted(found.items()))


def keep_balanced(
    kube: Kube,
    body: Obj,
    spec: ClusterSpec,
    pods: Sequence[Obj],
    *,
    running: int,
    roll_over: bool,
    topics: Sequence[Obj],
    connect: Connect,
    image: JobImage | None,
) -> Balance:
    """One step toward balanced brokers; `running` is the broker StatefulSet's replicas and
    `topics` the cluster's KafkaTopics, as last seen."""
    balance = _Pass(
        kube,
        body,
        spec,
        pods,
        running=running,
        roll_over=roll_over,
        factors=factor_changes(topics),
        connect=connect,
        image=image,
    ).run()
    found = balance.progress.status
    pending = (
        int(found.get("partitions") or 0) - int(found.get("done") or 0) if "job" in found else 0
    )
    metrics.rebalance_pending(spec.namespace, spec.name, max(pending, 0))
    return balance


class _Pass:
    def __init__(
        self,
        kube: Kube,
        body: Obj,
        spec: ClusterSpec,
        pods: Sequence[Obj],
        *,
        running: int,
        roll_over: bool,
        factors: dict[str, int],
        connect: Connect,
        image: JobImage | None,
    ) -> None:
        self.kube, self.body, self.spec, self.pods = kube, body, spec, pods
        self.roll_over, self.factors, self.connect, self.image = roll_over, factors, connect, image
        self.previous: dict[str, Any] = dict((body.get("status") or {}).get("rebalance") or {})
        pool = spec.broker_pool
        self.staying = list(pool.node_ids)
        self.leaving = (
            []
            if pool.role.is_controller
            else [pool.node_id(ordinal) for ordinal in range(pool.replicas, running)]
        )
        annotations = body["metadata"].get("annotations") or {}
        requested = annotations.get(names.REBALANCE_ANNOTATION)
        self.requested = None if requested is None else str(requested)

    def run(self) -> Balance:
        previous = self.previous
        unregister = [b for b in previous.get("unregister") or () if b not in self.staying]
        if unregister:
            return self._unregister(unregister)
        previous = _without(previous, "unregister")
        if not self.leaving:  # none leave, or the scale-down was taken back before they went
            previous = _without(previous, "leaving", "drained")
        self.previous = previous
        if "balancedBrokers" not in previous and not self.leaving:
            return Balance(Progress({**previous, "balancedBrokers": self.staying}))
        if previous.get("job"):
            return self._follow_job(previous["job"])
        if not self._wanted():
            return Balance(Progress(previous))
        waiting = self._not_ready()
        if waiting:
            return self._pending(waiting)
        return self._plan_and_start()

    def _wanted(self) -> bool:
        previous = self.previous
        return bool(
            self.leaving
            or previous.get("balancedBrokers") != self.staying
            or (self.requested is not None and self.requested != previous.get("requested"))
            or self.factors
        )

    def _what(self) -> str:
        if self.leaving:
            return f"draining broker(s) {_ids(self.leaving)} before they are removed"
        if self.previous.get("balancedBrokers") != self.staying:
            return f"rebalancing onto brokers {_ids(self.staying)}"
        if self.requested is not None and self.requested != self.previous.get("requested"):
            return f"the rebalance {names.REBALANCE_ANNOTATION}={self.requested} asks for"
        if self.factors:
            changes = ", ".join(f"{topic} to {factor}" for topic, factor in self.factors.items())
            return f"changing the replication factor of topic(s) {changes}"
        # A Job that runs on after what asked for it is done (a KafkaTopic that became Ready
        # once Kafka had its factor, while the Job still removes its throttles).
        return "moving replicas"

    def _not_ready(self) -> str | None:
        by_name = {pod["metadata"]["name"]: pod for pod in self.pods}
        brokers = [*self.staying, *self.leaving]
        unready = [
            name
            for node_id in brokers
            if not pod_ready(by_name.get(name := _pod_of(self.spec, node_id), {}))
        ]
        if unready:
            return f"waits for {', '.join(unready)} to be ready"
        return None if self.roll_over else "waits for the rolling restart to finish"

    def _pending(self, why: str, *, again: float | None = POLL_SECONDS) -> Balance:
        message = f"{self._what()} {why}"
        return Balance(Progress(self.previous, ("RebalancePending", message), again=again))

    def _read(self) -> tuple[Plan, dict[int, str | None]] | str:
        """The plan from what Kafka has, or why Kafka cannot be read."""
        bootstrap = self.spec.operator_bootstrap
        if unreachable.recently(bootstrap):
            return "waits for Kafka, which could not be read a moment ago"
        try:
            admin = self.connect(bootstrap)
            try:
                facts = admin.cluster()
                topics = admin.topics()
            finally:
                admin.close()
        except Exception as error:  # unreachable, or Kafka answered and then failed
            unreachable.mark(bootstrap, reachable=False)
            return f"waits for Kafka, which cannot be read ({error})"
        racks = {broker.node_id: broker.rack for broker in facts.brokers}
        missing = [node_id for node_id in self.staying if node_id not in racks]
        if missing:
            return f"waits for broker(s) {_ids(missing)} to join the cluster"
        partitions = [
            Partition(
                topic.name,
                partition.partition,
                partition.replicas,
                factor=self.factors.get(topic.name),
            )
            for topic in topics.values()
            for partition in topic.partitions
        ]
        brokers = [Broker(node_id, racks.get(node_id)) for node_id in self.staying] + [
            Broker(node_id, racks.get(node_id), leaving=True) for node_id in self.leaving
        ]
        return place_replicas(partitions, brokers), racks

    def _plan_and_start(self) -> Balance:
        found = self._read()
        if isinstance(found, str):
            return self._pending(found, again=UNREACHABLE_SECONDS)
        plan, _ = found
        previous = {**self.previous, "leaving": self.leaving} if self.leaving else self.previous
        if plan.kind is Kind.REFUSED:
            if self.leaving:
                message = (
                    f"brokers {_ids(self.leaving)} cannot be removed: {plan.message}; nothing "
                    f"was moved or removed (set brokers.replicas back to "
                    f"{len(self.staying) + len(self.leaving)}, or lower those replication factors)"
                )
            else:
                message = f"cannot rebalance: {plan.message}"
            return Balance(Progress(previous, ("RebalanceRefused", message)))
        if not plan.reassignments:
            return self._balanced(previous)
        return self._start(previous, plan)

    def _balanced(self, previous: dict[str, Any]) -> Balance:
        found = {**_without(previous, *_JOB_FIELDS), "balancedBrokers": self.staying}
        if self.requested is not None:
            found["requested"] = self.requested
        if not self.leaving:
            return Balance(Progress(_without(found, "leaving")))
        found.update(drained=self.leaving, unregister=self.leaving)
        message = f"broker(s) {_ids(self.leaving)} hold no replicas any more; removing them"
        self.kube.post_event(self.body, warning=False, reason="BrokersDrained", message=message)
        return Balance(Progress(found, ("ScalingDown", message), again=POLL_SECONDS), shrink=True)

    def _start(self, previous: dict[str, Any], plan: Plan) -> Balance:
        if self.image is None:
            message = (
                "the operator does not know its own image (KOPFKA_JOB_IMAGE), so it cannot start "
                "rebalance Jobs"
            )
            return Balance(Progress(previous, ("RebalanceRefused", f"{self._what()}: {message}")))
        work = work_file(
            RebalanceWork.of(
                plan.reassignments,
                wave_size=self.spec.rebalance.wave_size,
                throttle=self.spec.rebalance.throttle_bytes_per_second,
            )
        )
        config_map, job = render_rebalance_job(
            self.spec, work=work, bootstrap=self.spec.operator_bootstrap, image=self.image
        )
        name = job["metadata"]["name"]
        labels = names.rebalance_job_labels(self.spec.name)
        for old in self.kube.list("batch/v1", "Job", self.spec.namespace, labels):
            if old["metadata"]["name"] != name:
                self.kube.delete(old, background=True)
        for old in self.kube.list("v1", "ConfigMap", self.spec.namespace, labels):
            if old["metadata"]["name"] != name:
                self.kube.delete(old)
        status = {
            **previous,
            "job": name,
            "moves": len(plan.moves),
            "partitions": len(plan.reassignments),
            "done": 0,
        }
        if self.requested is not None:
            status["requested"] = self.requested
        # The Job first in status: an operator that stops after starting it follows it.
        self.kube.patch_status(self.body, {"rebalance": status})
        try:
            self.kube.create(owned_by(config_map, self.body))
        except Conflict:
            pass  # an earlier pass made it and stopped before its Job
        except ApplyError as error:
            return self._pending(f"waits: a rebalance Job cannot be started ({error})")
        try:
            self.kube.create(owned_by(job, self.body))
        except Conflict:
            pass  # the same work's Job runs already
        except ApplyError as error:
            return self._pending(f"waits: a rebalance Job cannot be started ({error})")
        else:
            metrics.JOBS_STARTED.labels(names.REBALANCE_JOB_COMPONENT).inc()
            message = (
                f"rebalance Job {name} started, {self._what()}: {len(plan.moves)} replica "
                f"move(s) over {len(plan.reassignments)} partition(s); {plan.message}"
            )
            self.kube.post_event(
                self.body, warning=False, reason="RebalanceStarted", message=message
            )
        text = f"{self._what()}: {len(plan.moves)} replica move(s) (Job {name})"
        return Balance(Progress(status, ("Rebalancing", text), again=POLL_SECONDS))

    def _follow_job(self, name: str) -> Balance:
        previous = self.previous
        # Listed, not read by name: the operator may list and watch Jobs, not get them.
        labels = names.rebalance_job_labels(self.spec.name)
        jobs = self.kube.list("batch/v1", "Job", self.spec.namespace, labels)
        job = next((j for j in jobs if j["metadata"]["name"] == name), None)
        conditions = {
            c.get("type"): c.get("status")
            for c in ((job or {}).get("status") or {}).get("conditions") or []
        }
        if job is None or conditions.get("Complete") == "True":
            # Gone (someone deleted it, or its TTL) or done: plan again from what Kafka has.
            self.previous = _without(previous, *_JOB_FIELDS)
            if job is not None:  # kept for people to read until the next one starts
                self.kube.post_event(
                    self.body,
                    warning=False,
                    reason="RebalanceJobFinished",
                    message=f"rebalance Job {name} finished",
                )
            waiting = self._not_ready()
            if waiting:
                return self._pending(waiting)
            return self._plan_and_start()
        if conditions.get("Failed") == "True":
            if self.requested is not None and self.requested != previous.get("requested"):
                self.kube.delete(job, background=True)  # asked to try again
                self.previous = _without(previous, *_JOB_FIELDS)
                return self._plan_and_start()
            answer = kafkas_answer(self.kube, job)
            message = (
                f"rebalance Job {name} failed: {answer} (see `kubectl logs -n "
                f"{self.spec.namespace} job/{name}`); set a new value of "
                f"{names.REBALANCE_ANNOTATION} on the KafkaCluster to try again"
            )
            return Balance(Progress(previous, ("RebalanceFailed", message)))
        found = self._progress(name)
        status = previous
        if found is not None:
            status = {**previous, "done": found.done, "bytesLeft": found.bytes_left}
        text = (
            f"{self._what()}: {status.get('done', 0)} of {status.get('partitions', '?')} "
            f"partitions at their target, {_mib(status.get('bytesLeft'))} left to copy "
            f"(Job {name})"
        )
        return Balance(Progress(status, ("Rebalancing", text), again=POLL_SECONDS))

    def _progress(self, name: str) -> RebalanceProgress | None:
        """How far the Job's work is, as Kafka shows it, or None when that cannot be read."""
        config_map = self.kube.get("v1", "ConfigMap", name, self.spec.namespace)
        data = ((config_map or {}).get("binaryData") or {}).get(WORK_KEY)
        if not data:
            return None
        try:
            work = read_work_file(base64.b64decode(data))
        except ValueError:
            return None
        bootstrap = self.spec.operator_bootstrap
        try:
            admin: KafkaAdmin = self.connect(bootstrap)
            try:
                topics = admin.topics({target.topic for target in work.moves})
                sizes = admin.replica_sizes(target.key for target in work.moves)
            finally:
                admin.close()
        except Exception:  # progress is for people; the Job's end is what counts
            return None
        replicas = {
            (topic.name, partition.partition): partition.replicas
            for topic in topics.values()
            for partition in topic.partitions
        }
        return progress(work.moves, replicas, sizes)

    def _unregister(self, brokers: list[int]) -> Balance:
        previous = {**self.previous, "unregister": brokers}
        present = {pod["metadata"]["name"] for pod in self.pods}
        broker = brokers[0]
        pod = _pod_of(self.spec, broker)
        if pod in present:
            message = f"broker {broker} is drained; waiting for its pod {pod} to stop"
            return Balance(Progress(previous, ("ScalingDown", message), again=POLL_SECONDS))
        job = owned_by(
            render_unregister_job(self.spec, broker, bootstrap=self.spec.operator_bootstrap),
            self.body,
        )
        name = job["metadata"]["name"]
        state = run_tool_job(
            self.kube,
            self.body,
            job,
            component=UNREGISTER_JOB_COMPONENT,
            started=Started(
                reason="UnregisterJobStarted",
                message=f"unregister Job {name} started: removing broker {broker} from the "
                "KRaft metadata now that its pod is gone",
            ),
        )
        if state.phase is Phase.DONE:
            rest = brokers[1:]
            self.kube.post_event(
                self.body,
                warning=False,
                reason="BrokerUnregistered",
                message=f"broker {broker} was unregistered; its volume claim is kept",
            )
            status = (
                {**previous, "unregister": rest}
                if rest
                else _without(previous, "unregister", "drained", "leaving")
            )
            if rest:
                message = f"unregistering broker(s) {_ids(rest)}"
                return Balance(Progress(status, ("ScalingDown", message), again=POLL_SECONDS))
            return Balance(Progress(status))
        if state.phase is Phase.FAILED:
            message = (
                f"Kafka refused to unregister broker {broker}: {state.answer} (see `kubectl logs "
                f"-n {self.spec.namespace} job/{name}`)"
            )
            return Balance(Progress(previous, ("UnregisterFailed", message)))
        message = f"unregistering broker {broker} (Job {name})"
        return Balance(Progress(previous, ("ScalingDown", message), again=POLL_SECONDS))


def _mib(size: object) -> str:
    return f"{int(size) / 2**20:.1f} MiB" if isinstance(size, int) else "an unknown amount"


def _pod_of(spec: ClusterSpec, node_id: int) -> str:
    pool = spec.broker_pool
    return names.pod_name(spec.name, pool.role, node_id - pool.role.node_id_base)


def _without(status: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in status.items() if key not in keys}


def _ids(node_ids: Sequence[int]) -> str:
    return ", ".join(str(node_id) for node_id in node_ids)
