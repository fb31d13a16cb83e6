"""Writes docs/reference/<kind>.md: the reference of each custom resource, from its CRD.

The CRDs that `make crds` writes come from `kopfka.model.crds.all_crds()`; this reads the same
function, so the reference can never say something the API server does not enforce. Every field
gets its path, type, default, limits (allowed values, pattern, minimum and maximum, lengths),
whether it is required or immutable, and its description; every CEL rule is listed with the
message `kubectl apply` prints. The Kubernetes core types embedded in the pod template are named
and linked, not expanded: `kubectl explain` and the Kubernetes reference document them.

Output is deterministic (schema order, no dates), and tests/unit/test_docs.py fails when the files
in docs/reference/ differ from it. Run: `make docs`.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from kopfka.model import crds, k8s_core
from kopfka.model.schema_dsl import QUANTITY_PATTERN, Schema

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "reference"
COMMAND = "make docs"
K8S_SCHEDULING_REFERENCE = (
    "https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#scheduling"
)
K8S_NETWORK_POLICY_REFERENCE = (
    "https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/"
    "#NetworkPolicySpec"
)


class Embedded(NamedTuple):
    """A Kubernetes type the CRD embeds whole: shown as one field with a link, not field by
    field."""

    name: str
    make: Callable[[], Schema]
    reference: str


EMBEDDED = (
    Embedded("core/v1 Affinity", k8s_core.affinity, K8S_SCHEDULING_REFERENCE),
    Embedded("core/v1 Toleration", k8s_core.toleration, K8S_SCHEDULING_REFERENCE),
    Embedded(
        "core/v1 TopologySpreadConstraint",
        k8s_core.topology_spread_constraint,
        K8S_SCHEDULING_REFERENCE,
    ),
    Embedded(
        "networking/v1 NetworkPolicyPeer",
        k8s_core.network_policy_peer,
        K8S_NETWORK_POLICY_REFERENCE,
    ),
)
# Every schema keyword this generator renders. Another one fails the run instead of being left
# out of the reference without anyone noticing.
RENDERED_KEYWORDS = frozenset(
    {
        "additionalProperties",
        "anyOf",
        "default",
        "description",
        "enum",
        "exclusiveMinimum",
        "format",
        "items",
        "maxItems",
        "maxLength",
        "maxProperties",
        "maximum",
        "minItems",
        "minLength",
        "minimum",
        "pattern",
        "properties",
        "required",
        "type",
        "x-kubernetes-int-or-string",
        "x-kubernetes-list-map-keys",
        "x-kubernetes-list-type",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-validations",
    }
)
ROOT_METADATA = "Standard Kubernetes object metadata: name, namespace, labels, annotations."
# `self.x == oldSelf.x` in an object's transition rule: field x cannot change.
_UNCHANGED_FIELD = re.compile(r"\bself\.(\w+) == oldSelf\.(\w+)\b")


class Section(NamedTuple):
    """One object level of the resource: an object schema with properties, at `path`."""

    path: str
    schema: Schema

    @property
    def depth(self) -> int:
        return self.path.count(".")


def anchor(path: str) -> str:
    """The link target of the section at `path` ("" is the top level)."""
    return path.replace("[]", "").replace(".", "-").lower() or "top-level"


def rules_anchor(path: str) -> str:
    """The link target of the CEL rules listed in the section at `path`."""
    return anchor(path) + "-rules"


def code(text: str) -> str:
    """`text` as a Markdown code span, whatever backticks it holds."""
    fence = "`"
    while fence in text:
        fence += "`"
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def cell(text: str) -> str:
    """Text that stays inside one table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def literal(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(", ", ": "))


def embedded_kind(schema: Schema) -> Embedded | None:
    """The Kubernetes type `schema` embeds whole (its item type for an array), or None: the
    type's fields, whatever bounds the CRD adds to them."""
    target = schema.get("items") if schema.get("type") == "array" else schema
    if not isinstance(target, dict) or not target.get("properties"):
        return None
    for kind in EMBEDDED:
        if set(target["properties"]) == set(kind.make()["properties"]):
            return kind
    return None


