"""What a ModelVerification record needs: which policies to verify it against again, and which
entries to drop. Plain planning; the adapter does the verifying and writing."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence

from modelward.policies import globs, parse
from modelward.record import verification_index
from modelward.structs import policy

PolicyId = tuple[str, str | None, str]


@dataclasses.dataclass(frozen=True, slots=True)
class Work:
    """Verify `uri` against `policies`; drop the entries of `drop` (policies gone or replaced)."""

    record: verification_index.Record
    uri: str | None
    policies: tuple[policy.Policy, ...]
    drop: tuple[PolicyId, ...]
    why: str


def _id(pol: policy.Policy) -> PolicyId:
    return (pol.key.kind, pol.key.namespace, pol.key.name)


def chosen(
    record: verification_index.Record, policies: Sequence[policy.Policy], uri: str
) -> list[policy.Policy]:
    """The ClusterModelPolicies a pre-verification answers to: those it names, else those whose
    models match the reference. Namespaced policies are verified at admission, with the
    namespace's own credentials."""
    cluster = [p for p in policies if p.key.kind == parse.CLUSTER_KIND and p.static is None]
    if record.spec_policies:
        return [p for p in cluster if p.key.name in record.spec_policies]
    return [p for p in cluster if any(globs.matches(g, uri) for g in p.globs)]


def plan(
    record: verification_index.Record,
    policies: Sequence[policy.Policy],
    *,
    now: datetime.datetime,
    refresh_before: datetime.timedelta,
) -> Work | None:
    """The work a record needs now, or None."""
    uri = record.spec_ref or record.pinned_ref
    current = {_id(p): p for p in policies}
    if record.spec_changed and record.spec_ref is not None:
        wanted = chosen(record, policies, record.spec_ref)
        keep = {_id(p) for p in wanted}
        drop = tuple(e.policy_id for e in record.entries if e.policy_id not in keep)
        return Work(record, record.spec_ref, tuple(wanted), drop, "new or changed spec")
    drop_ids: list[PolicyId] = []
    again: list[policy.Policy] = []
    reasons: set[str] = set()
    for entry in record.entries:
        pol = current.get(entry.policy_id)
        if pol is None or pol.key.uid != entry.uid:
            drop_ids.append(entry.policy_id)
            reasons.add("policy deleted")
        elif entry.revision != pol.revision:
            again.append(pol)
            reasons.add("policy changed")
        elif entry.expires_at - now < refresh_before:
            again.append(pol)
            reasons.add("expiring")
    if not again and not drop_ids:
        return None
    if uri is None:
        # Nothing to fetch again: stale entries go, and the next admission verifies afresh.
        drop_ids.extend(_id(p) for p in again)
        again = []
    return Work(record, uri, tuple(again), tuple(drop_ids), ", ".join(sorted(reasons)))
