"""The status a reconcile computes reaches the API server as a JSON merge patch: what it no
longer says must be removed there too, not kept from the last write."""

from __future__ import annotations

from typing import Any

from kopfka.k8s.status import merge_patch


def apply(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7386, as the API server applies it."""
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = apply(result[key], value)
        else:
            result[key] = value
    return result


def test_a_removed_topic_config_leaves_the_status() -> None:
    old = {"config": {"retention.ms": "3600000"}, "partitions": 3, "topicName": "orders"}
    new = {"config": {"cleanup.policy": "compact"}, "partitions": 6, "topicName": "orders"}
    patch = merge_patch(old, new)
    assert patch == {
        "config": {"retention.ms": None, "cleanup.policy": "compact"},
        "partitions": 6,
    }
    assert apply(old, patch) == new


def test_removed_fields_and_emptied_maps_are_removed_and_lists_replaced() -> None:
    old = {
        "topicId": "x",
        "config": {"a": "1"},
        "conditions": [{"type": "Ready", "status": "False"}],
    }
    new = {"config": {}, "conditions": [{"type": "Ready", "status": "True"}]}
    patch = merge_patch(old, new)
    assert apply(old, patch) == new
    assert patch["topicId"] is None


def test_an_unchanged_status_makes_an_empty_patch() -> None:
    status = {"config": {"a": "1"}, "nodes": {"n-0": {"ready": True}}, "observedGeneration": 2}
    assert merge_patch(status, status) == {}
