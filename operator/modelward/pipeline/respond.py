"""Render a Decision for people (text) and for machines (JSON)."""

from __future__ import annotations

from typing import Any

from modelward.structs import context, evidence


def to_json(ctx: context.AdmissionContext, decision: evidence.Decision) -> dict[str, Any]:
    """One object's decision, with every reference, digest and policy verdict."""
    return {
        "kind": ctx.qualified_kind,
        "namespace": ctx.namespace,
        "name": ctx.name,
        "allowed": decision.allowed,
        "reason": decision.reason or None,
        "message": decision.message or None,
        "warnings": list(decision.warnings),
        "tolerated": list(decision.tolerated),
        "references": [_ref(r) for r in decision.refs],
    }


def _ref(ref: evidence.RefResult) -> dict[str, Any]:
    return {
        "uri": ref.ref.uri,
        "fieldPath": ref.ref.field_path,
        "scheme": ref.ref.scheme,
        "digest": ref.digest,
        "pinnedUri": ref.pinned_uri,
        "cached": ref.cached,
        "mutable": ref.mutable,
        "fastPath": ref.fast_path,
        "unmatched": ref.unmatched,
        "error": {"reason": ref.error[0], "message": ref.error[1]} if ref.error else None,
        "policies": [
            {
                "policy": r.policy.display,
                "kind": r.policy.kind,
                "mode": str(r.mode),
                "passed": r.passed,
                "reason": r.reason,
                "message": r.message,
                "authorities": list(r.authorities),
                "signers": list(r.signers),
                "attestations": list(r.attestations),
                "exception": {"name": r.exception[0], "owner": r.exception[1]}
                if r.exception
                else None,
            }
            for r in ref.results
        ],
    }


def to_text(ctx: context.AdmissionContext, decision: evidence.Decision) -> str:
    """A few lines: the verdict, then one line per reference."""
    head = "ALLOW" if decision.allowed else "DENY "
    lines = [f"{head} {ctx.display}"]
    for ref in decision.refs:
        if ref.error:
            state = f"error {ref.error[0]}: {ref.error[1]}"
        elif ref.unmatched:
            state = "no policy"
        else:
            state = ", ".join(
                f"{r.policy.display}: {'ok' if r.passed else r.reason}"
                + (f" by {'+'.join(r.authorities)}" if r.passed and r.authorities else "")
                for r in ref.results
            )
        digest = f" {ref.digest[:19]}…" if ref.digest else ""
        lines.append(f"      {ref.ref.uri}{digest} [{state}]")
    if not decision.allowed:
        lines.append(f"      message: {decision.message}")
    lines += [f"      warning: {w}" for w in decision.warnings]
    return "\n".join(lines)
