"""Consumer lag without Kafka: the lag of one commit, the interval setting, and the series
bookkeeping of `kafka_consumergroup_lag` (each read replaces a cluster's series as a whole; a
cluster that is paused, not started, unreadable or no longer watched has none). The reads
themselves are tested against real Kafka (tests/kafka/test_consumer_lag.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import kopf
import pytest
from prometheus_client import REGISTRY

from kopfka import metrics
from kopfka.handlers import lag
from kopfka.kafka.admin import KafkaUnavailable, unreachable
from kopfka.kafka.facts import PartitionLag
from kopfka.model import names

NAMESPACE = "lag-unit"


@pytest.fixture(autouse=True)
def _no_lag_left() -> Iterator[None]:
    yield
    metrics.watch_consumer_lag_clusters(lambda: [])
    REGISTRY.get_sample_value("kafka_consumergroup_lag", {})  # a scrape, which drops them all
    metrics._consumer_lag.clusters = None


def sample(cluster: str, group: str = "billing", topic: str = "orders", partition: int = 0) -> Any:
    return REGISTRY.get_sample_value(
        "kafka_consumergroup_lag",
        {
            "namespace": NAMESPACE,
            "cluster": cluster,
            "consumergroup": group,
            "topic": topic,
            "partition": str(partition),
        },
    )


@pytest.mark.parametrize(
    ("committed", "end", "expected"),
    [
        (4, 10, 6),
        (10, 10, 0),
        (0, 0, 0),
        (12, 10, 0),  # committed beyond the end (or a log cut below it): no negative lag
    ],
)
def test_lag_is_the_end_minus_the_commit_never_below_zero(
    committed: int, end: int, expected: int
) -> None:
    assert PartitionLag("g", "t", 0, committed=committed, end=end).lag == expected


@pytest.mark.parametrize(
    ("raw", "interval"),
    [(None, 30.0), ("", 30.0), ("12.5", 12.5), ("60", 60.0), ("0", None), ("0.0", None)],
)
def test_the_interval_comes_from_the_environment_and_0_turns_it_off(
    monkeypatch: pytest.MonkeyPatch, raw: str | None, interval: float | None
) -> None:
    if raw is None:
        monkeypatch.delenv(lag.INTERVAL_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(lag.INTERVAL_VARIABLE, raw)
    assert lag.lag_interval() == interval


@pytest.mark.parametrize("raw", ["-30", "soon"])
def test_an_interval_that_is_no_positive_number_is_refused(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv(lag.INTERVAL_VARIABLE, raw)
    with pytest.raises(ValueError, match=lag.INTERVAL_VARIABLE):
        lag.lag_interval()


def test_a_read_replaces_the_clusters_series_as_a_whole() -> None:
    metrics.consumer_lag(NAMESPACE, "events", {("billing", "orders", 0): 5, ("audit", "x", 1): 2})
    metrics.consumer_lag(NAMESPACE, "other", {("billing", "orders", 0): 9})
    assert (sample("events"), sample("events", "audit", "x", 1), sample("other")) == (5, 2, 9)
    metrics.consumer_lag(NAMESPACE, "events", {("billing", "orders", 0): 7})
    assert (sample("events"), sample("events", "audit", "x", 1), sample("other")) == (7, None, 9)
    metrics.consumer_lag(NAMESPACE, "events", None)
    assert (sample("events"), sample("other")) == (None, 9)


def test_clusters_no_longer_watched_lose_their_series_at_the_scrape() -> None:
    watched = [(NAMESPACE, "events"), (NAMESPACE, "other")]
    metrics.watch_consumer_lag_clusters(lambda: watched)
    metrics.consumer_lag(NAMESPACE, "events", {("billing", "orders", 0): 5})
    metrics.consumer_lag(NAMESPACE, "other", {("billing", "orders", 0): 9})
    watched.remove((NAMESPACE, "events"))
    assert (sample("events"), sample("other")) == (None, 9)
    watched.append((NAMESPACE, "events"))
    assert sample("events") is None, "what a scrape dropped does not come back"


class FakeAdmin:
    def __init__(self, answer: tuple[PartitionLag, ...] | Exception) -> None:
        self.answer = answer
        self.closed = False

    def consumer_lag(self) -> tuple[PartitionLag, ...]:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def close(self) -> None:
        self.closed = True


def _unreachable_connect(_: str) -> FakeAdmin:
    raise KafkaUnavailable("no bootstrap server answered")


@pytest.mark.parametrize(
    ("connect_fails", "failure", "marked_unreachable"),
    [
        (True, None, True),  # left alone for a while, as the operator's other reads do
        (False, KafkaUnavailable("NOT_COORDINATOR"), False),  # answered, then failed: transient
        (False, RuntimeError("GROUP_AUTHORIZATION_FAILED"), False),
    ],
)
def test_a_cluster_that_cannot_be_read_keeps_no_series(
    connect_fails: bool, failure: Exception | None, marked_unreachable: bool
) -> None:
    bootstrap = f"events-{connect_fails}-{type(failure).__name__}.lag-unit.svc:9092"
    admin = FakeAdmin((PartitionLag("billing", "orders", 0, committed=4, end=10),))
    assert lag.collect_cluster(NAMESPACE, "events", bootstrap, connect=lambda _: admin)
    assert sample("events") == 6
    admin = FakeAdmin(failure or ())
    read = lag.collect_cluster(
        NAMESPACE,
        "events",
        bootstrap,
        connect=_unreachable_connect if connect_fails else lambda _: admin,
    )
    assert not read
    assert sample("events") is None
    assert admin.closed is not connect_fails
    assert unreachable.recently(bootstrap) is marked_unreachable
    unreachable.mark(bootstrap, reachable=True)


@pytest.mark.parametrize(
    ("annotations", "status"),
    [
        ({names.PAUSED_ANNOTATION: "true"}, {"clusterId": "id", "bootstrapServers": "b:9092"}),
        ({}, {"bootstrapServers": "b:9092"}),  # not started: no cluster id yet
        ({}, {}),
    ],
)
def test_paused_or_unstarted_clusters_are_not_read_and_have_no_series(
    annotations: dict[str, str], status: dict[str, Any]
) -> None:
    metrics.consumer_lag(NAMESPACE, "events", {("billing", "orders", 0): 5})
    body = {
        "metadata": {"namespace": NAMESPACE, "name": "events", "annotations": annotations},
        "status": status,
    }
    # No API client in the memo: it would be asked for the operator's certificate, and Kafka at
    # b:9092 read (and fail), if the cluster were read.
    lag._collect(kopf.Memo(), body)
    assert sample("events") is None
    assert not unreachable.recently("b:9092")
