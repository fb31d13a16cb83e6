"""tests/cases/bad_inputs.yaml as typed cases: each case's spec is its kind's base spec with the
case's `spec` deep-merged over it (a null removes the key), and `update` likewise over that."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

BAD_INPUTS = Path(__file__).resolve().parents[1] / "cases" / "bad_inputs.yaml"
# metadata.name of a case's object when the case names none.
DEFAULT_NAMES = {"KafkaCluster": "events", "KafkaTopic": "orders", "KafkaUser": "orders-app"}


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` over `base`: mappings merge key by key, None removes a key, the rest replaces."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping):
            under = merged.get(key)
            merged[key] = deep_merge(under if isinstance(under, Mapping) else {}, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@dataclass(frozen=True)
class BadInput:
    name: str
    kind: str
    spec: dict[str, Any]
    update: dict[str, Any] | None
    expect: str
    message: str
    reason: str | None
    # metadata.name of the object; the kind's usual name (DEFAULT_NAMES) when the case has none
    resource_name: str

    @property
    def is_cluster(self) -> bool:
        return self.kind == "KafkaCluster"

    @property
    def refused(self) -> bool:
        return self.expect == "admission"


def base_spec(kind: str, path: Path = BAD_INPUTS) -> dict[str, Any]:
    """The valid spec of `kind` that every case starts from."""
    bases: dict[str, dict[str, Any]] = yaml.safe_load(path.read_text())["bases"]
    return copy.deepcopy(bases[kind])


def load_bad_inputs(path: Path = BAD_INPUTS) -> list[BadInput]:
    document = yaml.safe_load(path.read_text())
    bases: dict[str, dict[str, Any]] = document["bases"]
    cases = []
    for raw in document["cases"]:
        if raw["expect"] not in {"admission", "condition"}:
            raise ValueError(f"case {raw['name']}: unknown expect {raw['expect']!r}")
        spec = deep_merge(bases[raw["kind"]], raw.get("spec") or {})
        update = deep_merge(spec, raw["update"]) if "update" in raw else None
        cases.append(
            BadInput(
                name=raw["name"],
                kind=raw["kind"],
                spec=spec,
                update=update,
                expect=raw["expect"],
                message=str(raw["message"]),
                reason=raw.get("reason"),
                resource_name=raw.get("resourceName", DEFAULT_NAMES[raw["kind"]]),
            )
        )
    return cases
