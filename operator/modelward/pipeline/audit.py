"""The background audit: objects already running are judged again, as an admission would judge
them now, and every failing model is a violation of the policy that failed it.

Like Gatekeeper's audit: policies change, keys are revoked, scans grow stricter, and what was
admitted yesterday may no longer pass. Nothing is denied or deleted; it is reported.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from modelward import errors
from modelward.pipeline import decode
from modelward.structs import context, evidence, policy

USERNAME = "system:serviceaccount:modelward:audit"
MAX_LISTED = 20


@dataclasses.dataclass(frozen=True, slots=True)
class Violation:
    """One failing model reference of one running object."""

    kind: str
    namespace: str | None
    name: str
    uid: str
    reference: str
    field: str
    # None when the reference could not be evaluated at all (no policy verdict to blame).
    policy: policy.PolicyKey | None
    reason: str
    message: str

    @property
    def object_display(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else self.name

    def json(self) -> dict[str, Any]:
        out = {
            "kind": self.kind,
            "name": self.name,
            "reference": self.reference,
            "field": self.field,
            "reason": self.reason,
            "message": self.message[:4096],
        }
        if self.namespace:
            out["namespace"] = self.namespace
        return out


def context_of(
    obj: Mapping[str, Any], namespace_labels: Mapping[str, str]
) -> context.AdmissionContext | None:
    """The admission context the object would have if it were applied again now; None for an
    object that is not one (the API returned something malformed)."""
    meta = obj.get("metadata")
    namespace = meta.get("namespace") if isinstance(meta, Mapping) else None
    try:
        return decode.from_object(
            obj,
            # The object's own uid: the audit's Events go to the object it names.
            uid=str(meta.get("uid", "")) if isinstance(meta, Mapping) else "",
            operation="UPDATE",
            namespace=namespace if isinstance(namespace, str) else None,
            namespace_labels=namespace_labels,
            dry_run=True,
            username=USERNAME,
        )
    except errors.InputError:
        return None


def violations(ctx: context.AdmissionContext, decision: evidence.Decision) -> list[Violation]:
    """Every failing verdict in a decision, whatever the policy's mode: the audit reports what
    does not pass, not what would be denied."""
    found: list[Violation] = []
    for ref in decision.refs:
        blamed: list[tuple[policy.PolicyKey | None, str, str]] = []
        if ref.error is not None:
            blamed.append((None, ref.error[0], ref.error[1]))
        blamed.extend(
            (r.policy, r.reason, r.message)
            for r in ref.results
            if not r.passed and r.exception is None
        )
        found.extend(
            Violation(
                kind=ctx.qualified_kind,
                namespace=ctx.namespace,
                name=ctx.name,
                uid=ctx.uid,
                reference=ref.ref.uri,
                field=ref.ref.field_path,
                policy=key,
                reason=reason,
                message=message,
            )
            for key, reason, message in blamed
        )
    return found


def governed(decision: evidence.Decision) -> set[policy.PolicyKey]:
    """The policies that judged some reference of the object."""
    return {r.policy for ref in decision.refs for r in ref.results}


def policy_status(
    checked: int, found: Sequence[Violation], *, now: datetime.datetime
) -> dict[str, Any]:
    """A policy's `status.audit`."""
    return {
        "lastAuditTime": now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "auditedObjects": checked,
        "totalViolations": len(found),
        "violations": [v.json() for v in found[:MAX_LISTED]],
    }
