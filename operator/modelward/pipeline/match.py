"""Which policies govern a reference in an object: kinds, namespaces, labels and URI globs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from modelward.policies import globs
from modelward.structs import context, policy


def selector_matches(selector: policy.LabelSelector, labels: Mapping[str, str]) -> bool:
    """Kubernetes LabelSelector semantics."""
    for key, value in selector.match_labels:
        if labels.get(key) != value:
            return False
    for req in selector.match_expressions:
        present = req.key in labels
        if req.operator is policy.Operator.IN and labels.get(req.key) not in req.values:
            return False
        if req.operator is policy.Operator.NOT_IN and present and labels[req.key] in req.values:
            return False
        if req.operator is policy.Operator.EXISTS and not present:
            return False
        if req.operator is policy.Operator.DOES_NOT_EXIST and present:
            return False
    return True


def applies_to(pol: policy.Policy, ctx: context.AdmissionContext, *, home_namespace: str) -> bool:
    """Whether a policy selects this object, whatever its references."""
    if pol.key.namespace is not None and pol.key.namespace != ctx.namespace:
        return False
    m = pol.match
    if m.kinds and ctx.kind not in m.kinds and ctx.qualified_kind not in m.kinds:
        return False
    if m.object_selector is not None and not selector_matches(m.object_selector, ctx.labels):
        return False
    if m.namespace_selector is None:
        return ctx.namespace != home_namespace
    if ctx.namespace is None:
        # Cluster-scoped objects have no namespace labels; only an empty selector takes them.
        return not (m.namespace_selector.match_labels or m.namespace_selector.match_expressions)
    return selector_matches(m.namespace_selector, ctx.namespace_labels)


def governing(
    policies: Iterable[policy.Policy],
    ctx: context.AdmissionContext,
    uri: str,
    *,
    home_namespace: str,
) -> list[policy.Policy]:
    """The policies that select the object and whose globs match the reference."""
    return [
        p
        for p in policies
        if applies_to(p, ctx, home_namespace=home_namespace)
        and any(globs.matches(g, uri) for g in p.globs)
    ]
