"""hack/gen-k8s-core-schemas.py as a module, for the tests that hold kopfka's embedded Kubernetes
schemas (model/k8s_core) against their source: kubernetes_validate's definitions."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from types import ModuleType

GENERATOR = Path(__file__).resolve().parents[2] / "hack" / "gen-k8s-core-schemas.py"


@functools.cache
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_k8s_core_schemas", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
