"""Parse `spec.requireDigest`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelward import errors


def require_digest(spec: Mapping[str, Any]) -> bool:
    """`spec.requireDigest` (default false); anything but a boolean is a PolicyError."""
    raw = spec.get("requireDigest", False)
    if not isinstance(raw, bool):
        raise errors.PolicyError(
            f"requireDigest must be true or false, not {raw!r}", reason="InvalidSpec"
        )
    return raw
