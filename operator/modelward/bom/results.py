"""Models from the pipeline's results on manifests (`modelward bom -f`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from modelward.bom import inventory
from modelward.structs import context, evidence, policy

# The reasons a content check (scan or known-bad list) gives when it fails a model.
SCAN_REASONS = frozenset({"ScanFinding", "KnownBad", "ScanUnavailable"})


def workload(ctx: context.AdmissionContext) -> inventory.Workload:
    """The workload an admission context describes."""
    return inventory.Workload(ctx.qualified_kind, ctx.namespace, ctx.name)


def policy_name(key: policy.PolicyKey) -> str:
    """`ClusterModelPolicy/name`, `ModelPolicy/namespace/name`."""
    return f"{key.kind}/{key.display}"


def _scan(
    results: Sequence[evidence.PolicyResult], scanning: Mapping[policy.PolicyKey, bool]
) -> inventory.Scan | None:
    """The content verdict: failed by the first content failure; passed when a policy that
    scans passed the model; None when no policy asked for a scan (or none got that far)."""
    for result in results:
        if result.reason in SCAN_REASONS:
            return inventory.Scan(
                scanned=result.reason != "ScanUnavailable", passed=False, reason=result.reason
            )
    if any(r.passed and scanning.get(r.policy, False) for r in results):
        return inventory.Scan(scanned=True, passed=True, reason="NoFinding")
    return None


def facts(result: evidence.RefResult, scanning: Mapping[policy.PolicyKey, bool]) -> inventory.Facts:
    """What the pipeline found about one reference."""
    if result.error is not None:
        verdict, reason, message = inventory.Verdict.ERROR, *result.error
    elif result.unmatched or not result.results:
        verdict, reason = inventory.Verdict.UNVERIFIED, "NoPolicy"
        message = "no policy governs the reference"
    elif all(r.passed for r in result.results):
        verdict, reason, message = inventory.Verdict.VERIFIED, "Verified", ""
    else:
        failed = next(r for r in result.results if not r.passed)
        verdict, reason, message = inventory.Verdict.FAILED, failed.reason, failed.message
    passed = [r for r in result.results if r.passed]
    return inventory.Facts(
        digest=result.digest,
        pinned_uri=result.pinned_uri,
        verdict=verdict,
        reason=reason,
        message=message,
        signers=tuple(dict.fromkeys(s for r in passed for s in r.signers)),
        attestations=tuple(dict.fromkeys(a for r in passed for a in r.attestations)),
        scan=_scan(result.results, scanning),
        policies=tuple(
            inventory.PolicyVerdict(policy_name(r.policy), r.passed, r.reason, r.message)
            for r in result.results
        ),
        files=tuple(sorted({f for r in passed for f in r.files})),
    )


def models(
    decided: Iterable[tuple[context.AdmissionContext, evidence.Decision]],
    policies: Sequence[policy.Policy],
) -> list[inventory.Model]:
    """One Model per digest (or unresolved reference) among the decided objects."""
    scanning = {p.key: p.needs_content for p in policies}
    return inventory.group(
        (
            inventory.Use(workload(ctx), r.ref.field_path, r.ref.uri),
            facts(r, scanning),
        )
        for ctx, decision in decided
        for r in decision.refs
    )
