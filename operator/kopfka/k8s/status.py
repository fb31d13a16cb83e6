"""Write an object's status from a function of the object, one writer at a time.

Both reconcilers (KafkaCluster, and the topics of a cluster) compute a status from the object as
they read it, while other paths (pod events, the next sync) may write the same status. The write
carries the resourceVersion the status was computed from, so an older view can never be written
over a newer one; on a conflict the status is computed again from the object as it is now.
"""

from __future__ import annotations

from collections.abc import Callable
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
            return kube.patch_status(body, new, expect_version=True)
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
