"""The cache of the objects kopfka makes (kopfka.k8s.children), through `Kube`, against the real API
server: gets and lists of kopfka's objects are answered from memory, a name the cache does not hold
is read from the API server (an object kopfka did not make must still be seen, so that it is never
taken over), a list is answered from memory only when its selector covers the cache's, the cache
follows changes and deletions, and every read gets its own copy."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
import yaml

from kopfka.k8s.children import Children
from kopfka.k8s.client import Kube
from kopfka.k8s.informer import Informer
from kopfka.k8s.rest import RestClient
from kopfka.model import names
from tests.support.kube import TestKube
from tests.support.waiting import wait_for

OURS = {**names.MANAGED_BY, names.CLUSTER_LABEL: "events"}


def config_map(name: str, namespace: str, labels: dict[str, str], value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "data": {"value": value},
    }


@pytest.fixture
def cached(kube: TestKube, namespace: str) -> Iterator[tuple[Kube, Children]]:
    kube.apply(
        config_map("ours-a", namespace, OURS, "1"),
        config_map("ours-b", namespace, OURS, "2"),
        config_map("theirs", namespace, {names.CLUSTER_LABEL: "events"}, "3"),
    )
    rest = RestClient.from_kubeconfig(kube.kubeconfig)
    children = Children(functools.partial(Informer, rest), [namespace])
    children.start()
    try:
        wait_for(
            lambda: children.get("v1", "ConfigMap", "ours-a", namespace) is not None,
            timeout=60,
            what="the cache to list the ConfigMaps",
        )
        client = Kube(rest)
        client.read_children_from(children)
        yield client, children
    finally:
        children.stop()


def test_kopfkas_objects_come_from_the_cache_and_others_from_the_api_server(
    cached: tuple[Kube, Children], namespace: str, tmp_path: Path
) -> None:
    client, children = cached
    # A Kube whose API server is nowhere: what it answers, it answered from the cache.
    nowhere = tmp_path / "kubeconfig"
    nowhere.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    offline = Kube(RestClient.from_kubeconfig(nowhere))
    offline.read_children_from(children)
    cached_copy = offline.get("v1", "ConfigMap", "ours-a", namespace)
    assert cached_copy is not None
    assert cached_copy["data"] == {"value": "1"}
    assert [c["metadata"]["name"] for c in offline.list("v1", "ConfigMap", namespace, OURS)] == [
        "ours-a",
        "ours-b",
    ]
    with pytest.raises(urllib3.exceptions.HTTPError):  # a miss goes to the API server
        offline.get("v1", "ConfigMap", "theirs", namespace)
    assert children.get("v1", "ConfigMap", "ours-b", namespace)["data"] == {"value": "2"}  # type: ignore[index]
    # Not labelled by kopfka: not in the cache, yet `Kube.get` finds it (apply_all must see it).
    assert children.get("v1", "ConfigMap", "theirs", namespace) is None
    theirs = client.get("v1", "ConfigMap", "theirs", namespace)
    assert theirs is not None
    assert theirs["data"] == {"value": "3"}
    assert client.get("v1", "ConfigMap", "nobody", namespace) is None
    # A kind the cache does not hold.
    assert children.get("v1", "Secret", "ours-a", namespace) is None


def test_a_list_is_answered_from_memory_only_when_its_selector_covers_the_caches(
    cached: tuple[Kube, Children], namespace: str
) -> None:
    client, children = cached
    from_memory = children.list("v1", "ConfigMap", namespace, OURS)
    assert from_memory is not None
    assert sorted(c["metadata"]["name"] for c in from_memory) == ["ours-a", "ours-b"]
    # Whole objects, as a reader passes them on (kube.delete needs apiVersion and kind, which a
    # list leaves out of its items).
    assert {(c["apiVersion"], c["kind"]) for c in from_memory} == {("v1", "ConfigMap")}
    # Without managed-by the cache cannot know every match: the API server answers, with theirs.
    wider = {names.CLUSTER_LABEL: "events"}
    assert children.list("v1", "ConfigMap", namespace, wider) is None
    listed = client.list("v1", "ConfigMap", namespace, wider)
    assert sorted(c["metadata"]["name"] for c in listed) == ["ours-a", "ours-b", "theirs"]
    assert children.list("v1", "ConfigMap", "elsewhere", OURS) == []


def test_the_cache_follows_changes_and_deletions(
    kube: TestKube, cached: tuple[Kube, Children], namespace: str
) -> None:
    client, _ = cached
    kube.apply(config_map("ours-a", namespace, OURS, "changed"))
    wait_for(
        lambda: (
            (client.get("v1", "ConfigMap", "ours-a", namespace) or {}).get("data")
            == {"value": "changed"}
        ),
        timeout=30,
        what="the change to reach the cache",
    )
    kube.delete("v1", "ConfigMap", "ours-b", namespace)
    wait_for(
        lambda: client.get("v1", "ConfigMap", "ours-b", namespace) is None,
        timeout=30,
        what="the deletion to reach the cache",
    )
    kube.apply(config_map("ours-c", namespace, OURS, "new"))
    wait_for(
        lambda: (
            [c["metadata"]["name"] for c in client.list("v1", "ConfigMap", namespace, OURS)]
            == ["ours-a", "ours-c"]
        ),
        timeout=30,
        what="the new ConfigMap to reach the cache",
    )


def test_every_read_is_a_copy_without_managed_fields(
    cached: tuple[Kube, Children], namespace: str
) -> None:
    client, _ = cached
    first = client.get("v1", "ConfigMap", "ours-a", namespace)
    assert first is not None
    assert "managedFields" not in first["metadata"]
    assert first["metadata"]["uid"]
    assert first["metadata"]["resourceVersion"]
    first["data"]["value"] = "scribbled"
    again = client.get("v1", "ConfigMap", "ours-a", namespace)
    assert again is not None
    assert again["data"] == {"value": "1"}
