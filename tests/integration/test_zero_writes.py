"""A second apply of any valid spec writes nothing, against the real API server (issue 8).

`Kube.apply_all` skips every object whose live version already holds every rendered field
(`k8s/drift.py`). That holds only if kopfka renders each field in the form the API server writes
back: quantities in their canonical form ("0.5" is stored as "500m", "1024Mi" as "1Gi"), and no
empty value that the API server drops. Two properties, each over many drawn inputs:

- `canonical` is what the API server stores, for quantities in every spelling, both where the API
  server only parses them (an emptyDir's sizeLimit) and in resource lists (container resources,
  volume claim requests), which its defaulting also rounds up to milli units;
- for valid KafkaCluster specs (tests/support/specs.py), rendering a cluster and applying it twice
  with the operator's own `Kube.apply_all` sends only reads the second time, no write (not even
  a dry run), as the recording API proxy sees on the wire.

The objects are applied by the test, not the operator: the KafkaCluster that owns them is paused,
and the namespace's ResourceQuota allows no pods and no claims, so the operator leaves them alone
and the control plane makes nothing for them.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

from kopfka.k8s.client import Kube
from kopfka.k8s.drift import contains
from kopfka.k8s.rest import RestClient
from kopfka.model.cluster import parse_cluster
from kopfka.model.quantity import canonical
from kopfka.render.cluster import owned_by, render_cluster
from kopfka.render.network_policy import OperatorPods
from tests.integration.conftest import Namespaces
from tests.support.apiproxy import ApiProxy
from tests.support.kube import Obj, TestKube
from tests.support.manifests import kafka_cluster
from tests.support.quantities import exact, quantities
from tests.support.specs import accepted, cluster_specs
from tests.support.tls import new_certificates

USER_AGENT = "kopfka-zero-writes-test"
# The operator's pods, as the chart describes them, for the clusters' NetworkPolicies.
OPERATOR = OperatorPods("kopfka-system", {"app.kubernetes.io/name": "kopfka"})
CLUSTER_ID = "MkU3OEVBNTcwNTJENDM2Qg"
# Shrinking would repeat a failing example many times against the API server; the failure report
# prints the whole example instead.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate)


@pytest.fixture(scope="module")
def applier(api_proxy: ApiProxy) -> Iterator[Kube]:
    """The operator's own client, through the recording proxy, with its own user agent so that
    its requests are told apart from the operator's."""
    api_client = RestClient.from_kubeconfig(api_proxy.kubeconfig, user_agent=USER_AGENT)
    yield Kube(api_client)
    api_client.close()


def _create(kube: TestKube, obj: Obj) -> Obj:
    resource = kube.dynamic.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
    created: Obj = resource.create(body=obj, namespace=obj["metadata"].get("namespace")).to_dict()
    return created


def _quiet_namespace(kube: TestKube, namespaces: Namespaces, hint: str) -> str:
    """A namespace where no pod and no volume claim can be made (the StatefulSets stay empty)."""
    namespace = namespaces.make(hint)
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "nothing-runs", "namespace": namespace},
        "spec": {"hard": {"pods": "0", "persistentvolumeclaims": "0"}},
    }
    _create(kube, quota)
    return namespace


# --- quantities -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quantity_namespace(kube: TestKube, namespaces: Namespaces) -> Iterator[str]:
    namespace = _quiet_namespace(kube, namespaces, "quantities")
    yield namespace
    namespaces.delete(namespace)


_names = itertools.count()


def _stored(kube: TestKube, namespace: str, amounts: list[Any]) -> tuple[list[str], list[str]]:
    """Create a PodTemplate holding each amount as a container's cpu request (a resource list)
    and as an emptyDir's sizeLimit; return what the API server stored, as a GET returns it."""
    name = f"q{next(_names)}"
    template = {
        "apiVersion": "v1",
        "kind": "PodTemplate",
        "metadata": {"name": name, "namespace": namespace},
        "template": {
            "spec": {
                "containers": [
                    {"name": f"c{i}", "image": "x", "resources": {"requests": {"cpu": amount}}}
                    for i, amount in enumerate(amounts)
                ],
                "volumes": [
                    {"name": f"v{i}", "emptyDir": {"sizeLimit": amount}}
                    for i, amount in enumerate(amounts)
                ],
            }
        },
    }
    _create(kube, template)
    stored = kube.must_get("v1", "PodTemplate", name, namespace)["template"]["spec"]
    return (
        [container["resources"]["requests"]["cpu"] for container in stored["containers"]],
        [volume["emptyDir"]["sizeLimit"] for volume in stored["volumes"]],
    )


