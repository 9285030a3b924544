"""Status of ModelExtractor objects: a Ready condition, written only when it changes."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from modelward import errors
from modelward.extractors import declared


def status_patch(
    outcome: declared.Declaration | errors.ExtractorError,
    generation: int,
    current: Mapping[str, Any] | None,
    *,
    now: datetime.datetime,
) -> dict[str, Any] | None:
    """The status to write for a parse outcome, or None when nothing changed."""
    if isinstance(outcome, declared.Declaration):
        target = f"{outcome.group}/{outcome.kind}" if outcome.group else outcome.kind
        status, reason = "True", "Loaded"
        message = f"{len(outcome.paths)} paths read on {target}"
    else:
        status, reason, message = "False", outcome.reason, outcome.message
    condition = {
        "type": "Ready",
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    old = next(
        (
            c
            for c in (current or {}).get("conditions") or []
            if isinstance(c, Mapping) and c.get("type") == "Ready"
        ),
        None,
    )
    if old is not None:
        keys = ("status", "reason", "message", "observedGeneration")
        if all(old.get(k) == condition[k] for k in keys):
            return None
        if old.get("status") == status and old.get("lastTransitionTime"):
            condition["lastTransitionTime"] = old["lastTransitionTime"]
    return {"observedGeneration": generation, "conditions": [condition]}
