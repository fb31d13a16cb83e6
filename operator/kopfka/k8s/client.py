"""A small typed facade over the Kubernetes API for the operator's needs.

Writes go through `apply` (server-side apply, field manager `kopfka`), which first compares the live
object with the desired one and sends nothing when it is already in place: a reconcile of an
unchanged resource makes no write.
"""

from __future__ import annotations

import builtins
import copy
import datetime
import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, cast

import kubernetes
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ConflictError, DynamicApiError, NotFoundError

from kopfka.k8s.children import Children
from kopfka.k8s.drift import contains
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


def api_client() -> kubernetes.client.ApiClient:
    """A client with its own connections. In a pod: its service account; elsewhere: KUBECONFIG
    or ~/.kube/config."""
    try:
        kubernetes.config.load_incluster_config()
    except kubernetes.config.ConfigException:
        kubernetes.config.load_kube_config()
    return kubernetes.client.ApiClient()


class Kube:
    def __init__(self, api_client: kubernetes.client.ApiClient) -> None:
        self._dynamic = DynamicClient(api_client)
        self._children: Children | None = None

    def read_children_from(self, children: Children) -> None:
        """Answer gets and lists of the objects kopfka makes from `children` where it can
        (k8s/children.py says when)."""
        self._children = children

    @classmethod
    def from_environment(cls) -> Kube:
        return cls(api_client())

    def _resource(self, api_version: str, kind: str) -> Any:
        return self._dynamic.resources.get(api_version=api_version, kind=kind)

    def get(self, api_version: str, kind: str, name: str, namespace: str) -> Obj | None:
        if self._children is not None:
            cached = self._children.get(api_version, kind, name, namespace)
            if cached is not None:
                return cached
        try:
            found = self._resource(api_version, kind).get(name=name, namespace=namespace)
        except NotFoundError:
            return None
        return cast(Obj, found.to_dict())

    def list(
        self, api_version: str, kind: str, namespace: str, labels: Mapping[str, str]
    ) -> list[Obj]:
        if self._children is not None:
            cached = self._children.list(api_version, kind, namespace, labels)
            if cached is not None:
                return cached
        selector = ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
        found = self._resource(api_version, kind).get(namespace=namespace, label_selector=selector)
        return [cast(Obj, item) for item in found.to_dict()["items"]]

    def apply_all(self, objects: Sequence[Obj]) -> None:
        """Server-side apply every object of `objects` that is not already in place.

        All or nothing as far as the API server can tell in advance: every object that needs a
        write is first sent as a dry run, so an object the API server refuses stops the whole set
        before anything changes (no half-made cluster).
        """
        pending: builtins.list[tuple[Obj, Obj | None]] = []
        for desired in objects:
            stamped = copy.deepcopy(desired)
            annotations = stamped["metadata"].setdefault("annotations", {})
            annotations[names.DESIRED_HASH_ANNOTATION] = stable_hash(desired)
            metadata = stamped["metadata"]
            live = self.get(
                stamped["apiVersion"], stamped["kind"], metadata["name"], metadata["namespace"]
            )
            if live is not None:
                _check_owned(live, stamped)
                _keep_immutable(stamped, live)
            if live is None or not contains(live, stamped):
                pending.append((stamped, live))
        for stamped, live in pending:
            self._apply(stamped, live, dry_run=True)
        for stamped, live in pending:
            self._apply(stamped, live, dry_run=False)

    def _apply(self, applied: Obj, live: Obj | None, *, dry_run: bool) -> None:
        metadata = applied["metadata"]
        if not dry_run:
            logger.info(
                "applying %s %s/%s", applied["kind"], metadata["namespace"], metadata["name"]
            )
        resource = self._resource(applied["apiVersion"], applied["kind"])
        extra: dict[str, Any] = {"dry_run": "All"} if dry_run else {}
        try:
            result = cast(
                Obj,
                resource.server_side_apply(
                    body=applied,
                    name=metadata["name"],
                    namespace=metadata["namespace"],
                    field_manager=names.FIELD_MANAGER,
                    force_conflicts=True,
                    **extra,
                ).to_dict(),
            )
        except DynamicApiError as error:
            if live is None or error.status != HTTPStatus.UNPROCESSABLE_ENTITY:
                raise ApplyError(
                    f"{applied['kind']} {metadata['name']}: {error.summary()}"
                ) from error
            result = None
        if result is not None and (live is None or contains(result, applied)):
            return
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
            resource.patch(
                body=applied,
                name=metadata["name"],
                namespace=metadata["namespace"],
                content_type="application/merge-patch+json",
                field_manager=names.FIELD_MANAGER,
                **extra,
            )
        except DynamicApiError as error:
            raise ApplyError(f"{applied['kind']} {metadata['name']}: {error.summary()}") from error

    def patch_status(self, owner: Obj, status: Obj, *, expect_version: bool = False) -> Obj:
        """Merge-patch the status; with `expect_version`, fail if the object changed meanwhile
        (also when it was deleted: Conflict either way, and the caller reads it again)."""
        metadata = owner["metadata"]
        body: Obj = {"status": status}
        if expect_version:
            body["metadata"] = {"resourceVersion": metadata["resourceVersion"]}
        try:
            result = self._resource(owner["apiVersion"], owner["kind"]).status.patch(
                body=body,
                name=metadata["name"],
                namespace=metadata["namespace"],
                content_type="application/merge-patch+json",
            )
        except (ConflictError, NotFoundError) as error:
            raise Conflict(str(error)) from error
        return cast(Obj, result.to_dict())

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
            self._resource(obj["apiVersion"], obj["kind"]).patch(
                body={"metadata": patch},
                name=obj["metadata"]["name"],
                namespace=obj["metadata"]["namespace"],
                content_type="application/merge-patch+json",
            )
        except NotFoundError:
            logger.debug("%s %s is gone", obj["kind"], obj["metadata"]["name"])

    def create(self, obj: Obj) -> Obj:
        """Create `obj`; Conflict if an object of its name exists, ApplyError if the API server
        refuses it otherwise (forbidden, invalid, over quota), with its reason."""
        metadata = obj["metadata"]
        try:
            made = self._resource(obj["apiVersion"], obj["kind"]).create(
                body=obj, namespace=metadata["namespace"]
            )
        except ConflictError as error:
            raise Conflict(str(error)) from error
        except DynamicApiError as error:
            raise ApplyError(f"{obj['kind']} {metadata.get('name')}: {error.summary()}") from error
        return cast(Obj, made.to_dict())

    def replace(self, obj: Obj) -> Obj:
        """Write `obj` whole, guarded by its resourceVersion; Conflict if it changed meanwhile."""
        metadata = obj["metadata"]
        try:
            written = self._resource(obj["apiVersion"], obj["kind"]).replace(
                body=obj, name=metadata["name"], namespace=metadata["namespace"]
            )
        except ConflictError as error:
            raise Conflict(str(error)) from error
        return cast(Obj, written.to_dict())

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
            self._resource(obj["apiVersion"], obj["kind"]).delete(
                name=metadata["name"], namespace=metadata["namespace"], body=body
            )
        except NotFoundError:
            logger.debug("%s %s is gone", obj["kind"], metadata["name"])
        except ConflictError:
            logger.debug("%s %s was made again; kept", obj["kind"], metadata["name"])

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
            kubernetes.client.CoreV1Api(self._dynamic.client).create_namespaced_pod_eviction(
                metadata["name"], metadata["namespace"], body
            )
        except kubernetes.client.ApiException as error:
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
        try:
            self._resource(obj["apiVersion"], obj["kind"]).patch(
                body={
                    "metadata": {
                        "finalizers": after,
                        "resourceVersion": metadata["resourceVersion"],
                    }
                },
                name=metadata["name"],
                namespace=metadata["namespace"],
                content_type="application/merge-patch+json",
            )
        except NotFoundError:
            logger.debug("%s %s is gone", obj["kind"], metadata["name"])
        except ConflictError as error:
            raise Conflict(str(error)) from error

    def pod_log(self, name: str, namespace: str) -> str | None:
        """The log of a pod's only container, or None when there is none to read (the pod is
        gone, or never started its container)."""
        try:
            text = kubernetes.client.CoreV1Api(self._dynamic.client).read_namespaced_pod_log(
                name=name, namespace=namespace
            )
        except kubernetes.client.ApiException as error:
            logger.debug("no log of pod %s/%s: %s", namespace, name, error.reason)
            return None
        return str(text)

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
        try:
            self._resource("v1", "Event").create(body=event, namespace=metadata["namespace"])
        except DynamicApiError as error:
            logger.warning(
                "event %s on %s %s not recorded: %s", reason, obj["kind"], metadata["name"], error
            )


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
