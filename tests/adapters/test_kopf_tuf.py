"""The Events a TrustRoot's readiness changes post: a failure once per distinct message, and
a recovery once."""

from __future__ import annotations

from typing import Any

import pytest

from modelward.adapters import kopf_tuf
from modelward.policies.trustroots import TrustRoot

GOOD = TrustRoot("r", 1, raw=b"{}")
DOWN = TrustRoot("r", 1, raw=b"{}", error_reason="TUFMirrorUnavailable", error_message="down")


def status(state: str | None, message: str = "") -> dict[str, Any] | None:
    if state is None:
        return None
    return {"conditions": [{"type": "Ready", "status": state, "message": message}]}


@pytest.mark.parametrize(
    ("root", "before", "expected"),
    [
        (GOOD, None, None),
        (GOOD, status("True", "loaded"), None),
        (GOOD, status("False", "down"), ("Normal", "TrustRootReady")),
        (DOWN, None, ("Warning", "TUFMirrorUnavailable")),
        (DOWN, status("True", "loaded"), ("Warning", "TUFMirrorUnavailable")),
        (DOWN, status("False", "down"), None),
        (DOWN, status("False", "expired"), ("Warning", "TUFMirrorUnavailable")),
    ],
)
def test_transition(
    root: TrustRoot, before: dict[str, Any] | None, expected: tuple[str, str] | None
) -> None:
    event = kopf_tuf.transition(root, before)
    got = (event.type, event.reason) if event is not None else None
    assert got == expected