@settings(
    max_examples=60,
    deadline=None,
    phases=PHASES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(quantities(), min_size=1, max_size=30))
@example(["0.5", "1024Mi", "1.5Gi", "2000m", "1000000", 1000, "1e3", "10e2", "0.5Ki", "1.5Ki"])
@example(["+1Gi", "01Gi", "5.", "1E3", "1e+3", "+5", ".000000000001Ki", "1e-12", "0.0001"])
@example(["395214843.75Ki", "97.65625Ki", "1025Ki", "1536"])
def test_canonical_quantities_are_what_the_api_server_stores(
    kube: TestKube, quantity_namespace: str, amounts: list[Any]
) -> None:
    listed, parsed = _stored(kube, quantity_namespace, amounts)
    for amount, in_list, in_volume in zip(amounts, listed, parsed, strict=True):
        for stored, resource_list in ((in_list, True), (in_volume, False)):
            normal = canonical(amount, resource_list=resource_list)
            if stored == normal:
                event("stored in canonical form")
                continue
            # The API server keeps a spelling as written when it parsed it without rounding and
            # its digits are canonical but for a sign, leading zeros, a trailing point or the
            # exponent's case ("+1Gi", "01Gi", "5.", "1E3"): the same number, still.
            assert stored == str(amount), (amount, resource_list, stored, normal)
            assert exact(stored) == exact(normal), (amount, resource_list, stored, normal)
            event("kept as written")

    # The canonical form is stored as it is: rendering it always compares equal.
    for resource_list, where in ((True, 0), (False, 1)):
        normal_forms = [canonical(amount, resource_list=resource_list) for amount in amounts]
        assert _stored(kube, quantity_namespace, normal_forms)[where] == normal_forms


# --- whole clusters -------------------------------------------------------------------------


def _differences(live: Any, desired: Any, path: str = "") -> Iterator[str]:
    """Where `live` does not hold `desired` (as `contains` judges), for the failure message."""
    if isinstance(desired, dict) and isinstance(live, dict):
        for key, value in desired.items():
            if key not in live:
                yield f"{path}.{key}: missing (rendered {value!r})"
            else:
                yield from _differences(live[key], value, f"{path}.{key}")
    elif isinstance(desired, list) and isinstance(live, list) and len(desired) == len(live):
        for index, (item, want) in enumerate(zip(live, desired, strict=True)):
            yield from _differences(item, want, f"{path}[{index}]")
    elif not contains(live, desired):
        yield f"{path}: live {live!r}, rendered {desired!r}"


@settings(
    max_examples=25,
    deadline=None,
    phases=PHASES,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
@given(cluster_specs())
def test_a_second_apply_of_any_valid_spec_writes_nothing(
    kube: TestKube,
    namespaces: Namespaces,
    api_proxy: ApiProxy,
    applier: Kube,
    spec: dict[str, Any],
) -> None:
    accepted(spec)  # the strategy draws valid specs; drop the few whose settings clash
    namespace = _quiet_namespace(kube, namespaces, "zero-writes")
    try:
        # The owner, as users write it, paused so that the operator leaves its children alone.
        manifest = kafka_cluster("c", namespace, spec, annotations={"kopfka.dev/paused": "true"})
        owner = _create(kube, manifest)
        parsed = parse_cluster("c", namespace, owner["spec"])
        objects = [
            owned_by(obj, owner)
            for obj in render_cluster(
                parsed, CLUSTER_ID, certificates=new_certificates(parsed), operator=OPERATOR
            )
        ]
        applier.apply_all(objects)

        start = time.time()
        applier.apply_all(objects)
        writes = [
            str(request)
            for request in api_proxy.writes(since=start, path=f"/namespaces/{namespace}/")
            if request.user_agent == USER_AGENT
        ]
        if writes:
            differences = [
                f"{obj['kind']} {obj['metadata']['name']}{difference}"
                for obj in objects
                for difference in _differences(
                    kube.must_get(
                        obj["apiVersion"], obj["kind"], obj["metadata"]["name"], namespace
                    ),
                    obj,
                )
            ]
            raise AssertionError(
                "the second apply wrote:\n  "
                + "\n  ".join(writes)
                + "\nrendered fields the live objects do not hold:\n  "
                + "\n  ".join(differences)
            )
    finally:
        namespaces.delete(namespace)
