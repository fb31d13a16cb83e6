"""Every `condition` case of tests/cases/bad_inputs.yaml gets its message from the model.

The `admission` cases need CEL and are sent to a real API server by the integration tier; here we
check that the documented list and docs/bad-inputs.md agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kopfka.model.cluster import parse_cluster
from kopfka.model.errors import SpecError
from kopfka.model.topic import check_against_cluster, parse_topic
from tests.support.cases import BAD_INPUTS, BadInput, load_bad_inputs

CASES = load_bad_inputs()
BASES: dict[str, dict[str, Any]] = yaml.safe_load(BAD_INPUTS.read_text())["bases"]
MODEL_CASES = [case for case in CASES if case.reason == "InvalidSpec"]


def _problems(case: BadInput) -> list[str]:
    try:
        if case.kind == "KafkaCluster":
            parse_cluster("events", "streaming", case.spec)
            return []
        topic = parse_topic("orders", case.spec)
        cluster = parse_cluster("events", "streaming", BASES["KafkaCluster"])
        return check_against_cluster(topic, cluster)
    except SpecError as error:
        return error.problems


@pytest.mark.parametrize("case", MODEL_CASES, ids=lambda case: case.name)
def test_model_rejects_with_the_documented_message(case: BadInput) -> None:
    problems = _problems(case)
    assert any(case.message in problem for problem in problems), problems


def test_every_base_spec_is_valid() -> None:
    parse_cluster("events", "streaming", BASES["KafkaCluster"])
    parse_topic("orders", BASES["KafkaTopic"])


def test_docs_list_every_case() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "bad-inputs.md").read_text()
    missing = [case.name for case in CASES if f"`{case.name}`" not in doc]
    assert not missing
