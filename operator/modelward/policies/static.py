"""`static: {action: pass|fail, message?}` authorities, as in sigstore policy-controller's
ClusterImagePolicy: the policy's verdict on what its globs govern, with nothing fetched."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelward import errors
from modelward.structs import evidence, policy

MAX_MESSAGE = 1024


def parse_static(raw: Any, name: str) -> policy.Authority:
    """A static authority; PolicyError names what is wrong with it."""
    if not isinstance(raw, Mapping):
        raise errors.PolicyError(
            f"authority {name!r}: static must be an object", reason="InvalidSpec"
        )
    try:
        action = policy.StaticAction(str(raw.get("action")))
    except ValueError:
        raise errors.PolicyError(
            f"authority {name!r}: static.action must be pass or fail, not {raw.get('action')!r}",
            reason="InvalidSpec",
        ) from None
    message = raw.get("message", "")
    if not isinstance(message, str) or len(message) > MAX_MESSAGE:
        raise errors.PolicyError(
            f"authority {name!r}: static.message must be text of at most {MAX_MESSAGE} characters",
            reason="InvalidSpec",
        )
    return policy.Authority(
        name=name, type=policy.AuthorityType.STATIC, pem=b"", action=action, message=message
    )


def check_alone(authorities: tuple[policy.Authority, ...]) -> None:
    """A static verdict cannot be combined with signers: which one would count is unclear."""
    if len(authorities) > 1 and any(a.type is policy.AuthorityType.STATIC for a in authorities):
        raise errors.PolicyError(
            "a static authority must be the policy's only authority; put signers in another policy",
            reason="InvalidSpec",
        )


def verdict(pol: policy.Policy, authority: policy.Authority) -> evidence.PolicyResult:
    """The static authority's result for one reference its policy governs."""
    if authority.action is policy.StaticAction.PASS:
        return evidence.PolicyResult(
            policy=pol.key,
            mode=pol.mode,
            passed=True,
            reason="StaticPass",
            message="allowed without verification by a static authority",
            authorities=(authority.name,),
        )
    return evidence.PolicyResult(
        policy=pol.key,
        mode=pol.mode,
        passed=False,
        reason="StaticFail",
        message=authority.message or "denied by a static authority",
        authorities=(authority.name,),
    )
