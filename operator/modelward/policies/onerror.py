"""Parse `spec.onError`: what a policy does when its models cannot be checked at all."""

from __future__ import annotations

from typing import Any

from modelward import errors
from modelward.structs import policy


def parse(raw: Any) -> policy.OnError:
    """`deny` (the default), `warn` or `allow`."""
    if raw is None:
        return policy.OnError.DENY
    try:
        return policy.OnError(raw)
    except ValueError:
        raise errors.PolicyError(
            f"onError {raw!r} is not deny|warn|allow", reason="InvalidSpec"
        ) from None


def strictest(values: list[policy.OnError]) -> policy.OnError:
    """The strictest of several policies' onError; deny when there are none."""
    order = list(policy.OnError)
    return min(values, key=order.index) if values else policy.OnError.DENY