def embedded_items(schema: Schema) -> Schema | None:
    """The items of an array of a Kubernetes type embedded whole: their CEL rules are listed
    with the array's, having no section of their own."""
    items = schema.get("items")
    if schema.get("type") == "array" and isinstance(items, dict) and embedded_kind(items):
        return items
    return None


def has_section(schema: Schema) -> bool:
    return bool(schema.get("properties")) and embedded_kind(schema) is None


def child_section_schema(schema: Schema) -> Schema | None:
    """The object schema a field opens a section for: itself, or its array items."""
    if has_section(schema):
        return schema
    items = schema.get("items")
    if schema.get("type") == "array" and isinstance(items, dict) and has_section(items):
        return items
    return None


def child_path(parent: str, name: str, schema: Schema) -> str:
    path = f"{parent}.{name}" if parent else name
    return f"{path}[]" if schema.get("type") == "array" else path


def unrendered(path: str, schema: Schema) -> Iterator[str]:
    """Schema keywords under `schema` that this generator would leave out, with their path."""
    if embedded_kind(schema) is not None:
        return
    for keyword in sorted(set(schema) - RENDERED_KEYWORDS):
        yield f"{path or '(top level)'}: {keyword}"
    for name, sub in (schema.get("properties") or {}).items():
        yield from unrendered(child_path(path, name, {}), sub)
    for keyword, suffix in (("items", "[]"), ("additionalProperties", ".*")):
        if isinstance(schema.get(keyword), dict):
            yield from unrendered(path + suffix, schema[keyword])


def sections(path: str, schema: Schema) -> Iterator[Section]:
    """Every object level under `schema`, depth first in schema order."""
    yield Section(path, schema)
    for name, sub in schema.get("properties", {}).items():
        target = child_section_schema(sub)
        if target is not None:
            yield from sections(child_path(path, name, sub), target)


def type_of(schema: Schema, path: str) -> str:
    """The type as a person reads it, linking to the section of an object."""
    kind = embedded_kind(schema)
    if kind is not None:
        core = f"[{kind.name}]({kind.reference})"
        return f"array of {core}" if schema.get("type") == "array" else core
    if schema.get("x-kubernetes-int-or-string"):
        if schema.get("pattern") == QUANTITY_PATTERN:
            return "[quantity](#quantities)"
        return "integer or string"
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return "any"
    kind_name = str(schema.get("type", "any"))
    if kind_name == "object":
        if has_section(schema):
            return f"[object](#{anchor(path)})"
        values = schema.get("additionalProperties")
        if isinstance(values, dict):
            return f"map of string to {type_of(values, path)}"
        return "object"
    if kind_name == "array":
        items = schema.get("items") or {}
        if has_section(items):
            return f"[array of object](#{anchor(path + '[]')})"
        return f"array of {type_of(items, path)}"
    if "format" in schema:
        return f"{kind_name} ({schema['format']})"
    return kind_name


def _range(low: Any, high: Any, unit: str) -> str | None:
    if low is not None and high is not None:
        return f"{unit}{low} to {high}"
    if low is not None:
        return f"{unit}at least {low}"
    if high is not None:
        return f"{unit}at most {high}"
    return None


def constraints(schema: Schema) -> list[str]:
    """Allowed values, pattern, ranges and list or map sizes, as short phrases."""
    found: list[str] = []
    if "enum" in schema:
        found.append("one of " + ", ".join(code(literal(value)) for value in schema["enum"]))
    pattern = schema.get("pattern")
    if pattern is not None and pattern != QUANTITY_PATTERN:
        found.append(f"pattern {code(pattern)}")
    if schema.get("exclusiveMinimum") and "minimum" in schema and "maximum" not in schema:
        found.append(f"greater than {schema['minimum']}")
        schema = {key: value for key, value in schema.items() if key != "minimum"}
    for low, high, unit in (
        ("minimum", "maximum", ""),
        ("minLength", "maxLength", "length "),
        ("minItems", "maxItems", "items: "),
    ):
        phrase = _range(schema.get(low), schema.get(high), unit)
        if phrase is not None:
            found.append(phrase)
    if "maxProperties" in schema:
        found.append(f"at most {schema['maxProperties']} entries")
    keys = schema.get("x-kubernetes-list-map-keys")
    if schema.get("x-kubernetes-list-type") == "map" and keys:
        found.append("one item per " + ", ".join(code(key) for key in keys))
    values = schema.get("additionalProperties")
    if isinstance(values, dict):
        found.extend(f"values: {phrase}" for phrase in constraints(values))
    return found


