"""Benchmark: 10,000 KafkaTopics applied at once, then 20,000: how long until kopfka has made every
topic in Kafka and says so, in how many Jobs, with how much operator memory and how many API writes.

Issue 11's goals: 10,000 KafkaTopics Ready within 2 minutes of the apply with the operator under
150 MB, and 20,000 without failure. Measured per size, each on a fresh cluster and a fresh operator:

- seconds_to_all_ready: from the first create request until the benchmark's watch has seen every
  KafkaTopic Ready=True for its current generation (the apply itself included: `apply_seconds`);
- jobs: the distinct topic Jobs the operator made for the cluster meanwhile (a watch of Jobs);
- operator_rss_mib_peak: the operator process's peak resident memory, as the kernel counts it
  (VmHWM, reset when the run starts), read on this host where the e2e node runs the pod;
- api_writes_per_topic: the kube-apiserver's own count of writes to KafkaTopics
  (apiserver_request_total, every write verb and subresource) over the run, the benchmark's creates
  taken out, divided by the number of topics.

Then it checks what it measured: every KafkaTopic's status against Kafka (TopicCommand --describe
in a client pod: each topic there, 1 partition, 3 replicas in sync, the topic id the status says).

The reference column (`peer`, and kopfka's time and memory over its own: `time_ratio`, `rss_ratio`,
goal at most 0.5 each): for each size of --peer-sizes (10,000), right after kopfka's run of it,
bench/topics_peer.py runs Strimzi's topic operator with the same topics on a fresh cluster of the
same spec, if `make bench-peer-strimzi` has built it (else `peer` says it was skipped, and why).

kopfka is installed with its chart as release `kopfka-topics-bench` in `kopfka-topics-bench-system`,
watching only `kopfka-topics-bench`, where each size gets its own KafkaCluster (3 dedicated
controllers + 3 brokers, ephemeral storage) and the KafkaTopics (partitions 1, the cluster's default
replication factor 3, deletionPolicy retain). Between sizes the KafkaTopics are deleted (one
delete-collection request), the cluster is removed fast and the operator restarted, so that no size
inherits Kafka's topics or the operator's heap from the one before: cleanup, not measurement.
Everything it starts is removed at the end, also on failure or Ctrl-C/SIGTERM; every wait has a
deadline. Needs root and the e2e node (`make bench-topics` brings it up).

    python -m bench.topics [--sizes 10000,20000] [--output FILE] [--ready-timeout 1200] ...
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime
import json
import os
import re
import shlex
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes
import urllib3
import yaml
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from bench.e2e import (
    _busy_seconds,
    git_commit,
    node_kube,
    pod_cgroups,
    python_command,
    ready_now,
    signals_ignored,
)
from bench.kafka_throughput import _terminate, machine, wait_quiet
from bench.node import wait_alone
from e2e.suite.kafka_client import HEAP as TOOL_HEAP
from e2e.suite.kafka_client import KafkaClient
from e2e.suite.test_cluster_lifecycle import EXAMPLE, fit_to_node
from kopfka.model import names
from kopfka.model.cluster import parse_cluster
from tests.support.chart import CHART, HelmError, helm
from tests.support.clusters import CLUSTER_LABEL, children, wait_ready
from tests.support.kube import KubectlError, Obj, TestKube, condition
from tests.support.waiting import Timeout, wait_for

REPO = Path(__file__).resolve().parents[1]
RELEASE = "kopfka-topics-bench"
OPERATOR_NAMESPACE = "kopfka-topics-bench-system"
NAMESPACE = "kopfka-topics-bench"
OUR_NAMESPACES = (NAMESPACE, OPERATOR_NAMESPACE)
OPERATOR_LABELS = {"app.kubernetes.io/instance": RELEASE, "app.kubernetes.io/component": "operator"}
TOPIC_PREFIX = "bench-"
REPLICATION_FACTOR = 3  # the cluster's default.replication.factor (the production example's)
EPHEMERAL_LIMIT = "2Gi"
HELM_WAIT = "180s"
# Deleting 10,000 KafkaTopics (one delete-collection request) took over 300 s on a busy 2-core
# host: the API server deletes them one by one, and every watch (the operator's) sees each.
GONE_TIMEOUT = 900.0
JOBS_END_TIMEOUT = 300.0
OPERATOR_TIMEOUT = 100.0  # within kubectl's own timeout (tests.support.kube)
# Each watch request's length: a watcher stops within it; the next resumes from where it was.
WATCH_SECONDS = 10
SAMPLE_SECONDS = 1.0
PROGRESS_SECONDS = 10.0
CREATE_ATTEMPTS = 5
CREATE_RETRY_SECONDS = 0.5
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
GOAL_TOPICS, GOAL_SECONDS, GOAL_RSS_BYTES = 10_000, 120.0, 150_000_000
# Write verbs as apiserver_request_total names them: custom resources' CREATE and UPDATE are
# built-in resources' POST and PUT; APPLY is a server-side apply PATCH.
CREATE_VERBS = frozenset({"CREATE", "POST"})
WRITE_VERBS = CREATE_VERBS | {"UPDATE", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION"}
MIB = 1024 * 1024
CGROUP_ROOT = Path("/sys/fs/cgroup")
PEER_TIME_RATIO_GOAL = PEER_RSS_RATIO_GOAL = 0.5  # kopfka / the reference: at most half


# -- the operator's memory and CPU, read on this host -------------------------------------------


def _proc_status_kib(pid: int, key: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    return 0


def _container_cgroup(controller: str, pod_uid: str, container_id: str) -> Path | None:
    """A container's cgroup directory on this node (cgroupfs driver): `controller` on cgroup v1,
    the unified hierarchy on v2."""
    root = CGROUP_ROOT / controller / "kubepods"
    if not root.is_dir():
        root = CGROUP_ROOT / "kubepods"
    for qos in ("", "burstable", "besteffort"):
        path = root / qos / f"pod{pod_uid}" / container_id
        if path.is_dir():
            return path
    return None


@dataclass
class Operator:
    """The operator container of the benchmark's release: its processes' memory and CPU."""

    pod: str
    restarts: int
    memory: Path | None  # its memory cgroup
    cpu: Path | None  # its CPU accounting cgroup

    @classmethod
    def find(cls, kube: TestKube) -> Operator:
        pods = [
            pod
            for pod in kube.list("v1", "Pod", OPERATOR_NAMESPACE, OPERATOR_LABELS)
            if not pod["metadata"].get("deletionTimestamp")
        ]
        if len(pods) != 1:
            raise RuntimeError(f"{len(pods)} operator pods in {OPERATOR_NAMESPACE}, not 1")
        pod = pods[0]
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        status = next(s for s in statuses if s["name"] == "operator")
        container_id = str(status.get("containerID", "")).split("://")[-1]
        uid = pod["metadata"]["uid"]
        return cls(
            pod=pod["metadata"]["name"],
            restarts=int(status.get("restartCount", 0)),
            memory=_container_cgroup("memory", uid, container_id),
            cpu=_container_cgroup("cpuacct", uid, container_id),
        )

    def pids(self) -> list[int]:
        with contextlib.suppress(OSError):
            if self.memory is not None:
                return [int(pid) for pid in (self.memory / "cgroup.procs").read_text().split()]
        return []

    def rss_bytes(self) -> int:
        return sum(_proc_status_kib(pid, "VmRSS") for pid in self.pids()) * 1024

    def peak_rss_bytes(self) -> int:
        """VmHWM: the kernel's peak resident memory of each process since it started or since
        reset_peaks()."""
        return sum(_proc_status_kib(pid, "VmHWM") for pid in self.pids()) * 1024

    def reset_peaks(self) -> dict[str, bool]:
        """Start the peaks afresh: VmHWM (clear_refs 5) and, on cgroup v1, the cgroup's
        max_usage_in_bytes; whether each worked."""
        done = {"rss": False, "cgroup": False}
        with contextlib.suppress(OSError):
            for pid in self.pids():
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            done["rss"] = bool(self.pids())
        with contextlib.suppress(OSError):
            if self.memory is not None and (self.memory / "memory.max_usage_in_bytes").exists():
                (self.memory / "memory.max_usage_in_bytes").write_text("0")
                done["cgroup"] = True
        return done

    def cgroup_peak_bytes(self) -> int | None:
        """The container cgroup's peak memory (page cache included: what its limit counts)."""
        if self.memory is None:
            return None
        for file_name in ("memory.max_usage_in_bytes", "memory.peak"):
            with contextlib.suppress(OSError, ValueError):
                return int((self.memory / file_name).read_text())
        return None

    def cpu_seconds(self) -> float | None:
        if self.cpu is None:
            return None
        with contextlib.suppress(OSError, ValueError, KeyError):
            if (self.cpu / "cpuacct.usage").exists():
                return int((self.cpu / "cpuacct.usage").read_text()) / 1e9
            stat = dict(line.split() for line in (self.cpu / "cpu.stat").read_text().splitlines())
            return int(stat["usage_usec"]) / 1e6
        return None


