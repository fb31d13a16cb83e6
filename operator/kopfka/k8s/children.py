"""The objects kopfka makes for its KafkaClusters (ServiceAccounts, ConfigMaps, Services,
StatefulSets, PodDisruptionBudgets, NetworkPolicies), as last seen, so that reconciles read them
from memory.

Why: a drift reconcile of a steady cluster read each of its children and listed its ConfigMaps:
13 of its 15 requests, every minute, for every cluster (bench/results/integration.json counts
them; 2 are left). One informer per kind (k8s/informer.py) now follows the objects labelled
`app.kubernetes.io/managed-by=kopfka` in the watched namespaces (the API server filters), and
`Kube.get` and `Kube.list` answer from it what it can answer completely:

- a get of a cached kind whose object is in the cache. For `Kube.get` a miss is no answer (an
  object kopfka did not make has no such label) and is read from the API server; `Kube.get_made`
  and `Kube.apply_all` take a miss as "kopfka made none": apply_all learns from its dry run
  whether an object of that name exists all the same, and only then reads it, to refuse taking
  it over;
- a list whose label selector includes the cache's own, so every object it asks for is in the
  cache.

Objects are kept as compact JSON (without `managedFields`) and decoded on each read, so a reader
gets its own copy and the cache costs little memory. Until a kind's first list is complete its
reads go to the API server. The cache follows the API server by a watch event's delay: a reconcile
just after a write may compare with the object as it was and apply again (a write that changes
nothing), and an edit by someone else in that instant is seen by the next reconcile.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kopfka.k8s.informer import Informer
from kopfka.model.names import MANAGED_BY

Obj = dict[str, Any]

SELECTOR = ",".join(f"{label}={value}" for label, value in MANAGED_BY.items())
# (apiVersion, kind) -> plural, for the kinds a reconcile applies.
KINDS: dict[tuple[str, str], str] = {
    ("v1", "ServiceAccount"): "serviceaccounts",
    ("v1", "ConfigMap"): "configmaps",
    ("v1", "Service"): "services",
    ("apps/v1", "StatefulSet"): "statefulsets",
    ("policy/v1", "PodDisruptionBudget"): "poddisruptionbudgets",
    ("networking.k8s.io/v1", "NetworkPolicy"): "networkpolicies",
}

Key = tuple[str, str]  # (namespace, name)


def keep(obj: Obj, *, api_version: str, kind: str) -> Obj:
    """What the cache holds of an object: its identity and labels, and the rest as JSON (with
    its apiVersion and kind, which a list leaves out of its items)."""
    metadata = obj["metadata"]
    stripped = {
        **obj,
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {k: v for k, v in metadata.items() if k != "managedFields"},
    }
    return {
        "metadata": {
            "uid": metadata["uid"],
            "namespace": metadata.get("namespace"),
            "name": metadata["name"],
            "resourceVersion": metadata.get("resourceVersion"),
            "labels": dict(metadata.get("labels") or {}),
        },
        "json": json.dumps(stripped, separators=(",", ":")).encode(),
    }


def _key(kept: Obj) -> Key:
    return kept["metadata"]["namespace"], kept["metadata"]["name"]


def _ignore(_type: str, _kept: Obj) -> None:
    """Reconciles read the cache when they run; no event starts one."""


class Children:
    """One informer per kind of KINDS, started together."""

    def __init__(
        self,
        informer_of: Callable[..., Informer[Key]],
        namespaces: Sequence[str] | None,
    ) -> None:
        """`informer_of(**arguments)` makes an Informer (the caller gives it its API client)."""
        self._informers: dict[tuple[str, str], Informer[Key]] = {}
        for (api_version, kind), plural in KINDS.items():
            group, _, version = api_version.rpartition("/")
            self._informers[api_version, kind] = informer_of(
                group=group,
                version=version,
                plural=plural,
                namespaces=namespaces,
                keep=functools.partial(keep, api_version=api_version, kind=kind),
                key=_key,
                on_event=_ignore,
                name=plural,
                label_selector=SELECTOR,
            )

    def start(self) -> None:
        for informer in self._informers.values():
            informer.start()

    def stop(self) -> None:
        for informer in self._informers.values():
            informer.stop()

    def _synced(self, api_version: str, kind: str) -> Informer[Key] | None:
        informer = self._informers.get((api_version, kind))
        return informer if informer is not None and informer.synced.is_set() else None

    def covers(self, api_version: str, kind: str) -> bool:
        """Whether the cache holds every object of this kind that kopfka made (its first list is
        complete): then a miss means kopfka made no object of that name."""
        return self._synced(api_version, kind) is not None

    def get(self, api_version: str, kind: str, name: str, namespace: str) -> Obj | None:
        """The object if the cache has it; None is no answer (not cached, or not made by
        kopfka): read it from the API server."""
        informer = self._synced(api_version, kind)
        if informer is None:
            return None
        found = informer.get((namespace, name))
        return json.loads(found[0]["json"]) if found else None

    def list(
        self, api_version: str, kind: str, namespace: str, labels: Mapping[str, str]
    ) -> list[Obj] | None:
        """The objects in `namespace` with every label of `labels`, if the cache holds all such
        objects (`labels` includes the cache's selector); None: list them from the API server."""
        informer = self._synced(api_version, kind)
        if informer is None or any(labels.get(k) != v for k, v in MANAGED_BY.items()):
            return None
        return [
            json.loads(kept["json"])
            for kept in informer.all()
            if kept["metadata"]["namespace"] == namespace
            and all(kept["metadata"]["labels"].get(k) == v for k, v in labels.items())
        ]
