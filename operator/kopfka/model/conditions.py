"""Standard status conditions (Ready, Reconciling, Degraded, Stalled), computed purely.

A condition keeps its lastTransitionTime while its status stays the same, so writing the same
observation twice produces the same status and no API write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import KW_ONLY, dataclass
from typing import Any

READY = "Ready"
RECONCILING = "Reconciling"
DEGRADED = "Degraded"
# kstatus' (Flux, kubectl wait tools) word for "will not progress without a change": set with
# Degraded on a reconcile failure, so Flux fails at once instead of waiting for its timeout.
STALLED = "Stalled"


@dataclass(frozen=True)
class Condition:
    type: str
    _: KW_ONLY
    status: bool
    reason: str
    message: str


def merge_conditions(
    previous: Iterable[Mapping[str, Any]],
    observed: Iterable[Condition],
    *,
    now: str,
    generation: int,
) -> list[dict[str, Any]]:
    """The new conditions list: observed ones, with transition times kept where unchanged."""
    before = {item.get("type"): item for item in previous}
    merged: list[dict[str, Any]] = []
    for condition in observed:
        status = "True" if condition.status else "False"
        old = before.get(condition.type)
        changed = old is None or old.get("status") != status
        merged.append(
            {
                "type": condition.type,
                "status": status,
                "reason": condition.reason,
                "message": condition.message,
                "lastTransitionTime": now
                if changed or old is None
                else old.get("lastTransitionTime", now),
                "observedGeneration": generation,
            }
        )
    return merged


def job_condition(job: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    """A Job's condition `kind` (Complete, Failed) when it is True, or None."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind and condition.get("status") == "True":
            return dict(condition)
    return None


def job_ended(job: Mapping[str, Any]) -> bool:
    """The Job has ended: Complete or Failed."""
    return job_condition(job, "Complete") is not None or job_condition(job, "Failed") is not None


def ready_condition(status: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The Ready condition of a status as the API server holds it, or None."""
    conditions = status.get("conditions")
    if not isinstance(conditions, list):
        return None
    return next((c for c in conditions if isinstance(c, dict) and c.get("type") == "Ready"), None)
