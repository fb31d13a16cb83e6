"""Runs kopfka's Argo CD health checks (manifests/argocd/*.lua) with the real Lua 5.1 interpreter.

Argo CD runs a health check on gopher-lua, a Lua 5.1: it sets the live object as the global `obj`,
runs the script as a chunk and takes the table the chunk returns (`hs.status`, `hs.message`). For a
script registered in argocd-cm it opens only the base and table libraries (and a reduced `os`)
unless `useOpenLibs` is set. The runner does the same with Debian's `lua5.1` (hack/lua.sh installs
it): the object becomes a Lua table constructor, as Argo CD decodes it (maps to tables with string
keys, lists to sequences, null to nil), and the chunk runs in an environment of the base functions,
`table` and `obj`, with string methods switched off, so a script that needs more fails here as it
would in Argo CD. What the chunk returns is printed hex-encoded and read back, so a message holding
any bytes comes back exactly.
"""

from __future__ import annotations

import copy
import math
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
ARGOCD_DIR = REPO_ROOT / "manifests" / "argocd"
CLUSTER_HEALTH = ARGOCD_DIR / "kafkacluster-health.lua"
TOPIC_HEALTH = ARGOCD_DIR / "kafkatopic-health.lua"
SCRIPTS = {"KafkaCluster": CLUSTER_HEALTH, "KafkaTopic": TOPIC_HEALTH}
# Live objects the integration tier drove into each state, for the unit tier.
CASES_DIR = REPO_ROOT / "tests" / "cases" / "argocd"
# Set to 1 to make tests/integration/test_argocd_health.py rewrite the cases.
WRITE_CASES_ENV = "KOPFKA_WRITE_ARGOCD_CASES"

LUA = "lua5.1"
RUN_TIMEOUT = 30.0
# The statuses Argo CD accepts from a health script; any other becomes Unknown there.
HEALTH_STATUSES = frozenset(
    {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}
)
# The base library functions a chunk from argocd-cm can call.
_BASE_FUNCTIONS = (
    "assert",
    "error",
    "getmetatable",
    "ipairs",
    "next",
    "pairs",
    "pcall",
    "print",
    "rawequal",
    "rawget",
    "rawset",
    "select",
    "setmetatable",
    "tonumber",
    "tostring",
    "type",
    "unpack",
    "xpcall",
)


class LuaMissing(AssertionError):
    """lua5.1 is not installed: the tests that run health checks cannot run."""


class HealthScriptError(AssertionError):
    """The script failed (Argo CD would show the error instead of a health) or returned a value
    Argo CD cannot read."""


@dataclass(frozen=True)
class Health:
    status: str
    message: str


def lua_interpreter() -> str:
    found = shutil.which(LUA)
    if found is None:
        raise LuaMissing(
            f"{LUA} is not installed; the Argo CD health checks are tested with it: run "
            "hack/lua.sh (installs Debian's lua5.1)"
        )
    return found


def lua_string(text: str) -> str:
    """A Lua string literal of `text` (UTF-8): printable ASCII as is, every other byte and the
    quote and backslash as a three-digit decimal escape, which no following digit can extend."""
    out = ['"']
    for byte in text.encode("utf-8"):
        if 0x20 <= byte < 0x7F and byte not in (0x22, 0x5C):
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    out.append('"')
    return "".join(out)


def lua_value(value: Any) -> str:
    """A Lua expression for a JSON value as the API server sends it."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a JSON number")
        return repr(value)
    if isinstance(value, str):
        return lua_string(value)
    if isinstance(value, Mapping):
        items = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"object keys are strings in JSON, not {key!r}")
            items.append(f"[{lua_string(key)}]={lua_value(item)}")
        return "{" + ",".join(items) + "}"
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return "{" + ",".join(lua_value(item) for item in value) + "}"
    raise TypeError(f"{type(value).__name__} is not a JSON value")


# The chunk runs with the environment Argo CD gives it; the driver alone keeps `string` and `io`
# (captured before the chunk runs) to print the result.
_DRIVER = """
local format, byte, gsub = string.format, string.byte, string.gsub
local stdout, stderr = io.stdout, io.stderr
local chunk, load_error = loadfile({script})
if not chunk then
  stderr:write("cannot load the script: ", load_error)
  os.exit(2)