# -- what the watches see --------------------------------------------------------------------------


class Watcher:
    """A watch of one resource in the benchmark's namespace, on a thread, every event handed to
    `seen`. Each request lasts WATCH_SECONDS; the next resumes from the last resourceVersion, or
    from scratch (every object again as ADDED) when that has expired."""

    def __init__(
        self, kube: TestKube, plural: tuple[str, str, str], labels: str, seen: Callable[..., None]
    ) -> None:
        self._api = kubernetes.client.CustomObjectsApi(kube.api_client)
        self._plural = plural
        self._labels = labels
        self._seen = seen
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"watch {plural[2]}", daemon=True)
        self.error: BaseException | None = None

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=WATCH_SECONDS + 20)

    def _run(self) -> None:
        version: str | None = None
        group, api_version, plural = self._plural
        while not self._stop.is_set():
            stream = kubernetes.watch.Watch()  # type: ignore[no-untyped-call]
            options: dict[str, Any] = {"label_selector": self._labels} if self._labels else {}
            if version is not None:
                options["resource_version"] = version
            try:
                for event in stream.stream(  # type: ignore[no-untyped-call]
                    self._api.list_namespaced_custom_object,
                    group,
                    api_version,
                    NAMESPACE,
                    plural,
                    timeout_seconds=WATCH_SECONDS,
                    allow_watch_bookmarks=True,
                    _request_timeout=WATCH_SECONDS + 15,
                    **options,
                ):
                    if event["type"] != "BOOKMARK":
                        self._seen(event["type"], event["object"])
                    if self._stop.is_set():
                        break
            except kubernetes.client.ApiException as error:
                if error.status != 410:
                    self.error = error
                    return
                stream.resource_version = None  # expired: start again from what there is now
            except (urllib3.exceptions.HTTPError, OSError):
                self._stop.wait(1.0)  # the API server busy or restarting: ask again
            except Exception as error:
                self.error = error
                return
            version = stream.resource_version


@dataclass
class TopicProgress:
    """Every expected KafkaTopic as the watch last saw it: Ready for its generation or not."""

    expected: frozenset[str]
    began: float = 0.0
    ready: set[str] = field(default_factory=set)
    first_ready: dict[str, float] = field(default_factory=dict)  # name -> monotonic time
    all_ready_at: float | None = None
    modified: int = 0  # MODIFIED events: writes that changed a KafkaTopic (not the creates)
    reasons: set[tuple[str, str]] = field(default_factory=set)  # (name, Ready reason) seen
    last_reason: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self, kind: str, obj: Obj) -> None:
        name = obj["metadata"]["name"]
        if name not in self.expected:
            return
        now = time.monotonic()
        with self.lock:
            if kind == "DELETED":
                self.ready.discard(name)
                return
            if kind == "MODIFIED":
                self.modified += 1
            reason = str((condition(obj, "Ready") or {}).get("reason") or "(no status yet)")
            self.reasons.add((name, reason))
            self.last_reason[name] = reason
            if ready_now(obj):
                self.ready.add(name)
                self.first_ready.setdefault(name, now)
                if self.all_ready_at is None and len(self.ready) == len(self.expected):
                    self.all_ready_at = now
            else:
                self.ready.discard(name)

    def counts(self) -> tuple[int, int]:
        with self.lock:
            return len(self.ready), len(self.first_ready)

    def describe(self) -> str:
        with self.lock:
            not_ready = Counter(
                self.last_reason.get(name, "(not seen)") for name in self.expected - self.ready
            )
        return f"{len(self.ready)} of {len(self.expected)} Ready; the others: {dict(not_ready)}"

    def reasons_seen(self) -> dict[str, int]:
        """Ready reason -> how many KafkaTopics showed it at some point."""
        with self.lock:
            return dict(Counter(reason for _, reason in self.reasons).most_common())


@dataclass
class JobProgress:
    """The cluster's topic Jobs as the watch saw them: when each appeared and ended."""

    began: float = 0.0
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self, kind: str, obj: Obj) -> None:
        name = obj["metadata"]["name"]
        now = round(time.monotonic() - self.began, 1)
        with self.lock:
            job = self.jobs.setdefault(name, {"name": name, "seen_s": now, "ended_s": None})
            if kind == "DELETED":
                job["deleted"] = True
                return
            for item in (obj.get("status") or {}).get("conditions") or []:
                ended = item.get("type") in {"Complete", "Failed"} and item.get("status") == "True"
                if ended and job["ended_s"] is None:
                    job["ended_s"], job["outcome"] = now, item["type"]

    def running(self) -> list[str]:
        with self.lock:
            return [
                n for n, j in self.jobs.items() if j["ended_s"] is None and not j.get("deleted")
            ]

    def count(self) -> int:
        with self.lock:
            return len(self.jobs)

    def timeline(self) -> list[dict[str, Any]]:
        with self.lock:
            return sorted((dict(j) for j in self.jobs.values()), key=lambda j: j["seen_s"])


