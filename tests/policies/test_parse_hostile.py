"""Hostile policy objects: parsing records the problem on the policy and never raises;
hostile references against any glob never raise either."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from modelward import errors
from modelward.policies import globs, parse
from tests.fixtures import hostile


def _no_secrets(namespace: str, name: str, key: str) -> bytes:
    raise errors.PolicyError(f"Secret {namespace}/{name} not found", reason="SecretNotFound")


@given(hostile.policies)
def test_any_policy_parses_to_a_policy(obj: Any) -> None:
    pol = parse.parse_policy(obj, secrets=_no_secrets, home_namespace="modelward")
    assert pol.ready == (not pol.error_reason)
    if not pol.ready:
        assert pol.error_message
    if pol.ready:
        assert pol.authorities, "a ready policy must hold at least one authority"
        assert 1 <= pol.require_count <= len(pol.authorities)


@given(st.text(min_size=1, max_size=60), hostile.reference_strings)
def test_globs_compile_or_are_refused_and_never_raise_on_match(glob: str, uri: str) -> None:
    try:
        globs.pattern(glob)
    except errors.PolicyError:
        return
    assert isinstance(globs.matches(glob, uri), bool)
