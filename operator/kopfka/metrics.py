"""The operator's own Prometheus metrics: what it reconciles, how long that takes, how it ends,
what its rolls and Jobs do, and how many resources are Ready.

Without these, the operator's work is visible only in its logs. One module defines every metric,
so their names and labels are documented in one place (docs/monitoring.md lists them); the layers
that do the work record into them, and `serve` exposes them on the operator's metrics port.
This module imports nothing of kopfka's, so every layer may use it, as it may use `logging`.

Labels are bounded: kinds, triggers, outcomes, Job kinds, and per cluster (namespace, name) only
for the roll gauges, which are removed when a cluster's roll has nothing left to do. Resources per
Ready status are counted at scrape time from the operator's own indexes (`watch_resources`), so
they follow deletions without bookkeeping.

One family is Kafka's rather than the operator's: `kafka_consumergroup_lag`, per cluster, consumer
group, topic and partition (kafka_exporter's name and labels, which dashboards and alerts know).
Its series are as many as the groups' committed partitions; each collection replaces a cluster's
series as a whole, and clusters the operator no longer watches are left out at scrape time, so no
series outlives its group, partition or cluster.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

RECONCILES = Counter(
    "kopfka_reconciles",
    "Reconciles and status refreshes, by kind, what started them, and how they ended "
    "(ready, not_ready, retry, error).",
    ["kind", "trigger", "outcome"],
)
RECONCILE_SECONDS = Histogram(
    "kopfka_reconcile_duration_seconds",
    "How long a reconcile or status refresh took, by kind and what started it.",
    ["kind", "trigger"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
NODE_RESTARTS = Counter(
    "kopfka_node_restarts",
    "Kafka pods a rolling restart restarted.",
    ["namespace", "cluster"],
)
ROLL_PENDING = Gauge(
    "kopfka_roll_pending_pods",
    "Pods that still have to restart in a cluster's rolling restart.",
    ["namespace", "cluster"],
)
REBALANCE_PENDING = Gauge(
    "kopfka_rebalance_pending_partitions",
    "Partitions the running rebalance Job of a cluster has still to bring to their target.",
    ["namespace", "cluster"],
)
JOBS_STARTED = Counter(
    "kopfka_jobs_started",
    "Jobs the operator started, by their component label (topic-job, settings-job, ...).",
    ["component"],
)
JOBS_FAILED = Counter(
    "kopfka_jobs_failed",
    "Jobs that failed (their pods' retries spent), by kind, each counted once.",
    ["component"],
)

# Recently seen failed Jobs by uid: a failed Job is observed on every pass until it is replaced.
_FAILED_SEEN: OrderedDict[str, None] = OrderedDict()
_FAILED_SEEN_MOST = 1000
_lock = threading.Lock()


@contextmanager
def reconciling(kind: str, trigger: str) -> Iterator[Callable[[str], None]]:
    """Times the block and counts it with the outcome it reports (`ended("ready")`); a block
    that raises counts as `error`, one that reports nothing as `done`."""
    outcome = ["done"]
    began = time.perf_counter()
    try:
        yield lambda ended: outcome.__setitem__(0, ended)
    except BaseException:
        outcome[0] = "error" if outcome[0] == "done" else outcome[0]
        raise
    finally:
        RECONCILE_SECONDS.labels(kind, trigger).observe(time.perf_counter() - began)
        RECONCILES.labels(kind, trigger, outcome[0]).inc()


def roll_pending(namespace: str, cluster: str, pending: int) -> None:
    """A cluster's pods still to restart; the series goes when none are."""
    if pending:
        ROLL_PENDING.labels(namespace, cluster).set(pending)
        return
    with suppress(KeyError):
        ROLL_PENDING.remove(namespace, cluster)


def rebalance_pending(namespace: str, cluster: str, pending: int) -> None:
    """A cluster's partitions still to move; the series goes when no rebalance runs."""
    if pending:
        REBALANCE_PENDING.labels(namespace, cluster).set(pending)
        return
    with suppress(KeyError):
        REBALANCE_PENDING.remove(namespace, cluster)


