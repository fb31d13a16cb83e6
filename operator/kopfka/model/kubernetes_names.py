"""Kubernetes' own rules for label keys and values and annotation keys, checked in the model.

A CRD schema cannot constrain the keys of a map, so labels, annotations and node selectors that the
user puts in a spec would otherwise reach the API server inside a StatefulSet, which it refuses.
The rules are those of `k8s.io/apimachinery/pkg/util/validation` (qualified names, label values,
DNS-1123 subdomains as prefixes, 256 KiB of annotations).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_ANNOTATIONS_MAX_BYTES = 256 * 1024


def qualified_name_problem(key: object) -> str | None:
    """Why `key` is not a label or annotation key (`[prefix/]name`), or None."""
    if not isinstance(key, str):
        return "must be a string"
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not _SUBDOMAIN.fullmatch(prefix)):
        return "has a prefix that is not a DNS subdomain (lowercase, at most 253 characters)"
    if not name or len(name) > 63 or not _NAME.fullmatch(name):
        return (
            "must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a "
            "letter or digit (after an optional DNS prefix and '/')"
        )
    return None


def label_value_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if value == "" or (len(value) <= 63 and _NAME.fullmatch(value)):
        return None
    return (
        "must be empty or at most 63 letters, digits, '-', '_' or '.', starting and ending "
        "with a letter or digit"
    )


def label_problems(labels: Mapping[str, object], field: str) -> list[str]:
    problems = []
    for key, value in labels.items():
        key_problem = qualified_name_problem(key)
        if key_problem:
            problems.append(f"{field}: key {key!r} {key_problem}")
        value_problem = label_value_problem(value)
        if value_problem:
            problems.append(f"{field}.{key}: value {value!r} {value_problem}")
    return problems


def annotation_problems(annotations: Mapping[str, object], field: str) -> list[str]:
    problems = []
    size = 0
    for key, value in annotations.items():
        key_problem = qualified_name_problem(key)
        if key_problem:
            problems.append(f"{field}: key {key!r} {key_problem}")
        size += len(str(key).encode("utf-8", "replace")) + len(
            str(value).encode("utf-8", "replace")
        )
    if size > _ANNOTATIONS_MAX_BYTES:
        problems.append(f"{field} are {size} bytes; Kubernetes allows 256 KiB in all")
    return problems