def rules_of(schema: Schema) -> list[Schema]:
    rules: list[Schema] = schema.get("x-kubernetes-validations") or []
    return rules


def is_transition(rule: Schema) -> bool:
    return "oldSelf" in str(rule["rule"])


def immutable_fields(schema: Schema) -> set[str]:
    """Direct fields of `schema` that cannot change: their own `self == oldSelf` rule, or the
    object's transition rule that requires `self.<field> == oldSelf.<field>`."""
    fixed = {
        name
        for name, sub in (schema.get("properties") or {}).items()
        if any(str(rule["rule"]).strip() == "self == oldSelf" for rule in rules_of(sub))
    }
    for rule in rules_of(schema):
        for match in _UNCHANGED_FIELD.finditer(str(rule["rule"])):
            if match.group(1) == match.group(2):
                fixed.add(match.group(1))
    return fixed


def field_row(section: Section, name: str, sub: Schema, *, resource: str) -> str:
    path = child_path(section.path, name, {})
    notes: list[str] = []
    if name in (section.schema.get("required") or []):
        notes.append("**required**")
    fixed = name in immutable_fields(section.schema)
    if fixed:
        notes.append("**immutable**")
    notes.extend(constraints(sub))
    # A transition rule of an immutable field says no more than "immutable"; others are listed.
    rules = [*rules_of(sub), *rules_of(embedded_items(sub) or {})]
    if any(not (fixed and is_transition(rule)) for rule in rules):
        listed_in = child_path(section.path, name, sub) if has_section(sub) else section.path
        notes.append(f"[CEL rules](#{rules_anchor(listed_in)})")
    default = code(literal(sub["default"])) if "default" in sub else ""
    description = str(sub.get("description") or (ROOT_METADATA if path == "metadata" else ""))
    if embedded_kind(sub) is not None:
        description += f" Its fields: {code(f'kubectl explain {resource}.{path}')}."
    columns = [code(path), type_of(sub, path), default, "; ".join(notes), description]
    return "| " + " | ".join(cell(column) for column in columns) + " |"


def rule_lines(section: Section, *, kind: str) -> list[str]:
    """Each CEL rule of the object and of its fields that have no section of their own."""
    owners: list[tuple[str, Schema]] = [(section.path or kind, section.schema)]
    for name, sub in (section.schema.get("properties") or {}).items():
        if not has_section(sub):
            owners.append((child_path(section.path, name, {}), sub))
            items = embedded_items(sub)
            if items is not None:
                owners.append((child_path(section.path, name, sub), items))
    lines: list[str] = []
    for path, schema in owners:
        for rule in rules_of(schema):
            when = " Checked on updates (compares with the stored value)." * is_transition(rule)
            message = str(rule.get("message") or "no message: the API server prints the rule")
            expression = code(str(rule["rule"]))
            lines.append(f"- {code(path)}: {message.rstrip('.')}.{when} Rule: {expression}")
    return lines


def section_text(section: Section, *, kind: str, resource: str) -> list[str]:
    title = code(section.path) if section.path else f"{kind}: top level"
    lines = [f'<a id="{anchor(section.path)}"></a>', "", f"## {title}", ""]
    lines += [str(section.schema.get("description", "")), ""]
    if section.path.split(".")[0] == "status":
        lines += ["Written by the operator; read-only for users.", ""]
    elif "default" in section.schema:
        lines += [f"Default: {code(literal(section.schema['default']))}.", ""]
    lines += [
        "| Field | Type | Default | Constraints | Description |",
        "|---|---|---|---|---|",
    ]
    lines += [
        field_row(section, name, sub, resource=resource)
        for name, sub in section.schema.get("properties", {}).items()
    ]
    rules = rule_lines(section, kind=kind)
    if rules:
        lines += ["", f'<a id="{rules_anchor(section.path)}"></a>', ""]
        lines += ["Validation rules (CEL), checked by the API server at `kubectl apply`:", ""]
        lines += rules
    return [*lines, ""]