@dataclass
class Monitor:
    """Samples the operator's memory every second and prints the progress every few seconds, on a
    thread, for the whole run (the apply included); each progress point has the cores the
    operator and the whole machine used since the one before (is the operator the bottleneck?)."""

    operator: Operator
    topics: TopicProgress
    jobs: JobProgress
    created: Callable[[], int]
    samples: list[int] = field(default_factory=list)
    progress: list[dict[str, Any]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _last: tuple[float, float | None, float] = (0.0, None, 0.0)

    def __enter__(self) -> Monitor:
        self._last = (time.monotonic(), self.operator.cpu_seconds(), _busy_seconds())
        self._thread = threading.Thread(target=self._run, name="monitor", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        last_print = time.monotonic()
        while not self._stop.wait(SAMPLE_SECONDS):
            self.samples.append(self.operator.rss_bytes())
            if time.monotonic() - last_print >= PROGRESS_SECONDS:
                last_print = time.monotonic()
                self.report()

    def report(self) -> None:
        ready, _ = self.topics.counts()
        now, cpu, busy = time.monotonic(), self.operator.cpu_seconds(), _busy_seconds()
        then, cpu_then, busy_then = self._last
        self._last = (now, cpu, busy)
        wall = max(now - then, 1e-3)
        point = {
            "s": round(now - self.topics.began, 1),
            "created": self.created(),
            "ready": ready,
            "jobs": self.jobs.count(),
            "operator_rss_mib": round(self.samples[-1] / MIB, 1) if self.samples else None,
            "operator_cores": (
                round((cpu - cpu_then) / wall, 2)
                if cpu is not None and cpu_then is not None
                else None
            ),
            "machine_busy_cores": round((busy - busy_then) / wall, 2),
        }
        self.progress.append(point)
        print(
            f"  {point['s']:6.1f} s: {point['created']} created, {ready} Ready, "
            f"{point['jobs']} Jobs, operator {point['operator_rss_mib']} MiB "
            f"{point['operator_cores']} cores, machine {point['machine_busy_cores']} cores",
            flush=True,
        )


@contextlib.contextmanager
def watching(
    kube: TestKube, cluster: str, topics: TopicProgress, jobs: JobProgress
) -> Iterator[Callable[[], bool]]:
    """The watches of the cluster's KafkaTopics and topic Jobs; yields a check that raises when
    one of them has failed (the measurement would wait for nothing)."""
    topic_plural = (names.GROUP, names.VERSION, names.TOPIC_PLURAL)
    job_labels = (
        f"app.kubernetes.io/component={names.TOPIC_JOB_COMPONENT},{CLUSTER_LABEL}={cluster}"
    )
    with (
        Watcher(kube, topic_plural, "", topics.seen) as topic_watch,
        Watcher(kube, ("batch", "v1", "jobs"), job_labels, jobs.seen) as job_watch,
    ):

        def healthy() -> bool:
            for watch in (topic_watch, job_watch):
                if watch.error is not None:
                    raise RuntimeError(f"a watch of the benchmark failed: {watch.error!r}")
            return True

        yield healthy


# -- the KafkaTopic kind: kopfka's, or the reference operator's ----------------------------------


@dataclass(frozen=True)
class TopicKind:
    """A KafkaTopic resource as the benchmark creates, watches, counts and checks it: kopfka's,
    or the reference operator's (bench/topics_peer.py)."""

    group: str
    version: str
    plural: str
    reported: tuple[str, ...]  # the status fields verify() compares with Kafka

    @property
    def resource(self) -> tuple[str, str, str]:
        return self.group, self.version, self.plural


KOPFKA_TOPICS = TopicKind(
    names.GROUP,
    names.VERSION,
    names.TOPIC_PLURAL,
    ("topicName", "topicId", "partitions", "replicationFactor"),
)


# -- the API server's count of writes --------------------------------------------------------------

_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def topic_writes(kube: TestKube, kind: TopicKind = KOPFKA_TOPICS) -> Counter[str]:
    """apiserver_request_total for KafkaTopics, write verbs only: "VERB[/subresource] code" ->
    requests so far (all namespaces: the metric has no namespace label)."""
    found: Counter[str] = Counter()
    for line in kube.kubectl("get", "--raw", "/metrics").splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels_text, _, value = line.rpartition("}")
        labels = dict(_LABEL.findall(labels_text))
        ours = labels.get("group") == kind.group and labels.get("resource") == kind.plural
        if not ours or labels.get("verb") not in WRITE_VERBS:
            continue
        subresource = f"/{labels['subresource']}" if labels.get("subresource") else ""
        found[f"{labels['verb']}{subresource} {labels.get('code', '?')}"] += int(float(value))
    return found


# -- KafkaTopics in and out -----------------------------------------------------------------------


def topic_names(size: int) -> list[str]:
    width = max(5, len(str(size)))
    return [f"{TOPIC_PREFIX}{number:0{width}d}" for number in range(1, size + 1)]


def topic_manifest(name: str, cluster: str) -> Obj:
    """A KafkaTopic of one partition; the replication factor and deletionPolicy (retain) are the
    defaults."""
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.TOPIC_KIND,
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"cluster": cluster, "partitions": 1},
    }


def api_client(kubeconfig: Path, connections: int) -> Any:
    """An API client of its own with as many connections as the threads that share it."""
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=str(kubeconfig), client_configuration=configuration
    )
    configuration.connection_pool_maxsize = connections
    return kubernetes.client.ApiClient(configuration)


@dataclass
class Creates:
    """The KafkaTopics created, as many requests at once as `threads`: how a fast client (Argo
    CD's parallel sync, a script) applies them; `kubectl apply -f` sends one request at a time."""

    kubeconfig: Path
    threads: int
    kind: TopicKind = KOPFKA_TOPICS
    requests: int = 0
    done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, manifests: Sequence[Obj]) -> None:
        with (
            api_client(self.kubeconfig, self.threads) as client,
            ThreadPoolExecutor(self.threads, thread_name_prefix="create") as pool,
        ):
            api = kubernetes.client.CustomObjectsApi(client)
            for _ in pool.map(lambda body: self._create(api, body), manifests):
                pass

    def _create(self, api: Any, body: Obj) -> None:
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            with self.lock:
                self.requests += 1
            try:
                group, version, plural = self.kind.resource
                api.create_namespaced_custom_object(group, version, NAMESPACE, plural, body)
                break
            except kubernetes.client.ApiException as error:
                if error.status == 409:  # an earlier attempt made it; its answer was lost
                    break
                if error.status not in RETRIED_STATUSES or attempt == CREATE_ATTEMPTS:
                    raise
            except urllib3.exceptions.HTTPError:
                if attempt == CREATE_ATTEMPTS:
                    raise
            time.sleep(CREATE_RETRY_SECONDS)  # the API server asked to slow down, or was busy
        with self.lock:
            self.done += 1

    def created(self) -> int:
        with self.lock:
            return self.done


