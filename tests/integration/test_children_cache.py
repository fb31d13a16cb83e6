"""The cache of the objects kopfka makes (kopfka.k8s.children), through `Kube`, against the real API
server: gets and lists of kopfka's objects are answered from memory, a name the cache does not hold
is read from the API server (an object kopfka did not make must still be seen, so that it is never
taken over), a list is answered from memory only when its selector covers the cache's, the cache
follows changes and deletions, and every read gets its own copy. `Kube.apply_all` makes new objects
with a read and a write each (a dry run only for StatefulSets, made last), undoes them when one is
refused, and refuses an object of a name it would use that kopfka did not make."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
import yaml

from kopfka.k8s.children import Children
from kopfka.k8s.client import ApplyError, Kube, NotOwned
from kopfka.k8s.informer import Informer
from kopfka.k8s.rest import RestClient
from kopfka.model import names
from tests.support.apiproxy import ApiProxy
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


@pytest.fixture
def through_proxy(api_proxy: ApiProxy, namespace: str) -> Iterator[Kube]:
    """A Kube reading from the cache, as the operator's ServiceAccount, through the recording
    proxy (which counts what it asks the API server)."""
    rest = RestClient.from_kubeconfig(api_proxy.kubeconfig)
    children = Children(functools.partial(Informer, rest), [namespace])
    children.start()
    try:
        wait_for(
            lambda: (
                children.covers("v1", "ConfigMap") and children.covers("apps/v1", "StatefulSet")
            ),
            timeout=60,
            what="the cache to list ConfigMaps and StatefulSets",
        )
        client = Kube(rest)
        client.read_children_from(children)
        yield client
    finally:
        children.stop()


def _owned(obj: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
    reference = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
    }
    return {**obj, "metadata": {**obj["metadata"], "ownerReferences": [reference]}}


def _owner(kube: TestKube, namespace: str) -> dict[str, Any]:
    kube.apply(config_map("owner", namespace, {}, "0"))
    return kube.must_get("v1", "ConfigMap", "owner", namespace)


def _stateful_set(name: str, namespace: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "serviceName": name,
            "replicas": 0,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": f"{name}:1"}]},
            },
        },
    }


def _asked(api_proxy: ApiProxy, since: float, path: str) -> list[tuple[str, bool, int]]:
    """(method, dry run, status) of each request for `path` since `since`."""
    asked = api_proxy.requests(since=since, path=path)
    return [(r.method, "dryRun=All" in r.path, r.status) for r in asked]


def test_apply_all_makes_new_objects_with_one_read_and_one_write_each_statefulsets_last(
    kube: TestKube, through_proxy: Kube, api_proxy: ApiProxy, namespace: str
) -> None:
    owner = _owner(kube, namespace)
    mark = time.time()
    through_proxy.apply_all(
        [
            _owned(_stateful_set("fresh-set", namespace, OURS), owner),
            _owned(config_map("fresh", namespace, OURS, "new"), owner),
        ]
    )
    assert kube.must_get("v1", "ConfigMap", "fresh", namespace)["data"] == {"value": "new"}
    made_set = kube.must_get("apps/v1", "StatefulSet", "fresh-set", namespace)
    assert made_set["metadata"]["ownerReferences"][0]["uid"] == owner["metadata"]["uid"]
    config_path = f"/namespaces/{namespace}/configmaps/fresh"
    set_path = f"/namespaces/{namespace}/statefulsets/fresh-set"
    # The name is read (someone else's object of that name is never taken over), then made:
    # no dry run, which only a change to existing objects needs.
    assert _asked(api_proxy, mark, config_path) == [("GET", False, 404), ("PATCH", False, 201)]
    # The StatefulSet, which starts pods, is dry-run before anything is made, and made last.
    assert _asked(api_proxy, mark, set_path) == [
        ("GET", False, 404),
        ("PATCH", True, 201),
        ("PATCH", False, 201),
    ]
    order = [
        (r.path.split("?")[0], "dryRun=All" in r.path)
        for r in api_proxy.requests(since=mark, method="PATCH")
    ]
    assert order == [
        (f"/apis/apps/v1{set_path}", True),
        (f"/api/v1{config_path}", False),
        (f"/apis/apps/v1{set_path}", False),
    ]


def test_a_new_object_refused_undoes_the_new_objects_made_before_it_and_makes_no_statefulset(
    kube: TestKube, through_proxy: Kube, api_proxy: ApiProxy, namespace: str
) -> None:
    owner = _owner(kube, namespace)
    refused = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "undo-refused", "namespace": namespace, "labels": OURS},
        # Only the API server checks a port's range.
        "spec": {"ports": [{"name": "kafka", "port": 70000}], "selector": {"app": "x"}},
    }
    mark = time.time()
    with pytest.raises(ApplyError, match=r"Service undo-refused: .*70000"):
        through_proxy.apply_all(
            [
                _owned(config_map("undo-made", namespace, OURS, "v"), owner),
                _owned(refused, owner),
                _owned(_stateful_set("undo-set", namespace, OURS), owner),
            ]
        )
    assert kube.get("v1", "ConfigMap", "undo-made", namespace) is None
    assert kube.get("v1", "Service", "undo-refused", namespace) is None
    assert kube.get("apps/v1", "StatefulSet", "undo-set", namespace) is None
    config_path = f"/namespaces/{namespace}/configmaps/undo-made"
    assert _asked(api_proxy, mark, config_path) == [
        ("GET", False, 404),
        ("PATCH", False, 201),
        ("DELETE", False, 200),
    ]
    # Its dry run only: no pod could start.
    set_path = f"/namespaces/{namespace}/statefulsets/undo-set"
    assert _asked(api_proxy, mark, set_path) == [("GET", False, 404), ("PATCH", True, 201)]


def test_apply_all_refuses_objects_of_the_name_that_kopfka_did_not_make(
    kube: TestKube, through_proxy: Kube, namespace: str
) -> None:
    owner = _owner(kube, namespace)
    theirs_set = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "theirs-set", "namespace": namespace},
        "spec": {
            "serviceName": "theirs",
            "replicas": 0,
            "selector": {"matchLabels": {"app": "theirs"}},
            "template": {
                "metadata": {"labels": {"app": "theirs"}},
                "spec": {"containers": [{"name": "c", "image": "theirs:1"}]},
            },
        },
    }
    kube.apply(config_map("theirs", namespace, {}, "3"), theirs_set)
    ours_set = {
        **theirs_set,
        "metadata": {**theirs_set["metadata"], "labels": OURS},
        "spec": {
            **theirs_set["spec"],
            "serviceName": "ours",  # immutable: the dry run alone would be refused for it
            "selector": {"matchLabels": {"app": "ours"}},
            "template": {
                "metadata": {"labels": {"app": "ours"}},
                "spec": {"containers": [{"name": "c", "image": "ours:1"}]},
            },
        },
    }
    for desired, kind in [
        (config_map("theirs", namespace, OURS, "ours"), "ConfigMap"),
        (ours_set, "StatefulSet"),
    ]:
        with pytest.raises(NotOwned, match=f"{kind} {namespace}/theirs.* already exists"):
            through_proxy.apply_all([_owned(desired, owner)])
    left = kube.must_get("v1", "ConfigMap", "theirs", namespace)
    assert left["data"] == {"value": "3"}
    assert not left["metadata"].get("labels")
    assert not left["metadata"].get("ownerReferences")
    left_set = kube.must_get("apps/v1", "StatefulSet", "theirs-set", namespace)
    assert left_set["spec"]["serviceName"] == "theirs"
    assert not left_set["metadata"].get("ownerReferences")


def test_apply_all_puts_back_the_label_of_an_object_it_made(
    kube: TestKube, through_proxy: Kube, namespace: str
) -> None:
    owner = _owner(kube, namespace)
    desired = _owned(config_map("relabel", namespace, OURS, "v"), owner)
    through_proxy.apply_all([desired])
    managed_by = next(iter(names.MANAGED_BY))
    kube.kubectl("label", "configmap", "relabel", "-n", namespace, f"{managed_by}-")
    wait_for(
        lambda: through_proxy.get_made("v1", "ConfigMap", "relabel", namespace) is None,
        timeout=30,
        what="the cache to drop the ConfigMap without kopfka's label",
    )
    through_proxy.apply_all([desired])
    labels = kube.must_get("v1", "ConfigMap", "relabel", namespace)["metadata"]["labels"]
    assert labels == OURS
