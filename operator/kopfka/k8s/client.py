"""A small typed facade over the Kubernetes API for the operator's needs.

Writes go through `apply` (server-side apply, field manager `kopfka`), which first compares the live
object with the desired one and sends nothing when it is already in place: a reconcile of an
unchanged resource makes no write. Requests go through kopfka's own transport (k8s/rest.py), to
paths from a fixed table of kinds (k8s/resources.py).
"""

from __future__ import annotations

import builtins
import copy
import dataclasses
import datetime
import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, cast

from kopfka.k8s.children import Children
from kopfka.k8s.drift import contains
from kopfka.k8s.resources import resource
from kopfka.k8s.rest import ApiError, RestClient
from kopfka.model import names
from kopfka.model.hashing import stable_hash

logger = logging.getLogger(__name__)

Obj = dict[str, Any]


class Conflict(Exception):
    """The object changed since it was read; the caller should read it again and retry."""


class ApplyError(Exception):
    """The API server refused an object the operator rendered; the message says why."""


class NotOwned(ApplyError):
    """An object of the name the operator would apply exists and belongs to someone else."""


def api_client() -> RestClient:
    """A client with its own connections. In a pod: its service account; elsewhere: KUBECONFIG
    (its first file) or ~/.kube/config (k8s/connection.py)."""
    return RestClient.from_environment()


def _path(obj: Obj, *, subresource: str = "") -> str:
    metadata = obj["metadata"]
    return resource(obj["apiVersion"], obj["kind"]).path(
        namespace=metadata.get("namespace"), name=metadata["name"], subresource=subresource
    )


