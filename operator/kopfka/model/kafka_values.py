"""Is a string a value Kafka accepts for a setting? Kafka's own parsing rules, in Python.

Kafka parses every setting with its `ConfigDef`: it trims the text, converts it to the setting's
type and runs the setting's validator. The table of types and validators comes from Kafka's jars
(`kafka_configs/<version>.json`, see docs/kafka-config-tables.md); this module applies it, so a
value Kafka would refuse at start-up (or in CreateTopics) is refused in the spec instead.

Where Java is more lenient than a simple rule (Java's `Integer.parseInt` takes non-ASCII digits,
`Double.parseDouble` takes hexadecimal and `NaN`), kopfka accepts less: refusing is safe, a value
that passes here but not in Kafka is not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

_INTEGER = re.compile(r"[+-]?[0-9]+")
_DOUBLE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER_BOUNDS = {
    "SHORT": (-(2**15), 2**15 - 1),
    "INT": (-(2**31), 2**31 - 1),
    "LONG": (-(2**63), 2**63 - 1),
}
# Java's String.trim(): every character up to U+0020 counts as white space.
_JAVA_TRIM = "".join(chr(code) for code in range(0x21))
# ConfigDef splits lists on `\s*,\s*`; Java's `\s` is ASCII white space only.
_LIST_SEPARATOR = re.compile(r"[ \t\n\x0b\f\r]*,[ \t\n\x0b\f\r]*")


@dataclass(frozen=True)
class Setting:
    """One entry of Kafka's ConfigDef: how Kafka parses and checks a setting."""

    name: str
    type: str
    validator: Mapping[str, Any] | None
    # Kafka's default as text; None when Kafka has none (or it is null).
    default: str | None = None
    dynamic: str = "read-only"
    # Topic settings: the broker setting whose value is this setting's default.
    server_default: str | None = None


def java_trim(text: str) -> str:
    """`text` as Kafka trims it (Java's `String.trim`, not Python's Unicode-aware `strip`)."""
    return text.strip(_JAVA_TRIM)


def java_list(text: str) -> list[str]:
    """The items Kafka reads from a LIST setting's text, empty items included."""
    trimmed = java_trim(text)
    return [] if trimmed == "" else _LIST_SEPARATOR.split(trimmed)


def check_value(setting: Setting, raw: str) -> str | None:
    """None when Kafka accepts `raw` for `setting`, else why not (a phrase after the key)."""
    text = java_trim(raw)
    kind = setting.type
    if kind == "BOOLEAN":
        if text.lower() not in {"true", "false"}:
            return f"must be true or false, not {raw!r}"
        return None
    if kind in _INTEGER_BOUNDS:
        return _check_integer(setting, text, raw)
    if kind == "DOUBLE":
        if not _DOUBLE.fullmatch(text):
            return f"must be a number, not {raw!r}"
        return _check_validator(setting.validator, Decimal(text), raw)
    if kind == "LIST":
        return _check_list(setting.validator, java_list(text), raw)
    if kind == "STRING":
        return _check_validator(setting.validator, text, raw)
    # CLASS and PASSWORD settings are refused by the caller before values are looked at.
    return f"has type {kind}, which kopfka cannot check"


def _check_integer(setting: Setting, text: str, raw: str) -> str | None:
    if not _INTEGER.fullmatch(text):
        return f"must be a whole number, not {raw!r}"
    number = int(text)
    low, high = _INTEGER_BOUNDS[setting.type]
    if not low <= number <= high:
        return f"{raw!r} is out of range for a Java {setting.type.lower()} ({low}..{high})"
    return _check_validator(setting.validator, Decimal(number), raw)


def _check_validator(validator: Mapping[str, Any] | None, value: Any, raw: str) -> str | None:
    if validator is None:
        return None
    kind = validator["kind"]
    if kind == "range":
        return _check_range(validator, value, raw)
    if kind == "enum":
        return _check_enum(validator, str(value), raw)
    if kind == "non-empty-string":
        return "must not be empty" if str(value) == "" else None
    if kind == "non-empty-string-without-control-chars":
        if str(value) == "" or any(ord(char) < 0x20 or ord(char) == 0x7F for char in str(value)):
            return "must not be empty or contain control characters"
        return None
    if kind == "integers":
        allowed = [int(item) for item in validator["values"]]
        if int(value) not in allowed:
            return f"must be one of {', '.join(map(str, allowed))}, not {raw!r}"
        return None
    if kind == "composite":
        for part in validator["validators"]:
            problem = _check_validator(part, value, raw)
            if problem:
                return problem
        return None
    if kind == "non-null":
        return None
    return f"is checked by Kafka's {validator.get('class', kind)}, which kopfka cannot check"


def _check_range(validator: Mapping[str, Any], value: Any, raw: str) -> str | None:
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return f"must be a number, not {raw!r}"
    low, high = validator.get("min"), validator.get("max")
    if low is not None and number < Decimal(str(low)):
        return f"must be at least {low}, not {raw!r}"
    if high is not None and number > Decimal(str(high)):
        return f"must be at most {high}, not {raw!r}"
    return None


def _check_enum(validator: Mapping[str, Any], value: str, raw: str) -> str | None:
    allowed = [str(item) for item in validator["values"]]
    if validator.get("caseInsensitive"):
        ok = value.upper() in {item.upper() for item in allowed}
    else:
        ok = value in allowed
    return None if ok else f"must be one of {', '.join(allowed)}, not {raw!r}"


def _check_list(validator: Mapping[str, Any] | None, items: list[str], raw: str) -> str | None:
    if validator is None or validator["kind"] == "non-null":
        return None
    if validator["kind"] == "list-size":
        if len(items) > int(validator["maxSize"]):
            return f"must have at most {validator['maxSize']} items"
        return None
    if validator["kind"] == "composite":
        for part in validator["validators"]:
            problem = _check_list(part, items, raw)
            if problem:
                return problem
        return None
    if validator["kind"] != "list":
        return _check_validator(validator, ",".join(items), raw)
    if not items and not validator.get("allowEmpty", True):
        return "must not be empty"
    if "" in items:
        return f"must not have an empty item, not {raw!r}"
    if len(set(items)) != len(items):
        return f"must not have an item twice, not {raw!r}"
    allowed = [str(item) for item in validator.get("values") or []]
    if allowed:
        wrong = [item for item in items if item not in allowed]
        if wrong:
            return f"items must be among {', '.join(allowed)}, not {', '.join(map(repr, wrong))}"
    return None
