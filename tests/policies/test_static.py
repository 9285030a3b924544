"""`static: {action: pass|fail}` authorities parse, stand alone, and give their verdict."""

from __future__ import annotations

from typing import Any

import pytest

from modelward.policies import parse, static
from modelward.structs import policy
from tests.policies.test_parse import EC_PEM, no_secrets, obj, spec


def parsed(authorities: list[dict[str, Any]]) -> policy.Policy:
    return parse.parse_policy(
        obj(spec(authorities=authorities)), secrets=no_secrets, home_namespace="modelward"
    )


@pytest.mark.parametrize(
    ("raw", "passed", "reason", "message"),
    [
        (
            {"action": "pass"},
            True,
            "StaticPass",
            "allowed without verification by a static authority",
        ),
        ({"action": "fail"}, False, "StaticFail", "denied by a static authority"),
        (
            {"action": "fail", "message": "PVCs are not allowed here"},
            False,
            "StaticFail",
            "PVCs are not allowed here",
        ),
    ],
)
def test_verdicts(raw: dict[str, Any], passed: bool, reason: str, message: str) -> None:
    pol = parsed([{"name": "local", "static": raw}])
    assert pol.ready, pol.error_message
    assert pol.static is not None
    result = static.verdict(pol, pol.static)
    assert (result.passed, result.reason, result.message, result.authorities) == (
        passed,
        reason,
        message,
        ("local",),
    )


@pytest.mark.parametrize(
    ("authorities", "message"),
    [
        ([{"name": "s", "static": {"action": "maybe"}}], "static.action must be pass or fail"),
        ([{"name": "s", "static": "pass"}], "static must be an object"),
        (
            [{"name": "s", "static": {"action": "fail", "message": 3}}],
            "static.message must be text",
        ),
        (
            [{"name": "s", "static": {"action": "pass"}}, {"name": "k", "key": {"data": EC_PEM}}],
            "a static authority must be the policy's only authority",
        ),
        (
            [{"name": "s", "static": {"action": "pass"}, "key": {"data": EC_PEM}}],
            "needs exactly one of key, certificate, keyless or static",
        ),
    ],
)
def test_bad_static_authorities(authorities: list[dict[str, Any]], message: str) -> None:
    pol = parsed(authorities)
    assert not pol.ready
    assert message in pol.error_message


def test_keyed_policy_has_no_static_authority() -> None:
    assert parsed([{"name": "k", "key": {"data": EC_PEM}}]).static is None


def test_revision_changes_with_the_action() -> None:
    one = parsed([{"name": "s", "static": {"action": "pass"}}])
    other = parsed([{"name": "s", "static": {"action": "fail"}}])
    assert one.revision != other.revision
