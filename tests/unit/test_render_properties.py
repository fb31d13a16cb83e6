"""Properties of rendering over many valid specs: every object passes the Kubernetes schema of the
pinned Kubernetes version, rendering is deterministic, and every quantity is rendered in the form
the API server writes back. The specs come from tests/support/specs.py, which the integration
tier's zero-write test draws from too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import kubernetes_validate
from hypothesis import HealthCheck, given, settings

from kopfka.model.quantity import canonical
from kopfka.render.cluster import owned_by, render_cluster
from tests.support.specs import accepted, cluster_specs
from tests.support.tls import new_certificates

KUBERNETES_VERSION = "1.36.0"
OWNER = {
    "apiVersion": "kopfka.dev/v1alpha1",
    "kind": "KafkaCluster",
    "metadata": {"name": "c", "uid": "0b5d3c52-3a8e-4e0b-9f1f-1a2b3c4d5e6f"},
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster_specs())
def test_every_valid_spec_renders_objects_the_api_server_accepts(spec: dict[str, Any]) -> None:
    parsed = accepted(spec)
    certificates = new_certificates(parsed)
    for obj in render_cluster(parsed, "MkU3OEVBNTcwNTJENDM2Qg", certificates=certificates):
        kubernetes_validate.validate(owned_by(obj, OWNER), KUBERNETES_VERSION, strict=True)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster_specs())
def test_rendering_is_deterministic(spec: dict[str, Any]) -> None:
    certificates = new_certificates(accepted(spec))
    first = render_cluster(accepted(spec), "id", certificates=certificates)
    second = render_cluster(accepted(dict(spec)), "id", certificates=certificates)
    assert first == second


def _quantities(obj: dict[str, Any]) -> Iterator[tuple[str, bool]]:
    """(quantity, whether it sits in a resource list) of every quantity in a rendered object."""
    if obj["kind"] != "StatefulSet":
        return
    pod = obj["spec"]["template"]["spec"]
    for container in pod["containers"]:
        for amounts in container.get("resources", {}).values():
            yield from ((amount, True) for amount in amounts.values())
    for volume in pod["volumes"]:
        if "sizeLimit" in volume.get("emptyDir", {}):
            yield volume["emptyDir"]["sizeLimit"], False
    for claim in obj["spec"].get("volumeClaimTemplates", []):
        yield from ((amount, True) for amount in claim["spec"]["resources"]["requests"].values())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster_specs())
def test_every_quantity_is_rendered_in_the_api_servers_normal_form(spec: dict[str, Any]) -> None:
    parsed = accepted(spec)
    for obj in render_cluster(parsed, "id", certificates=new_certificates(parsed)):
        for amount, listed in _quantities(obj):
            assert isinstance(amount, str)
            assert canonical(amount, resource_list=listed) == amount