def list_topics(kube: TestKube, kind: TopicKind = KOPFKA_TOPICS) -> list[Obj]:
    """Every KafkaTopic of the namespace, in pages (a 20,000-item answer is tens of MB)."""
    api = kubernetes.client.CustomObjectsApi(kube.api_client)
    group, version, plural = kind.resource
    found: list[Obj] = []
    token: str | None = None
    while True:
        page: Obj = api.list_namespaced_custom_object(  # type: ignore[assignment]
            group, version, NAMESPACE, plural, limit=1000, _continue=token
        )
        found += page["items"]
        token = page["metadata"].get("continue")
        if not token:
            return found


def delete_topics(kube: TestKube, kind: TopicKind = KOPFKA_TOPICS) -> None:
    """All KafkaTopics of the namespace in one delete-collection request (kubectl would send one
    per topic); with deletionPolicy retain they have no finalizer and go at once, their Kafka
    topics kept."""
    api = kubernetes.client.CustomObjectsApi(kube.api_client)
    group, version, plural = kind.resource
    try:
        api.delete_collection_namespaced_custom_object(group, version, NAMESPACE, plural)
    except kubernetes.client.ApiException as error:
        if error.status == 404:  # no namespace, or no CRD yet
            return
        # 10,000 deletions outlast the API server's 60 s request timeout: it answers 504 and
        # goes on deleting, which the wait below sees through.
        if error.status != 504:
            raise

    def gone() -> bool:
        page: Obj = api.list_namespaced_custom_object(  # type: ignore[assignment]
            group, version, NAMESPACE, plural, limit=1
        )
        return not page["items"]

    wait_for(gone, timeout=GONE_TIMEOUT, what=f"the KafkaTopics of {NAMESPACE} to be deleted")


# -- the cluster, the operator, the namespaces ----------------------------------------------------


def cluster_manifest(name: str, args: argparse.Namespace) -> Obj:
    """The production example fitted to the node (dedicated, 3 + 3, RF 3, min ISR 2), on
    ephemeral storage: no volume to provision or delete between sizes."""
    manifest = fit_to_node(yaml.safe_load(EXAMPLE.read_text()))
    manifest["metadata"] = {"name": name, "namespace": NAMESPACE}
    for role, memory in (("controllers", args.controller_memory), ("brokers", args.broker_memory)):
        pool = manifest["spec"][role]
        pool["resources"] = {
            "requests": {"cpu": "100m", "memory": memory},
            "limits": {"memory": memory},
        }
        pool["storage"] = {"type": "ephemeral", "sizeLimit": EPHEMERAL_LIMIT}
    return manifest


def delete_cluster(kube: TestKube, name: str) -> None:
    """Remove a KafkaCluster and everything it had, fast, and wait until it is all gone (the
    pods' processes included). Cleanup, not measurement, so nothing is stopped gracefully: the
    KafkaCluster goes with its children orphaned (garbage collection would delete the
    StatefulSets in the background, and their pods with the brokers' grace period of 300 s,
    which a later deletion no longer shortens), the StatefulSets without their pods, then the
    pods with a grace period of 1 s (a forced deletion only removes the objects: the kubelet
    still gives the processes the pods' own grace period) and the other children."""
    selector = f"{CLUSTER_LABEL}={name}"
    labels = {CLUSTER_LABEL: name}
    job_pods = names.topic_job_pod_labels(name)
    uids = [p["metadata"]["uid"] for p in kube.list("v1", "Pod", NAMESPACE, labels=labels)]
    began = time.monotonic()
    kube.kubectl(
        "delete", "kafkacluster", name, "-n", NAMESPACE, "--cascade=orphan", "--ignore-not-found"
    )  # fmt: skip
    kube.kubectl(
        "delete", "statefulsets", "-n", NAMESPACE, "-l", selector, "--cascade=orphan",
        "--ignore-not-found", "--wait=false",
    )  # fmt: skip
    wait_for(
        lambda: not kube.list("apps/v1", "StatefulSet", NAMESPACE, labels=labels),
        timeout=GONE_TIMEOUT,
        what=f"the StatefulSets of {name} to be deleted",
    )
    kube.kubectl(
        "delete", "pods", "-n", NAMESPACE, "-l", selector, "--grace-period=1",
        "--ignore-not-found", "--wait=false",
    )  # fmt: skip
    kube.kubectl(
        "delete", "jobs,configmaps,services,serviceaccounts,poddisruptionbudgets", "-n",
        NAMESPACE, "-l", selector, "--ignore-not-found", "--wait=false",
    )  # fmt: skip

    def left() -> dict[str, Any]:
        return {
            "pods": [p["metadata"]["name"] for p in kube.list("v1", "Pod", NAMESPACE, labels)],
            "job pods": [
                p["metadata"]["name"] for p in kube.list("v1", "Pod", NAMESPACE, job_pods)
            ],
            "jobs": [
                j["metadata"]["name"] for j in kube.list("batch/v1", "Job", NAMESPACE, labels)
            ],
            "children": sorted(children(kube, name, NAMESPACE)),
            "pod cgroups": sorted(set(uids) & set(pod_cgroups())),
        }

    wait_for(
        lambda: not any(left().values()),
        timeout=GONE_TIMEOUT,
        what=f"the pods (and their processes), Jobs and objects of {name} to be gone",
        describe=lambda: str(left()),
        interval=1.0,
    )
    print(f"  KafkaCluster {name} removed in {time.monotonic() - began:.0f} s", flush=True)


def teardown(kube: TestKube) -> None:
    """Everything this benchmark installs, gone: also what an interrupted run left."""
    from bench import topics_peer  # noqa: PLC0415 (it builds on this module)

    topics_peer.teardown(kube)
    if kube.get("v1", "Namespace", NAMESPACE) is not None:
        delete_topics(kube)
        with contextlib.suppress(ResourceNotFoundError):  # no CRD yet
            for cluster in kube.list(names.API_VERSION, names.CLUSTER_KIND, NAMESPACE):
                delete_cluster(kube, cluster["metadata"]["name"])
    try:
        helm(
            "uninstall", RELEASE, "--kubeconfig", str(kube.kubeconfig), "--namespace",
            OPERATOR_NAMESPACE, "--wait", "--timeout", HELM_WAIT,
        )  # fmt: skip
    except HelmError as error:
        if "not found" not in error.stderr:
            raise
    for namespace in OUR_NAMESPACES:
        kube.kubectl("delete", "namespace", namespace, "--ignore-not-found", "--wait=false")
    wait_for(
        lambda: all(kube.get("v1", "Namespace", ns) is None for ns in OUR_NAMESPACES),
        timeout=GONE_TIMEOUT,
        what=f"namespaces {OUR_NAMESPACES} to be deleted",
    )


