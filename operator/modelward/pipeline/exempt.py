"""Which ModelPolicyException, if any, exempts a reference from a policy. Pure: the caller
passes the time."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from modelward.policies import globs
from modelward.structs import context, evidence, exceptions, policy


def _covers(ex: exceptions.PolicyException, ctx: context.AdmissionContext, uri: str) -> bool:
    w = ex.workloads
    if w.kinds and ctx.kind not in w.kinds and ctx.qualified_kind not in w.kinds:
        return False
    if w.names and ctx.name not in w.names:
        return False
    if any(ctx.labels.get(k) != v for k, v in w.match_labels):
        return False
    return any(globs.matches(g, uri) for g in ex.globs)


def find(
    items: Iterable[exceptions.PolicyException],
    ctx: context.AdmissionContext,
    uri: str,
    pol: policy.Policy,
    *,
    now: datetime.datetime,
) -> exceptions.PolicyException | None:
    """The first active exception in the object's own namespace naming `pol` and covering the
    reference and the workload; None when there is none."""
    if ctx.namespace is None:
        return None
    for ex in items:
        if (
            ex.namespace == ctx.namespace
            and pol.key.name in ex.policies
            and ex.active(now)
            and _covers(ex, ctx, uri)
        ):
            return ex
    return None


def result(pol: policy.Policy, ex: exceptions.PolicyException) -> evidence.PolicyResult:
    """The passing result an exception gives a policy, naming the exception and its owner."""
    return evidence.PolicyResult(
        policy=pol.key,
        mode=pol.mode,
        passed=True,
        reason="Exempted",
        message=(
            f"policy {pol.name} is waived by ModelPolicyException {ex.display} "
            f"(owner {ex.owner}, until {ex.expires.isoformat()}): {ex.reason}"
        ),
        exception=(ex.display, ex.owner),
        on_error=pol.on_error,
    )
