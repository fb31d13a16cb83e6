"""Writes JSON schemas for kubeconform, offline: Kubernetes' own kinds and kopfka's CRDs.

kubeconform downloads its schemas from the internet by default, which `make chart-check` cannot
reach. So:

- Kubernetes' kinds come from the strict JSON schemas that the `kubernetes-validate` package ships
  (already installed in .venv, for the Kubernetes minor of hack/versions.env). Their `$ref`s point
  at `/api/_definitions.json` under an `$id` on kubernetes.io; kubeconform would try to fetch that,
  so each file is written without its `$id` and with refs relative to its own directory.
- kopfka's kinds are converted from the CRDs' `openAPIV3Schema`: `nullable` becomes a null type,
  int-or-string an `anyOf`, and every object that does not preserve unknown fields refuses them
  (`additionalProperties: false`), as kubeconform's -strict does for built-in kinds (the API
  server prunes such fields with a warning; a manifest should not carry them). `metadata` is
  Kubernetes' ObjectMeta. CEL rules (`x-kubernetes-validations`) are left out: kubeconform cannot
  run them; the integration tier has the API server check the same files.

File names follow kubeconform's `{{ .ResourceKind }}{{ .KindSuffix }}.json`, so:

    hack/crd-json-schemas.py --crds crds --out DIR
    kubeconform -strict \
        -schema-location 'DIR/kubernetes/{{ .ResourceKind }}{{ .KindSuffix }}.json' \
        -schema-location 'DIR/crds/{{ .ResourceKind }}{{ .KindSuffix }}.json' FILE...
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
VERSIONS = REPO / "hack" / "versions.env"
JSON_SCHEMA = "https://json-schema.org/draft/2020-12/schema"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_CORE_REF = re.compile(r'"/api/_definitions\.json#/\$defs/')
# Keys of a structural schema that JSON Schema does not know, or that only the API server acts on.
_KUBERNETES_ONLY = ("x-kubernetes-", "nullable")


def kubernetes_minor() -> str:
    """The Kubernetes minor of hack/versions.env: 1.36 for KUBERNETES_VERSION=v1.36.3."""
    match = re.search(r"^KUBERNETES_VERSION=v(\d+\.\d+)\.", VERSIONS.read_text(), re.MULTILINE)
    if match is None:
        raise SystemExit(f"{VERSIONS}: no KUBERNETES_VERSION=vX.Y.Z line")
    return match[1]


def core_schema_dir(minor: str) -> Path:
    source = resources.files("kubernetes_validate") / "kubernetes-json-schema"
    path = Path(str(source)) / f"v{minor}.0-local-strict"
    if not path.is_dir():
        raise SystemExit(f"kubernetes-validate has no schemas for Kubernetes {minor} ({path})")
    return path


def write_core(source: Path, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for path in sorted(source.glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        schema.pop("$id", None)
        text = _CORE_REF.sub('"_definitions.json#/$defs/', json.dumps(schema, sort_keys=True))
        (out / path.name).write_text(text, encoding="utf-8")
        count += 1
    return count


def convert(node: dict[str, Any]) -> dict[str, Any]:
    """A structural OpenAPI v3 schema node as a strict JSON schema node."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith(_KUBERNETES_ONLY):
            continue
        if key == "properties":
            out[key] = {name: convert(sub) for name, sub in value.items()}
        elif key in ("items", "not") or (key == "additionalProperties" and isinstance(value, dict)):
            out[key] = convert(value)
        elif key in ("anyOf", "allOf", "oneOf"):
            out[key] = [convert(sub) for sub in value]
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    open_object = node.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in node
    if node.get("type") == "object" and not open_object:
        out["additionalProperties"] = False
    return out


def referenced(schema: Any) -> Iterable[str]:
    """Names of the core definitions a schema refers to."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            yield ref.rsplit("/", 1)[-1]
        for value in schema.values():
            yield from referenced(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from referenced(value)


def object_meta_defs(core: Path) -> dict[str, Any]:
    """ObjectMeta and every definition it needs (their refs are local to _definitions.json, and
    stay local in the document they are copied into)."""
    every = json.loads((core / "_definitions.json").read_text(encoding="utf-8"))["$defs"]
    needed: dict[str, Any] = {}
    pending = [OBJECT_META]
    while pending:
        name = pending.pop()
        if name not in needed:
            needed[name] = every[name]
            pending.extend(referenced(every[name]))
    return needed


def crd_schemas(crd: dict[str, Any], meta_defs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """File name -> JSON schema, for each served version of a CRD."""
    spec = crd["spec"]
    group, kind = spec["group"], spec["names"]["kind"]
    found = {}
    for version in spec["versions"]:
        if not version.get("served", True):
            continue
        source = version["schema"]["openAPIV3Schema"]
        schema = convert(source)
        schema["properties"]["apiVersion"] = {
            "type": "string",
            "enum": [f"{group}/{version['name']}"],
        }
        schema["properties"]["kind"] = {"type": "string", "enum": [kind]}
        schema["properties"]["metadata"] = {"$ref": f"#/$defs/{OBJECT_META}"}
        schema["required"] = sorted({"apiVersion", "kind", *source.get("required", [])})
        schema["additionalProperties"] = False
        schema["$schema"] = JSON_SCHEMA
        schema["$defs"] = meta_defs
        file_name = f"{kind.lower()}-{group.split('.')[0]}-{version['name']}.json"
        found[file_name] = schema
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crds", type=Path, required=True, help="directory of CRD YAML files")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    args = parser.parse_args(argv)
    core = core_schema_dir(kubernetes_minor())
    count = write_core(core, args.out / "kubernetes")
    meta_defs = object_meta_defs(core)
    crd_out = args.out / "crds"
    crd_out.mkdir(parents=True, exist_ok=True)
    for path in sorted(args.crds.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not document or document.get("kind") != "CustomResourceDefinition":
                continue
            for file_name, schema in crd_schemas(document, meta_defs).items():
                (crd_out / file_name).write_text(json.dumps(schema, indent=1, sort_keys=True))
                count += 1
    print(f"{args.out}: {count} schemas", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
