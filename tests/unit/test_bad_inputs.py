"""Every `condition` case of tests/cases/bad_inputs.yaml gets its message from the model.

The `admission` cases are sent to a real API server by the integration tier; here the model must
refuse those too (it checks the schema and the CEL rules' content itself), and the documented list
and docs/bad-inputs.md must agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kopfka.model.cluster import parse_cluster
from kopfka.model.errors import SpecError
from kopfka.model.topic import check_against_cluster, parse_topic
from kopfka.model.user import parse_user
from tests.support.cases import BAD_INPUTS, BadInput, load_bad_inputs

CASES = load_bad_inputs()
BASES: dict[str, dict[str, Any]] = yaml.safe_load(BAD_INPUTS.read_text())["bases"]
MODEL_CASES = [case for case in CASES if case.reason == "InvalidSpec"]


def _problems(case: BadInput) -> list[str]:
    try:
        if case.is_cluster:
            parse_cluster(case.resource_name, "streaming", case.spec)
            return []
        if case.kind == "KafkaUser":
            parse_user(case.resource_name, case.spec)
            return []
        topic = parse_topic(case.resource_name, case.spec)
        cluster = parse_cluster("events", "streaming", BASES["KafkaCluster"])
        return check_against_cluster(topic, cluster)
    except SpecError as error:
        return error.problems


@pytest.mark.parametrize("case", MODEL_CASES, ids=lambda case: case.name)
def test_model_rejects_with_the_documented_message(case: BadInput) -> None:
    problems = _problems(case)
    assert any(case.message in problem for problem in problems), problems


@pytest.mark.parametrize(
    "case", [case for case in CASES if case.refused and case.update is None], ids=lambda c: c.name
)
def test_model_also_refuses_what_admission_refuses(case: BadInput) -> None:
    """The model checks the same rules itself, for specs that never met the API server."""
    assert _problems(case)


def test_every_base_spec_is_valid() -> None:
    parse_cluster("events", "streaming", BASES["KafkaCluster"])
    parse_topic("orders", BASES["KafkaTopic"])
    parse_user("orders-app", BASES["KafkaUser"])


def test_docs_list_every_case() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "bad-inputs.md").read_text()
    missing = [case.name for case in CASES if f"`{case.name}`" not in doc]
    assert not missing
