"""The least-privilege measurement (tests/support/rbac.py): requests read as the API server's
authorizer reads them, unused grants and refused requests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.support.rbac import (
    Access,
    Grant,
    access_of,
    forbidden,
    refused_though_granted,
    ungranted,
    unused_grants,
)


@dataclass(frozen=True)
class Sent:
    method: str
    path: str
    status: int = 200


NS = "/api/v1/namespaces/streaming"
KOPFKA = "/apis/kopfka.dev/v1alpha1"


@pytest.mark.parametrize(
    ("method", "path", "status", "expected"),
    [
        ("GET", f"{NS}/pods/events-0", 200, Access(("get",), "", "pods", "streaming", "events-0")),
        (
            "GET",
            f"{NS}/pods?labelSelector=a%3Db",
            200,
            Access(("list",), "", "pods", "streaming", None),
        ),
        (
            "GET",
            "/api/v1/pods?watch=true&labelSelector=x",
            200,
            Access(("watch",), "", "pods", None, None),
        ),
        ("GET", "/api/v1/pods?watch=1", 200, Access(("watch",), "", "pods", None, None)),
        ("GET", "/api/v1/pods?watch=false", 200, Access(("list",), "", "pods", None, None)),
        (
            "GET",
            "/api/v1/watch/namespaces/streaming/pods",
            200,
            Access(("watch",), "", "pods", "streaming", None),
        ),
        (
            "PATCH",
            f"{KOPFKA}/namespaces/streaming/kafkaclusters/events/status",
            200,
            Access(("patch",), "kopfka.dev", "kafkaclusters/status", "streaming", "events"),
        ),
        # Server-side apply that made the object: the API server checked create as well.
        (
            "PATCH",
            "/apis/apps/v1/namespaces/streaming/statefulsets/events-brokers?fieldManager=kopfka",
            201,
            Access(("patch", "create"), "apps", "statefulsets", "streaming", "events-brokers"),
        ),
        ("POST", f"{NS}/events", 201, Access(("create",), "", "events", "streaming", None)),
        ("PUT", f"{NS}/configmaps/c", 200, Access(("update",), "", "configmaps", "streaming", "c")),
        (
            "DELETE",
            f"{NS}/configmaps/c",
            200,
            Access(("delete",), "", "configmaps", "streaming", "c"),
        ),
        (
            "DELETE",
            f"{NS}/configmaps",
            200,
            Access(("deletecollection",), "", "configmaps", "streaming", None),
        ),
        # The namespace itself, its status, and a cluster-scoped kind.
        (
            "GET",
            "/api/v1/namespaces/streaming",
            200,
            Access(("get",), "", "namespaces", "streaming", "streaming"),
        ),
        ("GET", "/api/v1/namespaces", 200, Access(("list",), "", "namespaces", None, None)),
        (
            "PUT",
            "/api/v1/namespaces/streaming/status",
            200,
            Access(("update",), "", "namespaces/status", "streaming", "streaming"),
        ),
        (
            "GET",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions?watch=true",
            200,
            Access(("watch",), "apiextensions.k8s.io", "customresourcedefinitions", None, None),
        ),
    ],
)
def test_a_request_is_read_as_the_authorizer_reads_it(
    method: str, path: str, status: int, expected: Access
) -> None:
    assert access_of(method, path, status) == expected


@pytest.mark.parametrize(
    "path", ["/api", "/api/v1", "/apis", "/apis/kopfka.dev", f"{KOPFKA}", "/version", "/openapi/v3"]
)
def test_discovery_uses_no_rule(path: str) -> None:
    assert access_of("GET", path) is None


RULES = [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "patch"]},
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "create", "patch", "delete"]},
    {"apiGroups": ["kopfka.dev"], "resources": ["kafkaclusters/status"], "verbs": ["patch"]},
]


def test_every_grant_no_request_used_is_listed() -> None:
    sent = [
        Sent("GET", "/api/v1/pods?watch=true"),
        Sent("GET", f"{NS}/pods"),
        Sent("PATCH", f"{NS}/pods/p"),
        Sent("PATCH", f"{NS}/configmaps/c?fieldManager=kopfka", 201),
        Sent("PATCH", f"{KOPFKA}/namespaces/streaming/kafkaclusters/events/status"),
        Sent("GET", "/apis"),
    ]
    assert unused_grants(RULES, sent) == [
        Grant("", "configmaps", "delete"),
        Grant("", "configmaps", "get"),
        Grant("", "pods", "get"),
    ]
    assert ungranted(RULES, sent) == []


def test_a_refused_request_uses_nothing() -> None:
    sent = [Sent("DELETE", f"{NS}/configmaps/c", 403), Sent("GET", f"{NS}/pods/p", 401)]
    assert Grant("", "configmaps", "delete") in unused_grants(RULES, sent)
    assert Grant("", "pods", "get") in unused_grants(RULES, sent)


def test_refusals_for_what_the_rules_lack_are_forbidden_the_others_are_set_aside() -> None:
    lacking = Sent("GET", "/api/v1/secrets", 403)
    unauthenticated = Sent("GET", f"{NS}/pods/p", 401)
    # Granted, refused all the same: admission, e.g. a namespace being deleted.
    terminating = Sent("DELETE", f"{NS}/configmaps/c", 403)
    sent = [Sent("GET", f"{NS}/pods/p"), lacking, unauthenticated, terminating]
    assert forbidden(RULES, sent) == [lacking, unauthenticated]
    assert refused_though_granted(RULES, sent) == [terminating]


def test_a_refused_patch_counts_as_forbidden_unless_create_is_granted_too() -> None:
    """A server-side apply that would create needs create as well; its 403 does not say."""
    pod_patch = Sent("PATCH", f"{NS}/pods/p?fieldManager=kopfka", 403)
    config_patch = Sent("PATCH", f"{NS}/configmaps/c?fieldManager=kopfka", 403)
    assert forbidden(RULES, [pod_patch, config_patch]) == [pod_patch]
    assert refused_though_granted(RULES, [pod_patch, config_patch]) == [config_patch]


def test_what_the_rules_do_not_grant_is_listed() -> None:
    sent = [Sent("GET", "/api/v1/namespaces"), Sent("PATCH", f"{NS}/services/s", 201)]
    assert ungranted(RULES, sent) == [
        Grant("", "namespaces", "list"),
        Grant("", "services", "create"),
        Grant("", "services", "patch"),
    ]


def test_wildcards_cover_every_use() -> None:
    rules = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get"]}]
    sent = [Sent("GET", f"{NS}/pods/p"), Sent("GET", "/apis/apps/v1/namespaces/n/statefulsets")]
    assert unused_grants(rules, sent) == []
    assert ungranted(rules, sent) == [Grant("apps", "statefulsets", "list")]


def test_grants_read_like_kubectl_auth_can_i() -> None:
    assert str(Grant("", "configmaps", "delete")) == "delete configmaps"
    assert str(Grant("apps", "statefulsets", "patch")) == "patch statefulsets.apps"
