"""Which Event a policy's readiness change or a denial makes, and on which object."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from modelward.adapters import events
from modelward.structs import policy

KEY = policy.PolicyKey(kind="ClusterModelPolicy", namespace=None, name="p", uid="u", generation=1)
READY = policy.Policy(
    key=KEY, mode=policy.Mode.ENFORCE, match=policy.Match(), globs=("**",), authorities=()
)
BROKEN = dataclasses.replace(READY, globs=(), error_reason="InvalidKey", error_message="bad key")


def status(ready: str, message: str = "") -> dict[str, Any]:
    return {"conditions": [{"type": "Ready", "status": ready, "message": message}]}


@pytest.mark.parametrize(
    ("pol", "current", "expected"),
    [
        (READY, None, ("Normal", "PolicyReady")),
        (READY, status("False", "bad key"), ("Normal", "PolicyReady")),
        (READY, status("True"), None),
        (BROKEN, None, ("Warning", "PolicyInvalid")),
        (BROKEN, status("True"), ("Warning", "PolicyInvalid")),
        (BROKEN, status("False", "another problem"), ("Warning", "PolicyInvalid")),
        (BROKEN, status("False", "bad key"), None),
    ],
)
def test_policy_transition(
    pol: policy.Policy, current: dict[str, Any] | None, expected: tuple[str, str] | None
) -> None:
    event = events.policy_transition(pol, current)
    assert (event.type, event.reason) == expected if event else expected is None


OWNER = {
    "apiVersion": "apps/v1",
    "kind": "ReplicaSet",
    "name": "rs",
    "uid": "1",
    "controller": True,
}


@pytest.mark.parametrize(
    ("obj", "operation", "expected"),
    [
        ({"kind": "Pod", "metadata": {"ownerReferences": [OWNER]}}, "CREATE", ("ReplicaSet", "rs")),
        ({"kind": "Pod", "metadata": {"ownerReferences": [{**OWNER, "controller": False}]}},
         "CREATE", None),
        ({"kind": "Pod", "metadata": {"name": "p"}}, "CREATE", None),
        ({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "uid": "2"}},
         "UPDATE", ("Deployment", "d")),
    ],
)  # fmt: skip
def test_denial_target(
    obj: dict[str, Any], operation: str, expected: tuple[str, str] | None
) -> None:
    target = events.denial_target(obj, operation=operation, namespace="ml")
    if expected is None:
        assert target is None
    else:
        assert target is not None
        assert (target["kind"], target["metadata"]["name"]) == expected
        assert target["metadata"]["namespace"] == "ml"
