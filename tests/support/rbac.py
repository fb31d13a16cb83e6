"""Least privilege, measured: the requests a client sent, against the RBAC rules it was given.

Pure functions over recorded requests (method, path with query, HTTP status; tests.support.apiproxy
records them) and RBAC rules (as in a Role or ClusterRole). Each request is read the way the API
server's authorizer reads it (k8s.io/apiserver's RequestInfoFactory): API group, resource with its
subresource, namespace, and the verb (get, list, watch, create, update, patch, delete,
deletecollection). Two answers come out of it:

- `forbidden`: the requests refused for want of a permission: every 401, and each 403 for
  something the rules do not grant. A 403 for something they do grant came from elsewhere
  (admission: the API server refuses to create anything in a namespace being deleted, with a
  403); `refused_though_granted` lists those, for the caller to explain.
- `unused_grants`: every (API group, resource, verb) the rules grant that no request used: a
  permission the client does not need, as far as the recorded requests show.

A server-side apply that creates its object is a PATCH answered 201 Created; the API server then
also checks the `create` verb, so such a request uses both `patch` and `create`. Discovery and
other non-resource paths (/api, /apis/GROUP/VERSION, /version, /openapi/...) are open to every
authenticated client and use no rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit

# Subresources of a namespace itself: /api/v1/namespaces/NAME/status is not a resource "status"
# inside namespace NAME (the API server's own exception).
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
_REFUSED = frozenset({401, 403})
_CREATED = 201


class RecordedRequest(Protocol):
    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def status(self) -> int: ...


R = TypeVar("R", bound=RecordedRequest)


@dataclass(frozen=True, order=True)
class Grant:
    """One verb on one resource of one API group ("" is the core group)."""

    group: str
    resource: str
    verb: str

    def __str__(self) -> str:
        return f"{self.verb} {self.resource}{'.' + self.group if self.group else ''}"


@dataclass(frozen=True)
class Access:
    """What a request asks for, as the authorizer sees it."""

    verbs: tuple[str, ...]
    group: str
    resource: str
    namespace: str | None
    name: str | None

    def grants(self) -> list[Grant]:
        return [Grant(self.group, self.resource, verb) for verb in self.verbs]


def access_of(method: str, path: str, status: int = 200) -> Access | None:
    """The resource access of a request, or None for discovery and other non-resource paths."""
    split = urlsplit(path)
    query = parse_qs(split.query)
    parts = [part for part in split.path.split("/") if part]
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, rest = parts[1], parts[3:]
    else:
        return None
    watch_path = rest[:1] == ["watch"]  # the deprecated /watch/ prefix
    if watch_path:
        rest = rest[1:]
    if not rest:
        return None
    namespace = None
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else None
    if len(rest) > 2:
        resource = f"{resource}/{rest[2]}"
    verb = _verb(method.upper(), named=name is not None)
    if verb in ("list", "get") and (watch_path or query.get("watch", [""])[-1] in ("true", "1")):
        verb = "watch"
    verbs: tuple[str, ...] = (verb,)
    if verb == "patch" and status == _CREATED:
        verbs = ("patch", "create")
    return Access(verbs=verbs, group=group, resource=resource, namespace=namespace, name=name)


def _verb(method: str, *, named: bool) -> str:
    if method in ("GET", "HEAD"):
        return "get" if named else "list"
    if method == "DELETE":
        return "delete" if named else "deletecollection"
    verbs = {"POST": "create", "PUT": "update", "PATCH": "patch"}
    if method not in verbs:
        raise ValueError(f"no RBAC verb for HTTP method {method}")
    return verbs[method]


def granted(rules: Sequence[Mapping[str, Any]]) -> set[Grant]:
    """Every (group, resource, verb) the rules name. Wildcards stay as "*"; resourceNames narrow a
    rule to some objects, which this coarser view does not track."""
    found: set[Grant] = set()
    for rule in rules:
        for group in rule.get("apiGroups") or []:
            for resource in rule.get("resources") or []:
                for verb in rule.get("verbs") or []:
                    found.add(Grant(group, resource, verb))
    return found


def _covers(grant: Grant, used: Grant) -> bool:
    return (
        grant.group in ("*", used.group)
        and grant.resource in ("*", used.resource)
        and grant.verb in ("*", used.verb)
    )


def used_grants(requests: Iterable[RecordedRequest]) -> set[Grant]:
    """What the requests the API server let through used."""
    used: set[Grant] = set()
    for request in requests:
        if request.status in _REFUSED:
            continue
        access = access_of(request.method, request.path, request.status)
        if access is not None:
            used.update(access.grants())
    return used


def unused_grants(
    rules: Sequence[Mapping[str, Any]], requests: Iterable[RecordedRequest]
) -> list[Grant]:
    """The grants of `rules` that no request used, sorted."""
    used = used_grants(requests)
    return sorted(grant for grant in granted(rules) if not any(_covers(grant, use) for use in used))


def ungranted(
    rules: Sequence[Mapping[str, Any]], requests: Iterable[RecordedRequest]
) -> list[Grant]:
    """What the requests used that `rules` do not grant (sent with other credentials, a request
    like these would be refused), sorted."""
    grants = granted(rules)
    return sorted(
        use for use in used_grants(requests) if not any(_covers(grant, use) for grant in grants)
    )


def _granted_in_full(grants: set[Grant], request: RecordedRequest) -> bool:
    """Whether `grants` allow everything the request may have needed. A PATCH may be a
    server-side apply that creates, which needs `create` too; its 403 does not say which."""
    status = _CREATED if request.method.upper() == "PATCH" else request.status
    access = access_of(request.method, request.path, status)
    if access is None:
        return True
    return all(any(_covers(grant, use) for grant in grants) for use in access.grants())


def forbidden(rules: Sequence[Mapping[str, Any]], requests: Iterable[R]) -> list[R]:
    """The requests refused for want of authentication (401) or of a permission the rules do
    not grant (403)."""
    grants = granted(rules)
    return [
        request
        for request in requests
        if request.status == 401
        or (request.status == 403 and not _granted_in_full(grants, request))
    ]


def refused_though_granted(rules: Sequence[Mapping[str, Any]], requests: Iterable[R]) -> list[R]:
    """The 403s for what the rules grant in full: refused by something other than RBAC."""
    grants = granted(rules)
    return [
        request
        for request in requests
        if request.status == 403 and _granted_in_full(grants, request)
    ]