end
local env = {{obj = {obj}, table = table, _VERSION = _VERSION}}
for _, name in ipairs({{{base}}}) do
  env[name] = _G[name]
end
env._G = env
setfenv(chunk, env)
local string_meta = getmetatable("")
local string_methods = string_meta.__index
string_meta.__index = nil
local ok, hs = pcall(chunk)
string_meta.__index = string_methods
if not ok then
  stderr:write("the script raised: ", tostring(hs))
  os.exit(3)
end
if type(hs) ~= "table" then
  stderr:write("the script returned a ", type(hs), ", not a table")
  os.exit(4)
end
local function field(value)
  if value == nil then
    return "nil"
  end
  if type(value) ~= "string" then
    return "!" .. type(value)
  end
  return "=" .. (gsub(value, ".", function(c) return format("%02x", byte(c)) end))
end
stdout:write(field(hs.status), "\\n", field(hs.message), "\\n")
"""


def _field(line: str, name: str) -> str | None:
    if line == "nil":
        return None
    if line.startswith("="):
        try:
            return bytes.fromhex(line[1:]).decode("utf-8")
        except UnicodeDecodeError as error:
            raise HealthScriptError(f"hs.{name} is not UTF-8: {error}") from error
    raise HealthScriptError(f"hs.{name} is a {line.lstrip('!')}, not a string")


def run_health_check(script: Path, obj: Mapping[str, Any]) -> Health:
    """The health `script` gives `obj`, checked to be one Argo CD accepts."""
    driver = _DRIVER.format(
        script=lua_string(str(script)),
        obj=lua_value(obj),
        base=",".join(lua_string(name) for name in _BASE_FUNCTIONS),
    )
    run = subprocess.run(
        [lua_interpreter(), "-"],
        input=driver.encode(),
        capture_output=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    stderr = run.stderr.decode(errors="replace").strip()
    if run.returncode != 0:
        raise HealthScriptError(f"{script.name} failed (exit {run.returncode}): {stderr}")
    lines = run.stdout.decode().splitlines()
    if len(lines) != 2:
        raise HealthScriptError(f"{script.name} printed {lines!r} (stderr: {stderr})")
    status, message = _field(lines[0], "status"), _field(lines[1], "message")
    if status not in HEALTH_STATUSES:
        raise HealthScriptError(
            f"{script.name} returned status {status!r}, which Argo CD turns into Unknown"
        )
    return Health(status=status, message=message or "")


def health_of(obj: Mapping[str, Any]) -> Health:
    """The health kopfka's check for the object's kind gives it."""
    return run_health_check(SCRIPTS[obj["kind"]], obj)


@dataclass(frozen=True)
class SavedCase:
    """A live object and the health its check must give it (status, and part of the message)."""

    name: str
    what: str
    status: str
    message_includes: str
    obj: dict[str, Any]


_CASE_HEADER = """\
# The live object as the API server returned it to tests/integration/test_argocd_health.py
# (without metadata.managedFields), and the health its Argo CD check must give it
# (tests/unit/test_argocd_health.py). Rewrite with:
#   {env}=1 .venv/bin/python -m pytest tests/integration/test_argocd_health.py
"""


def writing_cases() -> bool:
    return os.environ.get(WRITE_CASES_ENV) == "1"


def write_case(
    name: str, *, what: str, obj: Mapping[str, Any], health: Health, includes: str
) -> None:
    saved = copy.deepcopy(dict(obj))
    saved.get("metadata", {}).pop("managedFields", None)
    document = {
        "what": what,
        "health": {"status": health.status, "messageIncludes": includes},
        "object": saved,
    }
    CASES_DIR.mkdir(parents=True, exist_ok=True)
    text = _CASE_HEADER.format(env=WRITE_CASES_ENV) + yaml.safe_dump(
        document, sort_keys=False, width=100
    )
    (CASES_DIR / f"{name}.yaml").write_text(text)


def saved_cases() -> list[SavedCase]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        document = yaml.safe_load(path.read_text())
        cases.append(
            SavedCase(
                name=path.stem,
                what=document["what"],
                status=document["health"]["status"],
                message_includes=document["health"]["messageIncludes"],
                obj=document["object"],
            )
        )
    return cases
