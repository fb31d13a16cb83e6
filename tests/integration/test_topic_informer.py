"""The KafkaTopic informer (kopfka.k8s.informer) against the real API server: it lists in pages,
keeps a small snapshot of each KafkaTopic grouped by the cluster it names, and follows every
change. A watch from a version the API server no longer keeps is Gone (on which the informer's
loop lists again), and that new list reports what was deleted meanwhile: the two steps are run
here one by one. The operator's picture of the KafkaTopics is this cache: a change it missed is a
topic never synced."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from kopfka.handlers.topic import keep_topic, topic_cluster_key
from kopfka.k8s import informer as informer_module
from kopfka.k8s.informer import Gone, Informer
from kopfka.k8s.rest import RestClient
from kopfka.model import names
from tests.support.kube import TestKube
from tests.support.manifests import GROUP_VERSION, kafka_topic
from tests.support.waiting import wait_for

TOPICS = 45
PAGE = 20


class Recording(Informer[tuple[str, str]]):
    """The informer, with the queries of its requests and the events it reported kept."""

    def __init__(self, kube: TestKube, namespace: str) -> None:
        self.rest = RestClient.from_kubeconfig(kube.kubeconfig)
        super().__init__(
            self.rest,
            group=names.GROUP,
            version=names.VERSION,
            plural=names.TOPIC_PLURAL,
            namespaces=[namespace],
            keep=keep_topic,
            key=topic_cluster_key,
            on_event=self._record,
            name="test-kafkatopics",
        )
        self.queries: list[dict[str, str]] = []
        self.events: list[tuple[str, str]] = []
        self._events_lock = threading.Lock()

    def _request(self, path: str, query: list[tuple[str, str]], *, read_timeout: float) -> Any:
        self.queries.append(dict(query))
        return super()._request(path, query, read_timeout=read_timeout)

    def _record(self, kind: str, obj: dict[str, Any]) -> None:
        with self._events_lock:
            self.events.append((kind, obj["metadata"]["name"]))

    def seen(self, kind: str, name: str) -> bool:
        with self._events_lock:
            return (kind, name) in self.events

    def names(self, namespace: str, cluster: str) -> set[str]:
        return {obj["metadata"]["name"] for obj in self.get((namespace, cluster))}


@pytest.fixture
def topics(kube: TestKube, crds: list[str], namespace: str) -> str:
    """KafkaTopics t-00..t-44 in `namespace`: the odd ones name cluster `odd`, the rest `even`."""
    kube.apply(
        *(
            kafka_topic(f"t-{i:02d}", namespace, {"cluster": "odd" if i % 2 else "even"})
            for i in range(TOPICS)
        )
    )
    return namespace


@pytest.fixture
def informer(kube: TestKube, topics: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Recording]:
    monkeypatch.setattr(informer_module, "PAGE_SIZE", PAGE)
    made = Recording(kube, topics)
    yield made
    made.stop()
    made.rest.close()


def test_the_informer_lists_in_pages_and_follows_every_change(
    kube: TestKube, topics: str, informer: Recording
) -> None:
    namespace = topics
    informer.start()
    assert informer.synced.wait(30), "the informer never finished its first list"

    lists = [q for q in informer.queries if "watch" not in q]
    assert len(lists) == -(-TOPICS // PAGE)  # 45 KafkaTopics in pages of 20: 3 requests
    assert all(q["limit"] == str(PAGE) for q in lists)
    assert [bool(q.get("continue")) for q in lists] == [False, True, True]
    odd = {f"t-{i:02d}" for i in range(1, TOPICS, 2)}
    even = {f"t-{i:02d}" for i in range(0, TOPICS, 2)}
    assert informer.names(namespace, "odd") == odd
    assert informer.names(namespace, "even") == even
    assert sorted(informer.groups()) == [(namespace, "even"), (namespace, "odd")]
    kept = informer.get((namespace, "odd"))[0]
    live = kube.topic(kept["metadata"]["name"], namespace)
    assert live is not None
    # kubectl apply gave each an annotation, and the API server managedFields: not kept.
    assert {"annotations", "managedFields"} <= set(live["metadata"])
    assert not {"labels", "annotations", "managedFields"} & set(kept["metadata"])
    for field in ("name", "namespace", "uid", "generation"):
        assert kept["metadata"][field] == live["metadata"][field], field
    assert kept["metadata"]["resourceVersion"]  # its status may be written meanwhile
    assert kept["spec"]["cluster"] == "odd"

    # A KafkaTopic changed is kept as it is now; one deleted goes; one made comes.
    kube.merge_patch(GROUP_VERSION, "KafkaTopic", "t-00", namespace, {"spec": {"partitions": 3}})
    kube.delete(GROUP_VERSION, "KafkaTopic", "t-01", namespace)
    kube.apply(kafka_topic("t-new", namespace, {"cluster": "even"}))

    def partitions(name: str) -> Any:
        found = [o for o in informer.get((namespace, "even")) if o["metadata"]["name"] == name]
        return found[0]["spec"].get("partitions") if found else None

    wait_for(
        lambda: (
            informer.names(namespace, "odd") == odd - {"t-01"}
            and informer.names(namespace, "even") == even | {"t-new"}
            and partitions("t-00") == 3
        ),
        timeout=30,
        what="the informer to follow a change, a deletion and a creation",
        describe=lambda: str(informer.events[-10:]),
    )
    assert informer.seen("DELETED", "t-01")
    assert informer.seen("ADDED", "t-new")
    assert informer.seen("MODIFIED", "t-00")


def test_a_watch_from_a_version_too_old_is_gone_and_a_new_list_reports_what_went_meanwhile(
    kube: TestKube, topics: str, informer: Recording
) -> None:
    namespace = topics
    # The informer's own steps, as its thread runs them: a list, then a watch from its version.
    version = informer._list(namespace)
    assert version
    assert len(informer.all()) == TOPICS

    # Watching from a version the API server no longer keeps is refused with 410 Gone, which
    # makes the informer list again.
    with pytest.raises(Gone):
        informer._watch(namespace, "1")

    kube.delete(GROUP_VERSION, "KafkaTopic", "t-02", namespace)
    kube.delete(GROUP_VERSION, "KafkaTopic", "t-03", namespace)
    informer._list(namespace)
    assert informer.seen("DELETED", "t-02")
    assert informer.seen("DELETED", "t-03")
    assert len(informer.all()) == TOPICS - 2
    assert "t-02" not in informer.names(namespace, "even")