def install(kube: TestKube) -> None:
    """kopfka from its chart with its defaults, watching only the benchmark's namespace."""
    kube.kubectl("create", "namespace", NAMESPACE)
    helm(
        "upgrade", "--install", RELEASE, str(CHART), "--kubeconfig", str(kube.kubeconfig),
        "--namespace", OPERATOR_NAMESPACE, "--create-namespace", "--wait", "--timeout", HELM_WAIT,
        values={"watchNamespaces": [NAMESPACE]},
    )  # fmt: skip


def restart_operator(kube: TestKube) -> None:
    """A fresh operator process, so that a size does not start with the heap of the last."""
    deployment = f"deployment/{RELEASE}"
    kube.kubectl("rollout", "restart", deployment, "-n", OPERATOR_NAMESPACE)
    kube.kubectl(
        "rollout", "status", deployment, "-n", OPERATOR_NAMESPACE,
        f"--timeout={OPERATOR_TIMEOUT:.0f}s",
    )  # fmt: skip
    wait_for(
        lambda: len(kube.list("v1", "Pod", OPERATOR_NAMESPACE, OPERATOR_LABELS)) == 1,
        timeout=OPERATOR_TIMEOUT,
        what="the previous operator pod to be gone",
    )


# -- checks after the measurement ----------------------------------------------------------------

_DESCRIBE = re.compile(
    r"Topic:\s*(?P<topic>\S+)\s+Partition:\s*\d+\s+Leader:\s*\S+\s+"
    r"Replicas:\s*(?P<replicas>\S+)\s+Isr:\s*(?P<isr>\S+)"
)
_TOPIC_ID = re.compile(r"Topic:\s*(?P<topic>\S+)\s+TopicId:\s*(?P<id>\S+)")


def kafka_topics(client: KafkaClient) -> dict[str, dict[str, Any]]:
    """TopicCommand --describe of the benchmark's topics, in the client pod: topic -> its id,
    and per partition its replicas and in-sync replicas."""
    output = client.exec(
        "java", TOOL_HEAP, "-cp", "/opt/kafka/libs/*", "org.apache.kafka.tools.TopicCommand",
        "--bootstrap-server", client.bootstrap, "--describe", "--topic", f"{TOPIC_PREFIX}.*",
    )  # fmt: skip
    found: dict[str, dict[str, Any]] = {}
    for line in output.splitlines():
        if (partition := _DESCRIBE.search(line)) is not None:
            topic = found.setdefault(partition["topic"], {"partitions": []})
            replicas, isr = partition["replicas"].split(","), partition["isr"].split(",")
            topic["partitions"].append((len(replicas), sorted(isr) == sorted(replicas)))
        elif (summary := _TOPIC_ID.search(line)) is not None:
            found.setdefault(summary["topic"], {"partitions": []})["id"] = summary["id"]
    return found


def verify(
    kube: TestKube, client: KafkaClient, expected: Sequence[str], kind: TopicKind = KOPFKA_TOPICS
) -> dict[str, Any]:
    """Every KafkaTopic's status against Kafka itself: the topic exists, with 1 partition of 3
    replicas, all in sync, and the topic id (and what else the kind's status reports) the
    status says."""
    statuses = {t["metadata"]["name"]: t.get("status") or {} for t in list_topics(kube, kind)}
    in_kafka = kafka_topics(client)
    problems: list[str] = []
    counts = Counter[str]()
    for name in expected:
        status, kafka = statuses.get(name, {}), in_kafka.get(name)
        if kafka is None:
            problems.append(f"{name}: not in Kafka")
            continue
        counts["in_kafka"] += 1
        if [replicas for replicas, _ in kafka["partitions"]] == [REPLICATION_FACTOR]:
            counts["one_partition_of_3_replicas"] += 1
        else:
            problems.append(f"{name}: partitions (replicas, in sync) {kafka['partitions']}")
        counts["fully_in_sync"] += all(in_sync for _, in_sync in kafka["partitions"])
        truth = {
            "topicName": name,
            "topicId": _topic_id_bytes(kafka.get("id")),
            "partitions": 1,
            "replicationFactor": REPLICATION_FACTOR,
        }
        reported = {key: status.get(key) for key in kind.reported}
        if "topicId" in reported:
            reported["topicId"] = _topic_id_bytes(reported["topicId"])
        if reported == {key: truth[key] for key in kind.reported}:
            counts["status_matches_kafka"] += 1
        else:
            facts = {key: status.get(key) for key in kind.reported}
            problems.append(f"{name}: status says {facts}, Kafka has id {kafka.get('id')}")
    return {**{k: counts[k] for k in sorted(counts)}, "problems": problems[:20]}


def _topic_id_bytes(text: object) -> bytes | None:
    """A topic id's 16 bytes, from Kafka's form (URL-safe base64, unpadded) or a UUID's text:
    the statuses of operator images older than the Kafka form gave the latter."""
    if not isinstance(text, str) or not text:
        return None
    with contextlib.suppress(ValueError):
        return uuid.UUID(text).bytes
    with contextlib.suppress(ValueError):
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return None


def operator_log(kube: TestKube, since: str, path: Path) -> dict[str, Any]:
    """The operator's log over the run, kept in `path`: its size and its errors and warnings."""
    try:
        text = kube.kubectl(
            "logs", "-n", OPERATOR_NAMESPACE, f"deployment/{RELEASE}", f"--since-time={since}"
        )
    except KubectlError as error:
        return {"unreadable": str(error)[:500]}
    path.write_text(text)
    lines = text.splitlines()
    errors = [line for line in lines if "[ERROR" in line or "Traceback" in line]
    warnings = [line for line in lines if "[WARNING" in line]
    return {
        "lines": len(lines),
        "errors": len(errors),
        "warnings": len(warnings),
        "first_errors": [line[:400] for line in errors[:5]],
        "first_warnings": [line[:400] for line in warnings[:5]],
    }


def cluster_events(kube: TestKube, cluster: str) -> tuple[dict[str, int], dict[str, str]]:
    """The KafkaCluster's Events by reason, and each topic Job's work as its TopicJobStarted
    Event says it ("10000 to create")."""
    reasons: Counter[str] = Counter()
    work: dict[str, str] = {}
    for event in kube.list("v1", "Event", NAMESPACE):
        involved = event.get("involvedObject") or {}
        if involved.get("kind") != names.CLUSTER_KIND or involved.get("name") != cluster:
            continue
        reasons[event.get("reason") or "?"] += int(event.get("count") or 1)
        started = re.match(r"topic Job (\S+) started: (.*) topics$", event.get("message") or "")
        if started is not None:
            work[started[1]] = started[2]
    return dict(reasons.most_common()), work