class Kube:
    def __init__(self, api_client: RestClient) -> None:
        self._api = api_client
        self._children: Children | None = None

    def read_children_from(self, children: Children) -> None:
        """Answer gets and lists of the objects kopfka makes from `children` where it can
        (k8s/children.py says when)."""
        self._children = children

    @classmethod
    def from_environment(cls) -> Kube:
        return cls(api_client())

    def _merge_patch(self, path: str, body: Obj, *, query: Sequence[tuple[str, str]] = ()) -> Obj:
        return cast(
            Obj,
            self._api.request(
                "PATCH", path, query=query, body=body, content_type="application/merge-patch+json"
            ),
        )

    def get(self, api_version: str, kind: str, name: str, namespace: str) -> Obj | None:
        if self._children is not None:
            cached = self._children.get(api_version, kind, name, namespace)
            if cached is not None:
                return cached
        return self._read(api_version, kind, name, namespace)

    def get_made(self, api_version: str, kind: str, name: str, namespace: str) -> Obj | None:
        """The object of that name if kopfka made it (it carries kopfka's managed-by label), else
        None; from the cache of kopfka's objects when it covers the kind."""
        if self._children is not None and self._children.covers(api_version, kind):
            return self._children.get(api_version, kind, name, namespace)
        live = self._read(api_version, kind, name, namespace)
        return live if live is not None and _made_by_kopfka(live) else None

    def _read(self, api_version: str, kind: str, name: str, namespace: str) -> Obj | None:
        path = resource(api_version, kind).path(namespace=namespace, name=name)
        try:
            return cast(Obj, self._api.request("GET", path))
        except ApiError as error:
            if error.not_found:
                return None
            raise

    def list(
        self, api_version: str, kind: str, namespace: str, labels: Mapping[str, str]
    ) -> list[Obj]:
        if self._children is not None:
            cached = self._children.list(api_version, kind, namespace, labels)
            if cached is not None:
                return cached
        selector = ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
        path = resource(api_version, kind).path(namespace=namespace)
        found = self._api.request("GET", path, query=[("labelSelector", selector)])
        items: list[Obj] = found.get("items") or []
        # The API server leaves them out of a list's items; callers pass items on as objects.
        for item in items:
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    def apply_all(self, objects: Sequence[Obj]) -> None:
        """Server-side apply every object of `objects` that is not already in place.

        All or nothing as far as the API server can tell in advance. When some of them exist
        (a change to a running cluster), every object that needs a write is first sent as a dry
        run, so an object the API server refuses stops the whole set before anything changes
        (never half-applied). When none exists yet (a new cluster), `_make_all` gets the same
        outcome for a fraction of the requests.

        The live objects come from the cache of kopfka's objects where it covers their kind. A
        name it does not hold is taken to be kopfka's to make; an object of that name found all
        the same (made by someone else, or stripped of kopfka's label) is read and checked like
        any other before anything is written.
        """
        pending: builtins.list[_Pending] = []
        for desired in objects:
            stamped = copy.deepcopy(desired)
            annotations = stamped["metadata"].setdefault("annotations", {})
            annotations[names.DESIRED_HASH_ANNOTATION] = stable_hash(desired)
            key = _key(stamped)
            if self._children is not None and self._children.covers(*key[:2]):
                live = self._children.get(*key)
                item = _Pending(stamped, live, seen=live is not None)
            else:
                item = _Pending(stamped, self._read(*key), seen=True)
            if item.wanted():
                pending.append(item)
        if pending and all(item.live is None for item in pending):
            # A read each (cheap next to a dry run) of the names the cache does not hold.
            looked = [
                item
                if item.seen
                else _Pending(item.applied, self._read(*_key(item.applied)), seen=True)
                for item in pending
            ]
            if all(item.live is None for item in looked):
                self._make_all(looked)
                return
            pending = [item for item in looked if item.wanted()]
        checked: builtins.list[_Pending] = []
        for item in pending:
            if not item.seen and self._there_after_all(item):
                found = _Pending(item.applied, self._read(*_key(item.applied)), seen=True)
                if found.wanted():
                    self._apply(found.applied, found.live, dry_run=True)
                    checked.append(found)
            elif item.seen:
                self._apply(item.applied, item.live, dry_run=True)
                checked.append(item)
            else:
                checked.append(item)
        for item in checked:
            self._apply(item.applied, item.live, dry_run=False)

    def _make_all(self, items: Sequence[_Pending]) -> None:
        """Make objects none of which exists, all or none. Nothing runs until a StatefulSet
        exists: the StatefulSets are dry-run first and made last, the rest is made without a dry
        run, and a refusal deletes what this call made before it is reported. Each name was
        read just before and found free; without `force`, an object someone makes under it
        meanwhile with other values is refused rather than overwritten. (Dry runs of every
        object were a third of a new cluster's requests: docs/architecture.md, "The
        KafkaCluster pipeline".)"""
        for item in items:
            if _starts_pods(item.applied):
                self._apply(item.applied, None, dry_run=True)
        made: builtins.list[Obj] = []
        try:
            for item in sorted(items, key=lambda item: _starts_pods(item.applied)):
                made.append(self._make(item.applied))
        except ApplyError:
            for obj in reversed(made):
                try:
                    self.delete(obj)
                except ApiError as error:  # the KafkaCluster owns it: it goes with the cluster
                    logger.warning(
                        "%s %s not undone: %s", obj["kind"], obj["metadata"]["name"], error
                    )
            raise

    def _make(self, applied: Obj) -> Obj:
        """Server-side apply, without force, of an object that is not there; the object made."""
        metadata = applied["metadata"]
        logger.info("making %s %s/%s", applied["kind"], metadata["namespace"], metadata["name"])
        try:
            return self._send_apply(applied, force=False, dry_run=False)[1]
        except ApiError as error:
            raise ApplyError(f"{applied['kind']} {metadata['name']}: {error.summary()}") from error

    def _send_apply(self, applied: Obj, *, force: bool, dry_run: bool) -> tuple[int, Obj]:
        """One server-side apply request as field manager `kopfka`: the status (201 when it made
        the object) and the object. Raises ApiError."""
        query = [("fieldManager", names.FIELD_MANAGER)]
        query += [("force", "true")] if force else []
        query += [("dryRun", "All")] if dry_run else []
        status, answer = self._api.exchange(
            "PATCH",
            _path(applied),
            query=query,
            body=applied,
            # JSON is YAML: an apply patch may be sent as JSON.
            content_type="application/apply-patch+yaml",
        )
        return status, cast(Obj, answer)

    def _there_after_all(self, item: _Pending) -> bool:
        """Whether the dry run of an object not in the cache finds one of its name. A refusal
        counts as found: what is there must be read and checked (a StatefulSet of someone
        else's is refused for its immutable fields, yet must be reported as not kopfka's), and
        a refusal of a new object comes again from the dry run that follows."""
        try:
            return self._apply(item.applied, None, dry_run=True)
        except ApplyError:
            return True

    def _apply(self, applied: Obj, live: Obj | None, *, dry_run: bool) -> bool:
        """Apply `applied`; whether an object of its name was there."""
        metadata = applied["metadata"]
        if not dry_run:
            logger.info(
                "applying %s %s/%s", applied["kind"], metadata["namespace"], metadata["name"]
            )
        path = _path(applied)
        dry: builtins.list[tuple[str, str]] = [("dryRun", "All")] if dry_run else []
        result: Obj | None
        try:
            status, result = self._send_apply(applied, force=True, dry_run=dry_run)
        except ApiError as error:
            if live is None or error.status != HTTPStatus.UNPROCESSABLE_ENTITY:
                raise ApplyError(
                    f"{applied['kind']} {metadata['name']}: {error.summary()}"
                ) from error
            result, status = None, HTTPStatus.OK
        existed = status != HTTPStatus.CREATED
        if result is not None and (live is None or contains(result, applied)):
            return existed
        # Drift that server-side apply cannot undo: it keeps list items another field manager
        # owns (a Service port someone edited by hand stays next to ours, or makes the object
        # invalid with a duplicate port name). A JSON merge patch replaces lists whole.
        if not dry_run:
            logger.info(
                "replacing drifted fields of %s %s/%s",
                applied["kind"],
                metadata["namespace"],
                metadata["name"],
            )
        try:
            self._merge_patch(path, applied, query=[("fieldManager", names.FIELD_MANAGER), *dry])
        except ApiError as error:
            raise ApplyError(f"{applied['kind']} {metadata['name']}: {error.summary()}") from error
        return existed

    def patch_status(self, owner: Obj, status: Obj, *, expect_version: bool = False) -> Obj:
        """Merge-patch the status; with `expect_version`, fail if the object changed meanwhile
        (also when it was deleted: Conflict either way, and the caller reads it again)."""
        metadata = owner["metadata"]
        body: Obj = {"status": status}
        if expect_version:
            body["metadata"] = {"resourceVersion": metadata["resourceVersion"]}
        try:
            return self._merge_patch(_path(owner, subresource="status"), body)
        except ApiError as error:
            if error.conflict or error.not_found:
                raise Conflict(str(error)) from error
            raise

    def add_metadata(
        self,
        obj: Obj,
        *,
        labels: Mapping[str, str] | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> None:
        """Add missing labels and annotations to an object others made (node ids on the pods of
        a StatefulSet, the cluster id on volume claims). An object deleted meanwhile is skipped."""
        wanted = {"labels": dict(labels or {}), "annotations": dict(annotations or {})}
        patch = {
            field: values
            for field, values in wanted.items()
            if any((obj["metadata"].get(field) or {}).get(k) != v for k, v in values.items())
        }
        if not patch:
            return
        try:
            self._merge_patch(_path(obj), {"metadata": patch})
        except ApiError as error:
            if not error.not_found:
                raise
            logger.debug("%s %s is gone", obj["kind"], obj["metadata"]["name"])

    def create(self, obj: Obj) -> Obj:
        """Create `obj`; Conflict if an object of its name exists, ApplyError if the API server
        refuses it otherwise (forbidden, invalid, over quota), with its reason."""
        metadata = obj["metadata"]
        path = resource(obj["apiVersion"], obj["kind"]).path(namespace=metadata["namespace"])
        try:
            return cast(Obj, self._api.request("POST", path, body=obj))
        except ApiError as error:
            if error.conflict:
                raise Conflict(str(error)) from error
            raise ApplyError(f"{obj['kind']} {metadata.get('name')}: {error.summary()}") from error

    def replace(self, obj: Obj) -> Obj:
        """Write `obj` whole, guarded by its resourceVersion; Conflict if it changed meanwhile."""
        try:
            return cast(Obj, self._api.request("PUT", _path(obj), body=obj))
        except ApiError as error:
            if error.conflict:
                raise Conflict(str(error)) from error
            raise

    def delete(self, obj: Obj, *, background: bool = False) -> None:
        """Delete exactly this object: not one made again under its name since it was read
        (a uid precondition). An object already gone is skipped. `background` has the garbage
        collector delete its dependents (a Job's pods: the API's default for Jobs orphans them)."""
        metadata = obj["metadata"]
        logger.info("deleting %s %s/%s", obj["kind"], metadata["namespace"], metadata["name"])
        body: Obj = {"preconditions": {"uid": metadata["uid"]}}
        if background:
            body["propagationPolicy"] = "Background"
        try:
            self._api.request("DELETE", _path(obj), body=body)
        except ApiError as error:
            if error.not_found:
                logger.debug("%s %s is gone", obj["kind"], metadata["name"])
            elif error.conflict:
                logger.debug("%s %s was made again; kept", obj["kind"], metadata["name"])
            else:
                raise

    def evict(self, pod: Obj) -> bool:
        """Evict exactly this pod through the Eviction API, which keeps its PodDisruptionBudget:
        False when the budget refuses it now (429); True when it was evicted or is gone."""
        metadata = pod["metadata"]
        logger.info("evicting pod %s/%s", metadata["namespace"], metadata["name"])
        body: Any = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": metadata["name"], "namespace": metadata["namespace"]},
            "deleteOptions": {"preconditions": {"uid": metadata["uid"]}},
        }
        try:
            self._api.request("POST", _path(pod, subresource="eviction"), body=body)
        except ApiError as error:
            if error.status == 429:
                return False
            if error.status in (404, 409):  # gone, or made again under its name since it was read
                return True
            raise ApplyError(f"evicting pod {metadata['name']}: {error.reason}") from error
        return True

    def set_finalizer(self, obj: Obj, finalizer: str, *, present: bool) -> None:
        """Add or remove one finalizer, keeping the others; guarded by resourceVersion (Conflict
        if the object changed meanwhile: the caller reads it again). An object gone is skipped."""
        metadata = obj["metadata"]
        before = list(metadata.get("finalizers") or [])
        if (finalizer in before) == present:
            return
        after = [*before, finalizer] if present else [f for f in before if f != finalizer]
        logger.info(
            "%s finalizer %s %s %s/%s",
            "adding" if present else "removing",
            finalizer,
            obj["kind"],
            metadata["namespace"],
            metadata["name"],
        )
        body = {"metadata": {"finalizers": after, "resourceVersion": metadata["resourceVersion"]}}
        try:
            self._merge_patch(_path(obj), body)
        except ApiError as error:
            if error.not_found:
                logger.debug("%s %s is gone", obj["kind"], metadata["name"])
            elif error.conflict:
                raise Conflict(str(error)) from error
            else:
                raise

    def pod_log(self, name: str, namespace: str) -> str | None:
        """The log of a pod's only container, or None when there is none to read (the pod is
        gone, or never started its container)."""
        path = resource("v1", "Pod").path(namespace=namespace, name=name, subresource="log")
        try:
            return self._api.request_text("GET", path)
        except ApiError as error:
            logger.debug("no log of pod %s/%s: %s", namespace, name, error.reason)
            return None

    def post_event(self, obj: Obj, *, warning: bool, reason: str, message: str) -> None:
        """Record a Kubernetes Event about `obj` for people (kubectl describe, kubectl events).
        Best effort: an Event that cannot be written is logged, never retried."""
        metadata = obj["metadata"]
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "generateName": f"{metadata['name']}.",
                "namespace": metadata["namespace"],
            },
            "involvedObject": {
                "apiVersion": obj["apiVersion"],
                "kind": obj["kind"],
                "name": metadata["name"],
                "namespace": metadata["namespace"],
                "uid": metadata.get("uid"),
            },
            "type": "Warning" if warning else "Normal",
            "reason": reason,
            "message": message[:1024],
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "source": {"component": names.FIELD_MANAGER},
            "reportingComponent": f"{names.GROUP}/operator",
        }
        path = resource("v1", "Event").path(namespace=metadata["namespace"])
        try:
            self._api.request("POST", path, body=event)
        except ApiError as error:
            logger.warning(
                "event %s on %s %s not recorded: %s", reason, obj["kind"], metadata["name"], error
            )


