"""ModelPolicyException objects: parsed with their expiry, or invalid with a reason."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from modelward.policies import exceptions
from modelward.structs import exceptions as structs

NOW = datetime.datetime(2026, 5, 1, tzinfo=datetime.UTC)


def obj(**over: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "policies": ["require-signed"],
        "models": ["oci://r/experiments/**"],
        "workloads": {
            "kinds": ["Deployment"],
            "names": ["bert"],
            "selector": {"matchLabels": {"a": "b"}},
        },
        "owner": "ml-platform",
        "reason": "vendor model, signature pending",
        "expires": "2026-06-30T00:00:00Z",
    }
    spec.update(over)
    return {
        "apiVersion": "modelward.io/v1alpha1",
        "kind": "ModelPolicyException",
        "metadata": {"name": "vendor", "namespace": "ml", "generation": 4},
        "spec": spec,
    }


def test_the_documented_shape_parses() -> None:
    ex = exceptions.parse_exception(obj())
    assert ex == structs.PolicyException(
        namespace="ml",
        name="vendor",
        generation=4,
        policies=("require-signed",),
        globs=("oci://r/experiments/**",),
        workloads=structs.Workloads(
            kinds=("Deployment",), names=("bert",), match_labels=(("a", "b"),)
        ),
        owner="ml-platform",
        reason="vendor model, signature pending",
        expires=datetime.datetime(2026, 6, 30, tzinfo=datetime.UTC),
    )
    assert ex.active(NOW)
    assert not ex.active(datetime.datetime(2026, 6, 30, tzinfo=datetime.UTC))


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"policies": []}, "policies must list"),
        ({"models": ["[bad"], "policies": "x"}, "policies must list"),
        ({"models": [""]}, "models must list"),
        ({"owner": " "}, "owner is required"),
        ({"reason": None}, "reason is required"),
        ({"expires": "next week"}, "is not an RFC 3339 time"),
        ({"expires": "2026-06-30T00:00:00"}, "needs a time zone"),
        ({"expires": None}, "expires is required"),
        ({"workloads": {"selector": {"matchLabels": ["a"]}}}, "matchLabels must be a map"),
        ({"workloads": {"names": [1]}}, "workloads.names must list"),
    ],
)
def test_invalid_exceptions_exempt_nothing(over: dict[str, Any], message: str) -> None:
    ex = exceptions.parse_exception(obj(**over))
    assert not ex.valid
    assert ex.error_reason == "InvalidSpec"
    assert message in ex.error_message
    assert not ex.active(NOW)
    assert exceptions.ready(ex, now=NOW).reason == "InvalidSpec"


def test_status_says_active_then_expired() -> None:
    ex = exceptions.parse_exception(obj())
    active = exceptions.ready(ex, now=NOW)
    assert (active.status, active.reason) == (True, "Active")
    assert "owner ml-platform" in active.message
    later = exceptions.ready(ex, now=datetime.datetime(2026, 7, 1, tzinfo=datetime.UTC))
    assert (later.status, later.reason) == (False, "Expired")
    assert later.generation == 4
