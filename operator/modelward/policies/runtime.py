"""Parse `spec.runtimeCheck`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelward import errors


def runtime_check(spec: Mapping[str, Any]) -> bool:
    """`spec.runtimeCheck` (default false); anything but a boolean is a PolicyError."""
    raw = spec.get("runtimeCheck", False)
    if not isinstance(raw, bool):
        raise errors.PolicyError(
            f"runtimeCheck must be true or false, not {raw!r}", reason="InvalidSpec"
        )
    return raw