# -- one size -------------------------------------------------------------------------------------


def _stamp_now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _writes_net(after: Counter[str], before: Counter[str], own_creates: int) -> dict[str, int]:
    """Writes over the run by "VERB[/subresource] code", the benchmark's own creates taken out
    (their 201s, then the 409s of retried ones)."""
    net = Counter({key: after[key] - before.get(key, 0) for key in after})
    for code in ("201", "409"):
        for verb in sorted(CREATE_VERBS):
            taken = min(net[f"{verb} {code}"], own_creates)
            net[f"{verb} {code}"] -= taken
            own_creates -= taken
    return {key: count for key, count in sorted(net.items()) if count > 0}


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}

    def rank(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {
        "first": round(ordered[0], 1),
        "p50": rank(0.5),
        "p90": rank(0.9),
        "p99": rank(0.99),
        "last": round(ordered[-1], 1),
    }


@dataclass
class SizeRun:
    """One size: a fresh cluster, N KafkaTopics at once, the measurement, the checks, cleanup."""

    kube: TestKube
    args: argparse.Namespace
    index: int
    size: int
    work: Path

    @property
    def cluster(self) -> str:
        return f"bench-{self.index}"

    def run(self) -> dict[str, Any]:
        kube, name = self.kube, self.cluster
        manifest = cluster_manifest(name, self.args)
        spec = parse_cluster(name, NAMESPACE, manifest["spec"])
        if self.index > 1:
            restart_operator(kube)
        wait_alone(
            kube, self.args.others_timeout, own_namespace=OPERATOR_NAMESPACE, watched=NAMESPACE
        )
        print(f"size {self.size}: making KafkaCluster {NAMESPACE}/{name}", flush=True)
        began = time.monotonic()
        try:
            kube.apply(manifest)
            wait_ready(kube, name, NAMESPACE, timeout=self.args.cluster_timeout)
            print(f"  Ready in {time.monotonic() - began:.0f} s", flush=True)
            bootstrap = names.bootstrap_address(name, NAMESPACE, spec.listeners[0].port)
            client = KafkaClient(kube, NAMESPACE, bootstrap=bootstrap)
            client.start(f"kopfka/kafka:{spec.version}")
            quiet = self.quiet()
            result = {**self.measure(), **quiet}
            if "error" not in result:
                print("  checking the statuses against Kafka", flush=True)
                writes = topic_writes(kube)
                result["verified"] = verify(kube, client, topic_names(self.size))
                later = _writes_net(topic_writes(kube), writes, 0)
                result["api_writes_while_checking"] = later
        finally:
            with signals_ignored():
                cleanup_error = self.cleanup()
        if cleanup_error:
            # What was measured stands; the sizes after it would not start clean (main stops).
            result["cleanup_error"] = cleanup_error
        result["kafka_version"] = spec.version
        return result

    def cleanup(self) -> str | None:
        """The KafkaTopics and the cluster gone; a failure is returned (not raised), so that a
        cleanup outlasting its deadline does not throw away the measurement before it."""
        try:
            began = time.monotonic()
            delete_topics(self.kube)
            print(f"  KafkaTopics deleted in {time.monotonic() - began:.0f} s", flush=True)
            delete_cluster(self.kube, self.cluster)
        except (Timeout, KubectlError, kubernetes.client.ApiException) as error:
            print(f"  cleanup failed: {error}", flush=True)
            return f"{type(error).__name__}: {error}"
        return None

    def measure(self) -> dict[str, Any]:
        kube, name, size = self.kube, self.cluster, self.size
        expected = topic_names(size)
        manifests = [topic_manifest(topic, name) for topic in expected]
        operator = Operator.find(kube)
        topics, jobs = TopicProgress(frozenset(expected)), JobProgress()
        creates = Creates(kube.kubeconfig, self.args.apply_threads)
        since, others = _stamp_now(), self.other_pods()
        writes_before = topic_writes(kube)
        rss_before, reset = operator.rss_bytes(), operator.reset_peaks()
        cpu_before, busy_before, own_before = operator.cpu_seconds(), _busy_seconds(), _own()
        result: dict[str, Any] = {"topics": size, "cluster": name}
        print(f"  applying {size} KafkaTopics", flush=True)
        with (
            watching(kube, name, topics, jobs) as healthy,
            Monitor(operator, topics, jobs, creates.created) as monitor,
        ):
            began = topics.began = jobs.began = time.monotonic()
            creates.run(manifests)
            applied = time.monotonic()
            print(f"  applied in {applied - began:.1f} s", flush=True)
            try:
                wait_for(
                    lambda: healthy() and topics.all_ready_at,
                    timeout=self.args.ready_timeout,
                    what=f"{size} KafkaTopics to be Ready",
                    describe=topics.describe,
                    interval=SAMPLE_SECONDS,
                )
                wait_for(
                    lambda: healthy() and not jobs.running(),
                    timeout=JOBS_END_TIMEOUT,
                    what="the cluster's topic Jobs to end",
                    describe=lambda: str(jobs.running()),
                    interval=SAMPLE_SECONDS,
                )
            except Timeout as error:
                result["error"] = str(error)
            settled = time.monotonic()
            monitor.report()
            writes_after = topic_writes(kube)
            peak, cgroup_peak = operator.peak_rss_bytes(), operator.cgroup_peak_bytes()
            cpu_after, busy_after, own_after = operator.cpu_seconds(), _busy_seconds(), _own()
        wall = settled - began
        after = Operator.find(kube)
        writes = _writes_net(writes_after, writes_before, creates.requests)
        events, job_work = cluster_events(kube, name)
        timeline = jobs.timeline()
        for job in timeline:
            job["work"] = job_work.get(job["name"])
        sampled = max(monitor.samples, default=0)
        result.update(
            run_figures(
                topics,
                size=size,
                began=began,
                applied=applied,
                wall=wall,
                writes=writes,
                creates=creates,
                busy=busy_after - busy_before,
                own=own_after - own_before,
            )
        )
        result.update(
            {
                "jobs": len(timeline),
                "job_timeline": timeline,
                # VmHWM is lost with a restarted process: then the samples are all there is.
                "operator_rss_mib_peak": round(
                    (peak if after.restarts == operator.restarts else sampled) / MIB, 1
                ),
                "operator_rss_mib_sampled_peak": round(sampled / MIB, 1),
                "operator_rss_mib_before": round(rss_before / MIB, 1),
                "operator_cgroup_memory_mib_peak": (
                    round(cgroup_peak / MIB, 1) if cgroup_peak is not None else None
                ),
                "operator_peaks_reset": reset,
                "operator_restarts": after.restarts - operator.restarts,
                "operator_cpu_seconds": cpu_delta(cpu_before, cpu_after),
                "ready_reasons_seen": topics.reasons_seen(),
                "cluster_events": events,
                "other_pods_on_node": others,
                "operator_log": operator_log(kube, since, self.work / f"operator-{size}.log"),
                "progress": monitor.progress,
            }
        )
        result["meets_goal"] = meets_goal(result)
        return result

    def quiet(self) -> dict[str, Any]:
        """Wait for the machine to calm down (the cluster's start, others' work) before the
        apply; after --quiet-timeout it starts anyway, and the result says so."""
        a = self.args
        if a.quiet_timeout <= 0:
            return {}
        quiet = wait_quiet(a.quiet_cores, a.quiet_timeout)
        print(f"  {quiet}", flush=True)
        return quiet

    def other_pods(self) -> int:
        """Running pods of other namespaces (the e2e suite's, the system's): they share the
        host's 2 cores with this run."""
        return sum(
            1
            for pod in self.kube.list("v1", "Pod")
            if pod["metadata"]["namespace"] not in OUR_NAMESPACES
            and (pod.get("status") or {}).get("phase") == "Running"
        )


def run_figures(
    topics: TopicProgress,
    *,
    size: int,
    began: float,
    applied: float,
    wall: float,
    writes: Mapping[str, int],
    creates: Creates,
    busy: float,
    own: float,
) -> dict[str, Any]:
    """What every run reports alike, kopfka's and the reference's (bench/topics_peer.py): when
    its KafkaTopics were Ready, its API writes, how busy the host and the benchmark were."""
    ready, _ = topics.counts()
    return {
        "ready": ready,
        "seconds_to_all_ready": _since(topics.all_ready_at, began),
        "apply_seconds": round(applied - began, 2),
        "seconds_after_apply": _since(topics.all_ready_at, applied),
        "ready_after_s": _percentiles([t - began for t in topics.first_ready.values()]),
        "api_writes_per_topic": round(sum(writes.values()) / size, 3),
        "api_writes": dict(writes),
        "benchmark_create_requests": creates.requests,
        "status_changes_per_topic": round(topics.modified / size, 3),
        "machine_busy_cores": round(busy / wall, 2),
        "benchmark_cpu_cores": round(own / wall, 2),
        "measured_s": round(wall, 1),
    }


def cpu_delta(before: float | None, after: float | None) -> float | None:
    return round(after - before, 1) if after is not None and before is not None else None


def _own() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _since(moment: float | None, start: float) -> float | None:
    return None if moment is None else round(moment - start, 2)


def meets_goal(result: Mapping[str, Any]) -> dict[str, bool]:
    """Issue 11's goals: every size without failure; at 10,000 also the time and the memory."""
    goals = {"all_ready": result["ready"] == result["topics"] and "error" not in result}
    if result["topics"] == GOAL_TOPICS:
        seconds = result["seconds_to_all_ready"]
        goals["seconds_to_all_ready"] = seconds is not None and seconds < GOAL_SECONDS
        goals["operator_rss"] = result["operator_rss_mib_peak"] * MIB < GOAL_RSS_BYTES
    return goals


# -- the report ------------------------------------------------------------------------------------


def notes(runs: Sequence[Mapping[str, Any]], args: argparse.Namespace) -> list[str]:
    cores = os.cpu_count() or 1
    found = [
        f"One {cores}-core host runs everything: the control plane (etcd, kube-apiserver), the "
        "node (kubelet, containerd), 3 Kafka controllers and 3 brokers, the operator, the topic "
        "Job's pod, this benchmark (its creates and watches: benchmark_cpu_cores) and whatever "
        "else is on the node (other_pods_on_node: the e2e suite may run beside it). "
        "machine_busy_cores says how busy the host was over each measurement.",
        f"The apply is {args.apply_threads} create requests at a time from Python, as a fast "
        "client (a parallel GitOps sync) sends them; `kubectl apply -f` of the same file sends "
        "one at a time and takes longer. seconds_to_all_ready includes the apply "
        "(apply_seconds); seconds_after_apply is the rest.",
        "api_writes_per_topic comes from kube-apiserver's apiserver_request_total (write verbs on "
        "kafkatopics, every subresource and answer code, the benchmark's own creates taken out). "
        "It has no namespace label: writes to other namespaces' KafkaTopics in the same window "
        "(the e2e suite's) count too. status_changes_per_topic counts the writes that changed a "
        "KafkaTopic of this run (MODIFIED events of the benchmark's watch) instead.",
        "operator_rss_mib_peak is the kernel's peak resident memory (VmHWM) of the operator "
        "process, reset when the run starts (clear_refs); operator_rss_mib_sampled_peak the "
        "largest of 1 s samples; operator_cgroup_memory_mib_peak the container cgroup's peak, "
        "page cache included. The goal of 150 MB is read as 150 * 10^6 bytes (143 MiB).",
        "Each size runs on a fresh KafkaCluster (dedicated: 3 controllers + 3 brokers, "
        f"controllers {args.controller_memory}, brokers {args.broker_memory} memory, the heap "
        f"half of that; ephemeral storage, sizeLimit {EPHEMERAL_LIMIT}; the production "
        "example's Kafka settings: RF 3, min ISR 2) and a freshly restarted operator with the "
        "chart's defaults (topic recheck every 60 s): no size inherits topics in Kafka or "
        "the operator's heap from the one before.",
        "Readiness is what the benchmark's watch sees: a KafkaTopic counts when its Ready "
        "condition is True for its current generation; each run then checks every status "
        "against Kafka's own TopicCommand --describe (verified).",
    ]
    for run in runs:
        size = run["topics"]
        if run.get("error"):
            found.append(f"{size} topics: {run['error'][:600]}")
        if run.get("cleanup_error"):
            found.append(
                f"{size} topics: the cleanup after the measurement failed, so the sizes after it "
                f"did not run: {run['cleanup_error'][:600]}"
            )
        if run.get("operator_restarts"):
            found.append(
                f"{size} topics: the operator restarted {run['operator_restarts']} times during "
                "the run; its peak RSS is the largest 1 s sample."
            )
        if run.get("quiet_before_start") is False:
            found.append(
                f"{size} topics: the apply began while the machine was still busy "
                f"({run.get('foreign_cpu_cores_before_start')} cores in use after "
                f"--quiet-timeout {args.quiet_timeout:.0f} s)."
            )
        if run.get("other_pods_on_node", 0) > 0:
            found.append(
                f"{size} topics: {run['other_pods_on_node']} pods of other namespaces ran on "
                "the node (system pods included)."
            )
    return found


def report(
    runs: list[dict[str, Any]], args: argparse.Namespace, peer: Mapping[str, Any]
) -> dict[str, Any]:
    """The JSON; `peer` is the reference's fields (bench.topics_peer.report_fields)."""
    ratios = peer.get("meets_peer_goal", {})
    return {
        "benchmark": "kafkatopics-at-scale",
        "date": _stamp_now(),
        "command": shlex.join([python_command(), "-m", "bench.topics", *sys.argv[1:]]),
        "git_commit": git_commit(),
        "machine": machine(),
        "goal": {
            "seconds_to_all_ready": f"< {GOAL_SECONDS:.0f} at {GOAL_TOPICS} topics",
            "operator_rss": f"< {GOAL_RSS_BYTES / 1e6:.0f} MB at {GOAL_TOPICS} topics",
            "all_ready": "every size, 20000 included",
            "time_ratio": f"<= {PEER_TIME_RATIO_GOAL}: kopfka's seconds_to_all_ready over the "
            "reference's (peer) at the same size",
            "rss_ratio": f"<= {PEER_RSS_RATIO_GOAL}: kopfka's operator_rss_mib_peak over the "
            "reference's",
        },
        "meets_goal": all(all(run["meets_goal"].values()) for run in runs) and all(ratios.values()),
        "runs": runs,
        **{key: value for key, value in peer.items() if key != "peer_notes"},
        "config": {
            "operator": {
                "release": RELEASE,
                "namespace": OPERATOR_NAMESPACE,
                "watches": NAMESPACE,
                "chart_values": {"watchNamespaces": [NAMESPACE]},
            },
            "topic": {"partitions": 1, "replicationFactor": "the cluster's default (3)"},
            "cluster": cluster_manifest("bench-N", args)["spec"],
            "source": "manifests/examples/kafkacluster-production.yaml through "
            "e2e.suite.test_cluster_lifecycle.fit_to_node, on ephemeral storage",
        },
        "options": {key: str(value) for key, value in vars(args).items()},
        "notes": notes(runs, args) + peer.get("peer_notes", []),
    }


def _sizes(text: str) -> list[int]:
    sizes = [int(part) for part in text.split(",") if part.strip()]
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("sizes: positive numbers, comma-separated")
    return sizes


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=_sizes, default=[10_000, 20_000], help="e.g. 10000,20000")
    parser.add_argument("--output", type=Path, default=REPO / "bench/results/topics.json")
    parser.add_argument(
        "--ready-timeout", type=float, default=1200, help="per size: until every topic is Ready"
    )
    parser.add_argument(
        "--cluster-timeout", type=float, default=600, help="per size: until the cluster is Ready"
    )
    parser.add_argument("--apply-threads", type=int, default=8, help="creates in flight at once")
    parser.add_argument("--controller-memory", default="768Mi")
    parser.add_argument(
        "--broker-memory",
        default="3Gi",
        help="more than the 768Mi of the other benchmarks: a broker keeps state for every "
        "partition (10,000 ran the brokers out of the 512 MiB heap of a 1Gi limit)",
    )
    parser.add_argument(
        "--quiet-timeout",
        type=float,
        default=300,
        help="before each apply, wait up to this long for the machine to go quiet (0: no)",
    )
    parser.add_argument(
        "--quiet-cores",
        type=float,
        default=1.0,
        help="'quiet': everything but this benchmark (the idle cluster included) uses fewer cores",
    )
    parser.add_argument(
        "--others-timeout",
        type=float,
        default=600,
        help="wait up to this long for other kopfka operators watching every namespace to go",
    )
    parser.add_argument(
        "--peer-sizes",
        type=lambda text: _sizes(text) if text.strip() else [],
        default=[GOAL_TOPICS],
        help="sizes (of --sizes) also run with the reference, Strimzi's topic operator; '' none",
    )
    parser.add_argument(
        "--peer-src",
        type=Path,
        default=Path.home() / ".cache/kopfka-peers/strimzi",
        help="Strimzi's checkout as ../shared/peers/strimzi/build.sh built it "
        "(make bench-peer-strimzi)",
    )
    parser.add_argument(
        "--peers-dir",
        type=Path,
        default=REPO.parent / "shared/peers",
        help="the peers' scripts (strimzi/run-topic-operator.sh)",
    )
    parser.add_argument(
        "--peer-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="more environment for the reference (repeatable), e.g. STRIMZI_MAX_QUEUE_SIZE=16384: "
        "with its default of 1024 it stops itself when 10,000 KafkaTopics come at once",
    )
    return parser.parse_args()