def job_failed(job: str, uid: str) -> None:
    """Count a failed Job once, however often it is seen."""
    with _lock:
        if uid in _FAILED_SEEN:
            return
        _FAILED_SEEN[uid] = None
        while len(_FAILED_SEEN) > _FAILED_SEEN_MOST:
            _FAILED_SEEN.popitem(last=False)
    JOBS_FAILED.labels(job).inc()


class _Resources(Collector):
    """`kopfka_resources{kind, ready}`: the resources the operator watches, by their Ready
    condition's status (True, False, Unknown), from indexes of the objects as last seen."""

    def __init__(self) -> None:
        self.indexes: dict[str, Callable[[], Iterable[Mapping[str, Any]]]] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "kopfka_resources",
            "Resources the operator watches, by kind and the status of their Ready condition.",
            labels=["kind", "ready"],
        )
        for kind, bodies in sorted(self.indexes.items()):
            counts = {"True": 0, "False": 0, "Unknown": 0}
            for body in bodies():
                counts[_ready(body)] += 1
            for ready, count in counts.items():
                family.add_metric([kind, ready], count)
        yield family


def _ready(body: Mapping[str, Any]) -> str:
    for condition in (body.get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            status = condition.get("status")
            return status if status in ("True", "False") else "Unknown"
    return "Unknown"


_resources = _Resources()
REGISTRY.register(_resources)


def watch_resources(kind: str, bodies: Callable[[], Iterable[Mapping[str, Any]]]) -> None:
    """Count `kind` by Ready status at each scrape, from what `bodies()` returns then."""
    _resources.indexes[kind] = bodies


# The labels of `kafka_consumergroup_lag`: the KafkaCluster's namespace and name, then Kafka's.
CONSUMER_LAG_LABELS = ("namespace", "cluster", "consumergroup", "topic", "partition")
# (namespace, name) of a KafkaCluster, and (group, topic, partition) of a committed offset.
ClusterKey = tuple[str, str]
LagKey = tuple[str, str, int]


class _ConsumerLag(Collector):
    """`kafka_consumergroup_lag`: the last lag read of each cluster, as a whole per cluster."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lags: dict[ClusterKey, dict[LagKey, int]] = {}
        self.clusters: Callable[[], Iterable[ClusterKey]] | None = None

    def set(self, cluster: ClusterKey, lags: Mapping[LagKey, int] | None) -> None:
        with self._lock:
            if lags is None:
                self._lags.pop(cluster, None)
            else:
                self._lags[cluster] = dict(lags)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "kafka_consumergroup_lag",
            "Messages a consumer group's committed offset of a partition is behind the "
            "partition's end (high watermark), as the operator last read it.",
            labels=list(CONSUMER_LAG_LABELS),
        )
        watched = None if self.clusters is None else set(self.clusters())
        with self._lock:
            if watched is not None:
                for gone in self._lags.keys() - watched:
                    del self._lags[gone]
            lags = list(self._lags.items())
        for (namespace, cluster), by_partition in sorted(lags):
            for (group, topic, partition), lag in sorted(by_partition.items()):
                family.add_metric([namespace, cluster, group, topic, str(partition)], lag)
        yield family


_consumer_lag = _ConsumerLag()
REGISTRY.register(_consumer_lag)


def consumer_lag(namespace: str, cluster: str, lags: Mapping[LagKey, int] | None) -> None:
    """A cluster's consumer lag, by (group, topic, partition), in place of what it was; None
    removes the cluster's series (it could not be read, or is paused)."""
    _consumer_lag.set((namespace, cluster), lags)


def watch_consumer_lag_clusters(clusters: Callable[[], Iterable[ClusterKey]]) -> None:
    """At each scrape, drop the lag of clusters that `clusters()` no longer names."""
    _consumer_lag.clusters = clusters


def serve(port: int, address: str = "0.0.0.0") -> None:
    """Expose every metric (and the Python process's own) on http://address:port/metrics."""
    start_http_server(port, addr=address)
