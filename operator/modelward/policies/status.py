"""Status conditions for policy objects, in the shape `kubectl describe` users expect."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from modelward.structs import policy


def ready_condition(pol: policy.Policy, *, now: datetime.datetime) -> dict[str, Any]:
    if pol.ready:
        status, reason = "True", "Loaded"
        message = (
            f"{len(pol.authorities)} authorities, {len(pol.globs)} model globs, mode {pol.mode}"
        )
    else:
        status, reason, message = "False", pol.error_reason, pol.error_message
    return {
        "type": "Ready",
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": pol.key.generation,
        "lastTransitionTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def status_patch(
    pol: policy.Policy, current: Mapping[str, Any] | None, *, now: datetime.datetime
) -> dict[str, Any] | None:
    """The status to write, or None when nothing changed (no write, no watch event, no loop)."""
    condition = ready_condition(pol, now=now)
    old = next(
        (
            c
            for c in (current or {}).get("conditions") or []
            if isinstance(c, Mapping) and c.get("type") == "Ready"
        ),
        None,
    )
    if old is not None:
        same = all(
            old.get(k) == condition[k]
            for k in ("status", "reason", "message", "observedGeneration")
        )
        if same and (current or {}).get("observedGeneration") == pol.key.generation:
            return None
        if old.get("status") == condition["status"] and old.get("lastTransitionTime"):
            condition["lastTransitionTime"] = old["lastTransitionTime"]
    return {
        "observedGeneration": pol.key.generation,
        "authorities": len(pol.authorities),
        "conditions": [condition],
    }
