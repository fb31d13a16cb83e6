"""URL paths from kopfka's fixed table of kinds (k8s/resources.py), and the API server's error
answers turned into one exception with its status and message (k8s/rest.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kopfka.k8s.resources import RESOURCES, UnknownKind, resource
from kopfka.k8s.rest import _error
from kopfka.model import names

OPERATOR = Path(__file__).resolve().parents[2] / "operator" / "kopfka"


@pytest.mark.parametrize(
    ("api_version", "kind", "where", "path"),
    [
        ("v1", "Pod", {"namespace": "ns"}, "/api/v1/namespaces/ns/pods"),
        ("v1", "Pod", {"namespace": "ns", "name": "p-0"}, "/api/v1/namespaces/ns/pods/p-0"),
        (
            "v1",
            "Pod",
            {"namespace": "ns", "name": "p-0", "subresource": "eviction"},
            "/api/v1/namespaces/ns/pods/p-0/eviction",
        ),
        (
            "v1",
            "Pod",
            {"namespace": "ns", "name": "p-0", "subresource": "log"},
            "/api/v1/namespaces/ns/pods/p-0/log",
        ),
        (
            "kopfka.dev/v1alpha1",
            "KafkaCluster",
            {"namespace": "ns", "name": "events", "subresource": "status"},
            "/apis/kopfka.dev/v1alpha1/namespaces/ns/kafkaclusters/events/status",
        ),
        (
            "kopfka.dev/v1alpha1",
            "KafkaTopic",
            {"namespace": "ns"},
            "/apis/kopfka.dev/v1alpha1/namespaces/ns/kafkatopics",
        ),
        (
            "apps/v1",
            "StatefulSet",
            {"namespace": "n", "name": "s"},
            "/apis/apps/v1/namespaces/n/statefulsets/s",
        ),
        ("batch/v1", "Job", {"namespace": "n"}, "/apis/batch/v1/namespaces/n/jobs"),
        (
            "coordination.k8s.io/v1",
            "Lease",
            {"namespace": "n", "name": "kopfka"},
            "/apis/coordination.k8s.io/v1/namespaces/n/leases/kopfka",
        ),
        (
            "policy/v1",
            "PodDisruptionBudget",
            {"namespace": "n", "name": "b"},
            "/apis/policy/v1/namespaces/n/poddisruptionbudgets/b",
        ),
        (
            "networking.k8s.io/v1",
            "NetworkPolicy",
            {"namespace": "n", "name": "events-kafka"},
            "/apis/networking.k8s.io/v1/namespaces/n/networkpolicies/events-kafka",
        ),
        ("v1", "Event", {"namespace": "n"}, "/api/v1/namespaces/n/events"),
        (
            "v1",
            "PersistentVolumeClaim",
            {"namespace": "n"},
            "/api/v1/namespaces/n/persistentvolumeclaims",
        ),
        ("v1", "ServiceAccount", {"namespace": "n"}, "/api/v1/namespaces/n/serviceaccounts"),
        (
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            # Cluster-scoped: a namespace given is not part of the path.
            {"namespace": "n", "name": "kafkatopics.kopfka.dev"},
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/kafkatopics.kopfka.dev",
        ),
    ],
)
def test_paths(api_version: str, kind: str, where: dict[str, str], path: str) -> None:
    assert resource(api_version, kind).path(**where) == path


# Objects the operator writes as dicts, and kinds it reads by name.
_RENDERED = re.compile(r'"apiVersion": "([\w./-]+)",\s*"kind": "(\w+)"')
_READ = re.compile(r'kube\.(?:get|list)\(\s*"([^"]+)",\s*"([^"]+)"')
# A body sent to a subresource, not a resource of its own.
_BODIES = {("policy/v1", "Eviction")}


def test_every_kind_in_the_operators_source_is_in_the_table() -> None:
    source = "\n".join(path.read_text() for path in OPERATOR.rglob("*.py"))
    found = {*_RENDERED.findall(source), *_READ.findall(source)} - _BODIES
    assert ("batch/v1", "Job") in found  # the patterns still find what they are meant to
    for api_version, kind in found:
        assert resource(api_version, kind).kind == kind
    # Nor does the table keep kinds nobody uses (kopfka's own, and cert-manager's Certificate,
    # are named by constants).
    own = {
        (names.API_VERSION, names.CLUSTER_KIND),
        (names.API_VERSION, names.TOPIC_KIND),
        (names.API_VERSION, names.USER_KIND),
        (names.CERTIFICATE_API_VERSION, names.CERTIFICATE_KIND),
    }
    assert set(RESOURCES) - found == own


def test_names_are_quoted() -> None:
    assert (
        resource("v1", "Pod").path(namespace="n", name="a/b") == "/api/v1/namespaces/n/pods/a%2Fb"
    )


def test_a_namespaced_kind_needs_a_namespace() -> None:
    with pytest.raises(ValueError, match="Pod is namespaced"):
        resource("v1", "Pod").path(name="p")


def test_an_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(UnknownKind, match=r"Deployment \(apps/v1\) is not in kopfka's table"):
        resource("apps/v1", "Deployment")
    with pytest.raises(UnknownKind):
        resource("v2", "Pod")


def status(code: int, reason: str, message: str) -> bytes:
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure"}
    return json.dumps(body | {"code": code, "reason": reason, "message": message}).encode()


@pytest.mark.parametrize(
    ("code", "phrase", "body", "summary"),
    [
        (404, "Not Found", status(404, "NotFound", 'pods "p" not found'), 'pods "p" not found'),
        (
            409,
            "Conflict",
            status(409, "Conflict", "the object has been modified"),
            "the object has been modified",
        ),
        (
            410,
            "Gone",
            status(410, "Expired", "too old resource version"),
            "too old resource version",
        ),
        (
            422,
            "Unprocessable Entity",
            status(422, "Invalid", 'StatefulSet "s" is invalid'),
            'StatefulSet "s" is invalid',
        ),
        (
            429,
            "Too Many Requests",
            status(429, "TooManyRequests", "Cannot evict pod"),
            "Cannot evict pod",
        ),
        # Not a Status: the body as text; no body: the status and its reason.
        (502, "Bad Gateway", b"upstream unavailable\n", "upstream unavailable"),
        (503, "Service Unavailable", b"", "503 Reason: Service Unavailable"),
    ],
)
def test_errors_carry_status_reason_and_the_api_servers_message(
    code: int, phrase: str, body: bytes, summary: str
) -> None:
    error = _error("PATCH", "/api/v1/x", code, phrase, body)
    assert (error.status, error.reason) == (code, phrase)
    assert error.summary() == summary
    assert error.not_found == (code == 404)
    assert error.conflict == (code == 409)
    assert str(error) == f"PATCH /api/v1/x: {code} {phrase}: {error.message}"


def test_a_missing_reason_phrase_comes_from_the_status() -> None:
    assert _error("GET", "/", 404, None, b"").reason == "Not Found"
    assert _error("GET", "/", 599, None, b"").reason == ""
