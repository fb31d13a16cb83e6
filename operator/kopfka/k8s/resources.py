"""The URL paths of the kinds kopfka reads and writes, from a fixed table instead of discovery.

A discovery client asks the API server for every group's resources before its first request (and
keeps the answer in memory and on disk); kopfka knows its kinds in advance. A kind missing here
is a programming error, reported as such, not a request the API server would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from kopfka.model import names


@dataclass(frozen=True)
class Resource:
    api_version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def prefix(self) -> str:
        """/api/v1 for the core group, /apis/<group>/<version> for the others."""
        group = "apis" if "/" in self.api_version else "api"
        return f"/{group}/{self.api_version}"

    def path(
        self, *, namespace: str | None = None, name: str | None = None, subresource: str = ""
    ) -> str:
        """The collection (no `name`) or one object, or its subresource (status, eviction, log)."""
        if self.namespaced and not namespace:
            raise ValueError(f"{self.kind} is namespaced: a namespace is needed")
        parts = [self.prefix]
        if self.namespaced:
            parts.append(f"namespaces/{quote(str(namespace), safe='')}")
        parts.append(self.plural)
        if name:
            parts.append(quote(name, safe=""))
        elif subresource:
            raise ValueError(f"the {subresource} of {self.kind} needs an object's name")
        if subresource:
            parts.append(subresource)
        return "/".join(parts)


class UnknownKind(LookupError):
    """kopfka asked for a kind that is not in its table: a programming error."""


_TABLE: tuple[tuple[str, str, str, bool], ...] = (
    ("v1", "ConfigMap", "configmaps", True),
    ("v1", "Event", "events", True),
    ("v1", "PersistentVolumeClaim", "persistentvolumeclaims", True),
    ("v1", "Pod", "pods", True),
    ("v1", "Secret", "secrets", True),
    ("v1", "Service", "services", True),
    ("v1", "ServiceAccount", "serviceaccounts", True),
    ("apps/v1", "StatefulSet", "statefulsets", True),
    ("batch/v1", "Job", "jobs", True),
    ("coordination.k8s.io/v1", "Lease", "leases", True),
    ("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", True),
    ("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", True),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", False),
    (names.CERTIFICATE_API_VERSION, names.CERTIFICATE_KIND, "certificates", True),
    (names.API_VERSION, names.CLUSTER_KIND, names.CLUSTER_PLURAL, True),
    (names.API_VERSION, names.TOPIC_KIND, names.TOPIC_PLURAL, True),
    (names.API_VERSION, names.USER_KIND, names.USER_PLURAL, True),
)

RESOURCES: dict[tuple[str, str], Resource] = {
    (api_version, kind): Resource(api_version, kind, plural, namespaced)
    for api_version, kind, plural, namespaced in _TABLE
}


def resource(api_version: str, kind: str) -> Resource:
    try:
        return RESOURCES[api_version, kind]
    except KeyError:
        raise UnknownKind(
            f"{kind} ({api_version}) is not in kopfka's table of kinds (k8s/resources.py): "
            "add it there"
        ) from None
