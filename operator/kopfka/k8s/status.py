"""Write an object's status from a function of the object, one writer at a time.

Both reconcilers (KafkaCluster, and the topics of a cluster) compute a status from the object as
they read it, while other paths (pod events, the next sync) may write the same status. The write
carries the resourceVersion the status was computed from, so an older view can never be written
over a newer one; on a conflict the status is computed again from the object as it is now.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kopfka.k8s.client import Conflict, Kube, Obj

ATTEMPTS = 5


class StatusChurn(Exception):
    """The object kept changing while its status was written; try again later."""


def write_status(kube: Kube, body: Obj, status_of: Callable[[Obj], dict[str, Any]]) -> Obj:
    """Write the status `status_of` computes from the object, if it changed; the object as written.

    On a conflict the status is computed again from the object as it is now, unless its spec
    changed meanwhile (then the newer generation's own run writes its status) or it is gone.
    """
    metadata = body["metadata"]
    for _ in range(ATTEMPTS):
        new = status_of(body)
        if new == (body.get("status") or {}):
            return body
        try:
            return kube.patch_status(
                body, merge_patch(body.get("status") or {}, new), expect_version=True
            )
        except Conflict:
            current = kube.get(
                body["apiVersion"], body["kind"], metadata["name"], metadata["namespace"]
            )
            if current is None or current["metadata"].get("generation") != metadata.get(
                "generation"
            ):
                return body
            body = current
    raise StatusChurn(
        f"{body['kind']} {metadata['name']} kept changing while its status was written"
    )


def merge_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON merge patch (RFC 7386) that turns `old` into `new`: a merge patch keeps every key
    it does not name, so a key `new` lacks is sent as null (a topic config removed in Kafka must
    leave `status.config` too); maps are patched key by key, everything else is replaced."""
    patch: dict[str, Any] = dict.fromkeys(old.keys() - new.keys())
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, Mapping) and isinstance(before, Mapping):
            nested = merge_patch(before, value)
            if nested:
                patch[key] = nested
        elif key not in old or before != value:
            patch[key] = value
    return patch
