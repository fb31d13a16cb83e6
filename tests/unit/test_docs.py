"""The docs follow the code: the CR reference is what hack/gen-crd-reference.py writes from the CRDs
now, and docs/troubleshooting.md explains every condition reason kopfka can set.

The reasons are found in the operator's source, not in a list kept here: every string that reaches
a condition's reason (a `Condition(...)` argument, a `reason=` keyword, an assignment to `reason`,
or the first item of a `(reason, message)` that a function returns), in the functions that the
reconcile of each kind reaches. A reason added to the code without a section in the
troubleshooting page fails here, and so does a section for a reason the code no longer sets.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pytest

import kopfka
from kopfka.model import names, status
from kopfka.topics import sync
from kopfka.users import sync as user_sync

REPO = Path(__file__).resolve().parents[2]
GENERATOR = REPO / "hack" / "gen-crd-reference.py"
REFERENCE = REPO / "docs" / "reference"
TROUBLESHOOTING = REPO / "docs" / "troubleshooting.md"
PACKAGE = Path(kopfka.__file__).resolve().parent

# Where a KafkaCluster's reconcile starts: every function these reach can set its conditions.
ENTRY_POINTS = {
    names.CLUSTER_KIND: (
        ("kopfka.reconcile", "reconcile_cluster"),
        ("kopfka.reconcile", "refresh_status"),
    ),
}
KINDS = (names.CLUSTER_KIND, names.TOPIC_KIND, names.USER_KIND)
# A reason's section in the troubleshooting page: "### `Reason`" under "## <Kind> conditions".
_KIND_HEADING = re.compile(r"^## (\w+) conditions\s*$")
_REASON_HEADING = re.compile(r"^### `(\w+)`")

FunctionKey = tuple[str, str]  # (module, function name)


@functools.cache
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_crd_reference", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rendered() -> dict[str, str]:
    files: dict[str, str] = generator().render_all()
    return files


@pytest.mark.parametrize("file_name", sorted(rendered()))
def test_reference_matches_the_crds(file_name: str) -> None:
    path = REFERENCE / file_name
    on_disk = path.read_text(encoding="utf-8") if path.exists() else None
    assert on_disk == rendered()[file_name], (
        f"docs/reference/{file_name} differs from the CRDs: run `make docs`"
    )


def test_reference_has_no_stale_files() -> None:
    on_disk = {path.name for path in REFERENCE.glob("*.md")}
    assert on_disk == set(rendered()), "docs/reference/ differs from the CRDs: run `make docs`"


def test_generator_refuses_a_schema_keyword_it_does_not_render() -> None:
    schema = {"type": "object", "properties": {"size": {"type": "string", "uniqueItems": True}}}
    assert list(generator().unrendered("spec", schema)) == ["spec.size: uniqueItems"]


# --- condition reasons -------------------------------------------------------------------------


@dataclass
class Module:
    functions: dict[str, ast.FunctionDef] = field(default_factory=dict)
    # Local name -> module (`from kopfka.model import status`) or function (`from x import f`).
    modules: dict[str, str] = field(default_factory=dict)
    imported: dict[str, FunctionKey] = field(default_factory=dict)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def package_modules() -> dict[str, Module]:
    """Every module of the operator, parsed (not imported): its functions and imports."""
    paths = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
    modules: dict[str, Module] = {}
    for name, path in paths.items():
        module = Module()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef):
                module.functions[node.name] = node
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    local = alias.asname or alias.name
                    if f"{node.module}.{alias.name}" in paths:
                        module.modules[local] = f"{node.module}.{alias.name}"
                    elif node.module in paths:
                        module.imported[local] = (node.module, alias.name)
        modules[name] = module
    return modules


def _callee(module_name: str, call: ast.Call) -> FunctionKey | None:
    """The operator function a call runs, when it is one."""
    module = package_modules()[module_name]
    target = call.func
    if isinstance(target, ast.Name):
        if target.id in module.functions:
            return module_name, target.id
        return module.imported.get(target.id)
    if (
        isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id in module.modules
    ):
        return module.modules[target.value.id], target.attr
    return None


def _function(key: FunctionKey) -> ast.FunctionDef | None:
    module = package_modules().get(key[0])
    return module.functions.get(key[1]) if module else None


def _text(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _returned_reasons(key: FunctionKey) -> Iterator[str]:
    """First items of the (reason, message) tuples a function returns."""
    function = _function(key)
    for node in ast.walk(function) if function else ():
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple):
            reason = _text(node.value.elts[0])
            if reason is not None:
                yield reason


def _is_reason(target: ast.expr) -> bool:
    if isinstance(target, ast.Tuple) and target.elts:
        target = target.elts[0]
    return isinstance(target, ast.Name) and target.id == "reason"


def _reasons_in(key: FunctionKey) -> Iterator[str]:
    """Reason strings that `key` (its nested functions and lambdas too) puts into a condition."""
    function = _function(key)
    for node in ast.walk(function) if function else ():
        if isinstance(node, ast.Call):
            # Condition(type, status, reason, message)
            if isinstance(node.func, ast.Name) and node.func.id == "Condition" and node.args[2:]:
                reason = _text(node.args[2])
                if reason is not None:
                    yield reason
            for keyword in node.keywords:
                if keyword.arg == "reason" and _text(keyword.value) is not None:
                    yield str(_text(keyword.value))
        elif isinstance(node, ast.Assign) and any(_is_reason(t) for t in node.targets):
            value: ast.expr | None = node.value
            if isinstance(value, ast.Tuple):
                value = value.elts[0]
            if isinstance(value, ast.Call):
                callee = _callee(key[0], value)
                if callee is not None:
                    yield from _returned_reasons(callee)
            elif _text(value) is not None:
                yield str(_text(value))


def _reachable(entries: tuple[FunctionKey, ...]) -> list[FunctionKey]:
    """The operator functions that `entries` call, directly or not, themselves included."""
    missing = [entry for entry in entries if _function(entry) is None]
    assert not missing, f"entry points not found in the operator: {missing}"
    seen: set[FunctionKey] = set()
    pending = list(entries)
    while pending:
        key = pending.pop()
        function = _function(key)
        if key in seen or function is None:
            continue
        seen.add(key)
        pending.extend(
            callee
            for node in ast.walk(function)
            if isinstance(node, ast.Call) and (callee := _callee(key[0], node)) is not None
        )
    return sorted(seen)


@functools.cache
def scanned_reasons() -> dict[str, frozenset[str]]:
    """Kind -> the reason strings its reconcile sets, found in the source."""
    return {
        kind: frozenset(reason for key in _reachable(entries) for reason in _reasons_in(key))
        for kind, entries in ENTRY_POINTS.items()
    }


def reasons_set_by_kopfka() -> dict[str, frozenset[str]]:
    """Kind -> every reason its conditions can carry."""
    found = dict(scanned_reasons())
    # failed_status takes any of these (and refuses others); only KafkaClusters get it.
    found[names.CLUSTER_KIND] |= status.RECONCILE_FAILURES
    # What keeps kopfka's work inside Kafka from being done, in a table of its own.
    found[names.CLUSTER_KIND] |= frozenset(status.KAFKA_WORK_REASONS)
    # A KafkaTopic's reasons are named constants of the topic modules, declared in one set.
    found[names.TOPIC_KIND] = sync.TOPIC_REASONS
    found[names.USER_KIND] = user_sync.USER_REASONS
    return found


def documented_reasons(text: str) -> dict[str, set[str]]:
    """Kind -> the reasons that have a section under "## <Kind> conditions"."""
    documented: dict[str, set[str]] = {}
    kind: str | None = None
    for line in text.splitlines():
        heading = _KIND_HEADING.match(line)
        if heading:
            kind = heading.group(1)
            documented.setdefault(kind, set())
        elif line.startswith("## "):
            kind = None
        elif kind is not None and (reason := _REASON_HEADING.match(line)):
            documented[kind].add(reason.group(1))
    return documented


def test_the_reason_scan_finds_what_the_code_declares() -> None:
    """The scan is not blind: it finds every declared failure reason where the code sets it."""
    scanned = scanned_reasons()
    assert scanned[names.CLUSTER_KIND] >= status.RECONCILE_FAILURES
    for reasons in reasons_set_by_kopfka().values():
        assert all(re.fullmatch(r"[A-Z][A-Za-z]+", reason) for reason in reasons), reasons


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_reason_is_in_the_troubleshooting_page(kind: str) -> None:
    documented = documented_reasons(TROUBLESHOOTING.read_text(encoding="utf-8")).get(kind, set())
    missing = sorted(reasons_set_by_kopfka()[kind] - documented)
    assert not missing, (
        f"docs/troubleshooting.md does not explain the {kind} reasons {missing}: add a section "
        f"'### `Reason`' for each under '## {kind} conditions'"
    )


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_troubleshooting_page_explains_only_reasons_kopfka_sets(kind: str) -> None:
    documented = documented_reasons(TROUBLESHOOTING.read_text(encoding="utf-8")).get(kind, set())
    stale = sorted(documented - reasons_set_by_kopfka()[kind])
    assert not stale, f"docs/troubleshooting.md explains {kind} reasons kopfka never sets: {stale}"


def test_documented_reasons_are_read_per_kind() -> None:
    text = "\n".join(
        [
            "## KafkaCluster conditions",
            "### `Ready`",
            "## KafkaTopic conditions",
            "### `Pending`",
            "## The operator is down",
            "### `NotAReason`",
        ]
    )
    assert documented_reasons(text) == {"KafkaCluster": {"Ready"}, "KafkaTopic": {"Pending"}}