def columns_table(version: dict[str, Any]) -> list[str]:
    lines = [
        "| Column | Type | From | Shown by |",
        "|---|---|---|---|",
    ]
    for column in version.get("additionalPrinterColumns") or []:
        shown = "`kubectl get -o wide`" if column.get("priority", 0) else "`kubectl get`"
        values = [column["name"], column["type"], code(column["jsonPath"]), shown]
        lines.append("| " + " | ".join(cell(value) for value in values) + " |")
    return lines


def render(crd: dict[str, Any]) -> str:
    """The Markdown reference of one CRD."""
    spec = crd["spec"]
    names = spec["names"]
    kind = names["kind"]
    (version,) = spec["versions"]
    root = version["schema"]["openAPIV3Schema"]
    left_out = list(unrendered("", root))
    if left_out:
        raise SystemExit(f"{kind}: schema keywords the reference does not render: {left_out}")
    all_sections = list(sections("", root))
    anchors = [anchor(section.path) for section in all_sections]
    if len(set(anchors)) != len(anchors):
        raise SystemExit(f"{kind}: two sections share an anchor: {anchors}")
    short = ", ".join(code(name) for name in names.get("shortNames", []))
    categories = ", ".join(code(name) for name in names.get("categories", []))
    lines = [
        f"# {kind} reference",
        "",
        f"<!-- Generated by `{COMMAND}` (hack/gen-crd-reference.py) from the CRD that "
        "operator/kopfka/model/crds.py makes. Do not edit. -->",
        "",
        str(root.get("description", "")),
        "",
        f"- API version: {code(spec['group'] + '/' + version['name'])}, kind {code(kind)}, "
        f"{spec['scope'].lower()}",
        f"- Names for kubectl: {code(names['plural'])}, {code(names['singular'])}, "
        f"short name {short}; categories {categories} "
        f"(`kubectl get {names['categories'][0]}` lists every kopfka resource)",
        f"- Status subresource: {'yes' if 'status' in version.get('subresources', {}) else 'no'}"
        f"; CRD {code(crd['metadata']['name'])} (`crds/{names['plural']}.yaml`)",
        "",
        "## Contents",
        "",
        "- [Columns of `kubectl get`](#columns)",
        "- [Conventions](#conventions)",
    ]
    for section in all_sections:
        title = code(section.path) if section.path else f"{kind}: top level"
        indent = "  " * (section.depth + (1 if section.path else 0))
        lines.append(f"{indent}- [{title}](#{anchor(section.path)})")
    lines += [
        "",
        '<a id="columns"></a>',
        "",
        "## Columns of `kubectl get`",
        "",
        *columns_table(version),
        "",
        '<a id="conventions"></a>',
        "",
        "## Conventions",
        "",
        "- **Default**: what the API server stores when the field is left out.",
        "- **required**: the API server refuses the object without it.",
        "- **immutable**: set at creation; a change is refused at `kubectl apply`.",
        '- <a id="quantities"></a>**quantity**: a Kubernetes quantity, as a number or a string '
        "such as `100Gi`, `500m` or `2`, checked against the API server's own quantity "
        f"syntax: {code(QUANTITY_PATTERN)}.",
        "- Rules that need more than one object (a topic against its cluster) or Kafka's own "
        "setting definitions are checked by the operator: the resource is stored and reports "
        "`Ready=False` with reason `InvalidSpec` (see `docs/bad-inputs.md` and "
        "`docs/troubleshooting.md`).",
        "",
    ]
    for section in all_sections:
        lines += section_text(section, kind=kind, resource=names["singular"])
    return "\n".join(lines).rstrip("\n") + "\n"


def render_all() -> dict[str, str]:
    """File name under docs/reference -> its text, for every CRD kopfka makes."""
    return {
        f"{crd['spec']['names']['singular']}.md": render(crd) for crd in crds.all_crds().values()
    }


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for file_name, text in render_all().items():
        (OUT / file_name).write_text(text, encoding="utf-8")
        print(f"wrote {(OUT / file_name).relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