def main() -> int:
    from bench import topics_peer  # noqa: PLC0415 (it builds on this module)

    args = arguments()
    if os.geteuid() != 0:
        raise SystemExit("bench.topics needs root (the operator's memory: /proc and its cgroup)")
    signal.signal(signal.SIGTERM, _terminate)
    began = time.monotonic()
    kube = node_kube()
    work = Path(tempfile.mkdtemp(prefix="kopfka-bench-topics-"))
    runs: list[dict[str, Any]] = []
    peers: list[dict[str, Any]] = []
    peer_missing = topics_peer.unavailable(args)
    try:
        with contextlib.ExitStack() as stack:
            teardown(kube)  # what an interrupted run left
            stack.callback(_teardown_quietly, kube)
            wait_alone(
                kube, args.others_timeout, own_namespace=OPERATOR_NAMESPACE, watched=NAMESPACE
            )
            install(kube)
            for index, size in enumerate(args.sizes, start=1):
                runs.append(SizeRun(kube, args, index, size, work).run())
                if "cleanup_error" in runs[-1]:
                    break  # the next size would inherit this one's topics
                if size in args.peer_sizes and peer_missing is None:
                    peers.append(topics_peer.PeerRun(kube, args, index, size, work).run())
    finally:
        kube.close()
        print(f"the operator's (and the reference's) logs of each size are in {work}")

    result = report(runs, args, topics_peer.report_fields(runs, peers, args))
    result["total_runtime_s"] = round(time.monotonic() - began, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    for run in runs:
        print(
            f"{run['topics']} topics: {run['ready']} Ready in {run['seconds_to_all_ready']} s "
            f"(apply {run['apply_seconds']} s), {run['jobs']} Jobs, operator peak "
            f"{run['operator_rss_mib_peak']} MiB, {run['api_writes_per_topic']} API writes per "
            f"topic; goals {run['meets_goal']}"
        )
    for peer in peers:
        print(
            f"reference {peer['operator']} at {peer['topics']} topics: {peer.get('ready')} Ready "
            f"in {peer.get('seconds_to_all_ready')} s, peak {peer.get('rss_mib_peak')} MiB; "
            f"kopfka over it: {peer['versus_kopfka']}"
        )
    print(f"total {result['total_runtime_s']} s -> {args.output}")
    return 0 if all(run["meets_goal"]["all_ready"] for run in runs) else 1


def _teardown_quietly(kube: TestKube) -> None:
    with signals_ignored():
        teardown(kube)


if __name__ == "__main__":
    sys.exit(main())
