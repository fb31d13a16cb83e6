"""Every case of tests/cases/bad_inputs.yaml against the real API server and operator.

`admission` cases must be refused by the API server (CRD schema and CEL rules) with the case's
message in the error a user sees from kubectl; `update` cases are created valid and refused when
changed. `condition` cases are stored, and the operator reports Ready=False with the case's reason
and message, without creating any StatefulSet.
"""

from __future__ import annotations

import pytest

from tests.support.cases import BadInput, base_spec, load_bad_inputs
from tests.support.clusters import children, wait_condition
from tests.support.kube import Obj, TestKube, condition
from tests.support.manifests import kafka_cluster, kafka_topic, kafka_user
from tests.support.operator import OperatorProcess

CASES = load_bad_inputs()
# Topic cases run next to a valid cluster of the name the base topic spec uses.
TOPIC_CLUSTER = "events"


def _manifest(case: BadInput, namespace: str, spec: Obj) -> Obj:
    if case.is_cluster:
        return kafka_cluster(case.resource_name, namespace, spec)
    if case.kind == "KafkaUser":
        return kafka_user(case.resource_name, namespace, spec)
    return kafka_topic(case.resource_name, namespace, spec)


def test_every_case_has_a_known_kind() -> None:
    assert CASES
    assert {case.kind for case in CASES} <= {"KafkaCluster", "KafkaTopic", "KafkaUser"}


@pytest.mark.parametrize("case", [c for c in CASES if c.refused], ids=lambda c: c.name)
def test_refused_by_the_api_server(
    case: BadInput, kube: TestKube, crds: list[str], namespace: str
) -> None:
    name = _manifest(case, namespace, case.spec)["metadata"]["name"]
    if case.update is None:
        error = kube.apply_refused(_manifest(case, namespace, case.spec))
        assert case.message in error
        assert kube.get("kopfka.dev/v1alpha1", case.kind, name, namespace) is None
    else:
        kube.apply(_manifest(case, namespace, case.spec))
        before = kube.get("kopfka.dev/v1alpha1", case.kind, name, namespace)
        assert before is not None
        error = kube.apply_refused(_manifest(case, namespace, case.update))
        assert case.message in error
        after = kube.get("kopfka.dev/v1alpha1", case.kind, name, namespace)
        assert after is not None
        assert after["metadata"]["generation"] == before["metadata"]["generation"]


@pytest.mark.parametrize("case", [c for c in CASES if not c.refused], ids=lambda c: c.name)
def test_reported_as_a_condition(
    case: BadInput, kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    if case.kind in {"KafkaTopic", "KafkaUser"}:
        kube.apply(kafka_cluster(TOPIC_CLUSTER, namespace, base_spec("KafkaCluster")))
    manifest = _manifest(case, namespace, case.spec)
    kube.apply(manifest)
    name = manifest["metadata"]["name"]
    obj = wait_condition(
        kube, case.kind, name, namespace, type="Ready", status="False", reason=case.reason
    )
    ready = condition(obj, "Ready")
    assert ready is not None
    assert case.message in ready["message"]
    if case.is_cluster:
        # The operator made nothing: no child of any kind, not even the ones the API server would
        # have accepted (objects are dry-run together before any is written).
        assert children(kube, case.resource_name, namespace) == {}