@dataclasses.dataclass(frozen=True)
class _Pending:
    """An object apply_all may write: as it would be applied, the live one, and whether the live
    one was looked at (None then means there is none; unseen, the dry run tells)."""

    applied: Obj
    live: Obj | None
    seen: bool

    def wanted(self) -> bool:
        """Whether it needs a write; raises NotOwned for an object kopfka must not take over.
        Keeps the live object's immutable fields in `applied`."""
        if self.live is None:
            return True
        _check_owned(self.live, self.applied)
        _keep_immutable(self.applied, self.live)
        return not contains(self.live, self.applied)


def _starts_pods(obj: Obj) -> bool:
    return (obj["apiVersion"], obj["kind"]) == ("apps/v1", "StatefulSet")


def _key(obj: Obj) -> tuple[str, str, str, str]:
    metadata = obj["metadata"]
    return obj["apiVersion"], obj["kind"], metadata["name"], metadata["namespace"]


def _made_by_kopfka(obj: Obj) -> bool:
    labels = obj["metadata"].get("labels") or {}
    return all(labels.get(key) == value for key, value in names.MANAGED_BY.items())


def _check_owned(live: Obj, desired: Obj) -> None:
    """kopfka never takes over an object it did not make: the live one must name the same owner."""
    owners = {ref.get("uid") for ref in live["metadata"].get("ownerReferences") or []}
    wanted = desired["metadata"]["ownerReferences"][0]
    if wanted["uid"] not in owners:
        metadata = live["metadata"]
        raise NotOwned(
            f"{live['kind']} {metadata['namespace']}/{metadata['name']} already exists and does "
            f"not belong to {wanted['kind']} {wanted['name']}: kopfka does not take over objects "
            "it did not make; delete or rename that object"
        )


# Fields the API server never lets change on a live object: applying another value only fails.
_IMMUTABLE: dict[tuple[str, str], tuple[str, ...]] = {
    ("apps/v1", "StatefulSet"): ("volumeClaimTemplates", "selector", "serviceName"),
}


def _keep_immutable(stamped: Obj, live: Obj) -> None:
    """Use the live object's immutable fields: a StatefulSet made by an older kopfka keeps the
    claim templates it was made with (which may carry a label since left out) instead of failing
    every later write with 422."""
    for field in _IMMUTABLE.get((stamped["apiVersion"], stamped["kind"]), ()):
        if field in live.get("spec", {}) and field in stamped.get("spec", {}):
            stamped["spec"][field] = copy.deepcopy(live["spec"][field])
