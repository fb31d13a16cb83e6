"""Hypothesis strategies for Kafka settings, drawn from Kafka's own definitions (kafka_configs/).

`setting_values(setting)` draws values of every shape a person might write for a setting: valid
ones (within its range, one of its allowed values), and text, numbers and booleans that may not
be. The model decides which it accepts; the Kafka tier then has Kafka judge what it accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from kopfka.model import kafka_config
from kopfka.model.kafka_values import Setting
from kopfka.model.topic import OWNED_TOPIC_KEYS

_BOUNDS = {"SHORT": 2**15 - 1, "INT": 2**31 - 1, "LONG": 2**63 - 1}


def _bounded(validator: Mapping[str, Any] | None, kind: str) -> st.SearchStrategy[int]:
    high = _BOUNDS[kind]
    low = -high - 1
    if validator and validator["kind"] == "range":
        if validator.get("min") is not None:
            low = max(low, int(Decimal(str(validator["min"]))))
        if validator.get("max") is not None:
            high = min(high, int(Decimal(str(validator["max"]))))
    edges = st.sampled_from(sorted({low, high, min(max(low, 0), high), min(max(low, 1), high)}))
    return edges | st.integers(low, high)


def valid_values(setting: Setting) -> st.SearchStrategy[Any]:
    """Values Kafka accepts for `setting` if it has no rules beyond its type and validator."""
    validator = setting.validator or {}
    kind = setting.type
    if setting.name in kafka_config.PLUGIN_VALUES:
        built_in = sorted(
            item
            for item in {*kafka_config.PLUGIN_VALUES[setting.name], setting.default or ""}
            if item
        )
        if not built_in:
            return st.just("")
        if kind != "LIST":
            return st.sampled_from(built_in)
        minimum = 0 if validator.get("allowEmpty", True) else 1
        return st.lists(st.sampled_from(built_in), min_size=minimum, unique=True).map(",".join)
    if kind == "BOOLEAN":
        return st.booleans() | st.sampled_from(["true", "FALSE", " True "])
    if validator.get("kind") == "integers":
        return st.sampled_from([int(item) for item in validator["values"]])
    if kind in _BOUNDS:
        return _bounded(setting.validator, kind)
    if kind == "DOUBLE":
        low = validator.get("min") if validator.get("kind") == "range" else None
        high = validator.get("max") if validator.get("kind") == "range" else None
        return st.floats(
            min_value=None if low is None else float(low),
            max_value=None if high is None else float(high),
            allow_nan=False,
            allow_infinity=False,
        ).map(lambda number: format(number, ".6g"))
    if kind == "LIST":
        allowed = validator.get("values") if validator.get("kind") == "list" else None
        if allowed:
            minimum = 0 if validator.get("allowEmpty", True) else 1
            return st.lists(
                st.sampled_from([str(item) for item in allowed]), min_size=minimum, unique=True
            ).map(",".join)
        return st.lists(st.from_regex(r"[a-z0-9.:-]{1,12}", fullmatch=True), max_size=3).map(
            ",".join
        )
    if validator.get("kind") == "enum":
        return st.sampled_from([str(item) for item in validator["values"]])
    if validator.get("kind") == "non-empty-string":
        return st.text(min_size=1).filter(lambda text: text.strip() != "")
    return st.text()


def any_values(setting: Setting) -> st.SearchStrategy[Any]:
    """Valid values and anything else a spec could hold."""
    return valid_values(setting) | st.one_of(
        st.text(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
    )


def checkable_keys(version: str, scope: str = "server") -> list[str]:
    """Keys a user may set and kopfka can check: not owned, no class or password values."""
    settings = (
        kafka_config.server_settings(version)
        if scope == "server"
        else kafka_config.topic_settings(version)
    )
    return sorted(
        key
        for key, setting in settings.items()
        if not (scope == "server" and kafka_config.is_owned(key))
        and not (scope == "topic" and key in OWNED_TOPIC_KEYS)
        and setting.type not in kafka_config.UNSUPPORTED_TYPES
        and (setting.validator or {}).get("kind") != "other"
        and not _plugin_without_values(version, setting)
    )


def _plugin_without_values(version: str, setting: Setting) -> bool:
    """A plugin setting with nothing built in and no valid empty value: only unset is valid."""
    return (
        setting.name in kafka_config.PLUGIN_VALUES
        and not kafka_config.PLUGIN_VALUES[setting.name]
        and not setting.default
        and kafka_config.check_setting(
            kafka_config.server_settings(version), version, setting.name, ""
        )
        is not None
    )


@st.composite
def configs(
    draw: st.DrawFn,
    version: str,
    *,
    scope: str = "server",
    valid: bool = True,
    max_size: int = 3,
) -> dict[str, Any]:
    """A settings map of up to `max_size` keys; `valid=False` also draws values of any shape."""
    settings = (
        kafka_config.server_settings(version)
        if scope == "server"
        else kafka_config.topic_settings(version)
    )
    keys = draw(st.lists(st.sampled_from(checkable_keys(version, scope)), max_size=max_size))
    strategy = valid_values if valid else any_values
    return {key: draw(strategy(settings[key])) for key in keys}
