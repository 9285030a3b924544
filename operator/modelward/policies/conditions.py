"""A Ready condition for modelward's other kinds (TrustRoot, ModelPolicyException)."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any


@dataclasses.dataclass(frozen=True, slots=True)
class Ready:
    """What the operator observed about one object."""

    status: bool
    reason: str
    message: str
    generation: int


def status_patch(
    ready: Ready, current: Mapping[str, Any] | None, *, now: datetime.datetime
) -> dict[str, Any] | None:
    """The status to write, or None when the Ready condition is unchanged (no write loop)."""
    condition = {
        "type": "Ready",
        "status": "True" if ready.status else "False",
        "reason": ready.reason,
        "message": ready.message,
        "observedGeneration": ready.generation,
        "lastTransitionTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    conditions = (current or {}).get("conditions") or []
    old = next((c for c in conditions if isinstance(c, Mapping) and c.get("type") == "Ready"), None)
    if old is not None:
        keys = ("status", "reason", "message", "observedGeneration")
        if all(old.get(k) == condition[k] for k in keys):
            return None
        if old.get("status") == condition["status"] and old.get("lastTransitionTime"):
            condition["lastTransitionTime"] = old["lastTransitionTime"]
    return {"observedGeneration": ready.generation, "conditions": [condition]}
