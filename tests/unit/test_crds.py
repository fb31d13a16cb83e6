"""The CRDs in crds/ are generated from the model, document every field and are structural."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kopfka.model import crds

CRD_DIR = Path(__file__).parents[2] / "crds"


@pytest.mark.parametrize("file_name", sorted(crds.all_crds()))
def test_crds_on_disk_match_the_model(file_name: str) -> None:
    on_disk = (CRD_DIR / file_name).read_text()
    assert on_disk == crds.to_yaml(crds.all_crds()[file_name]), "run `make crds`"


def _fields(schema: dict[str, Any], path: str) -> list[tuple[str, dict[str, Any]]]:
    found = [(path, schema)]
    for name, sub in (schema.get("properties") or {}).items():
        found += _fields(sub, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        found += _fields(schema["items"], f"{path}[]")
    return found


@pytest.mark.parametrize("file_name", sorted(crds.all_crds()))
def test_every_field_has_a_description(file_name: str) -> None:
    schema = crds.all_crds()[file_name]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    # The API server refuses anything but a type on the root metadata.
    undocumented = [
        path
        for path, sub in _fields(schema, "")
        if not sub.get("description") and path != ".metadata"
    ]
    assert undocumented == []


@pytest.mark.parametrize("file_name", sorted(crds.all_crds()))
def test_every_field_is_typed(file_name: str) -> None:
    """Structural schemas: each field has a type, or is int-or-string, or keeps unknown fields."""
    schema = crds.all_crds()[file_name]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    untyped = [
        path
        for path, sub in _fields(schema, "")
        if "type" not in sub
        and not sub.get("x-kubernetes-int-or-string")
        and not sub.get("x-kubernetes-preserve-unknown-fields")
    ]
    assert untyped == []


def test_kubectl_short_names_and_columns() -> None:
    cluster = crds.kafka_cluster_crd()
    assert cluster["spec"]["names"]["shortNames"] == ["kc"]
    assert crds.kafka_topic_crd()["spec"]["names"]["shortNames"] == ["kt"]
    columns = [c["name"] for c in cluster["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert columns[:3] == ["Ready", "Brokers", "Version"]
    assert columns[-1] == "Age"


def test_crd_yaml_is_loadable() -> None:
    for path in CRD_DIR.glob("*.yaml"):
        assert yaml.safe_load(path.read_text())["kind"] == "CustomResourceDefinition"
