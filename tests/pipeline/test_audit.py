"""The audit's view of a decision: every failing verdict is a violation, whatever the mode;
waived and passing ones are not."""

from __future__ import annotations

import datetime

from modelward.pipeline import audit
from modelward.structs import evidence, policy, refs

KEY = policy.PolicyKey("ClusterModelPolicy", None, "require-signed", "u", 1)
POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "server", "namespace": "ml", "uid": "pod-uid"},
    "spec": {"containers": [{"name": "c", "image": "reg/m:v1"}]},
}


def result(
    passed: bool, mode: policy.Mode = policy.Mode.ENFORCE, **kw: object
) -> evidence.PolicyResult:
    return evidence.PolicyResult(
        policy=KEY,
        mode=mode,
        passed=passed,
        reason="Verified" if passed else "UntrustedSigner",
        message="ok" if passed else "signed by an unknown key",
        **kw,  # type: ignore[arg-type]
    )


def decision(*results: evidence.RefResult) -> evidence.Decision:
    return evidence.Decision(allowed=True, message="", warnings=(), refs=results)


def test_failures_are_violations_in_every_mode() -> None:
    ctx = audit.context_of(POD, {"team": "ml"})
    assert ctx is not None
    assert ctx.dry_run
    assert ctx.username == audit.USERNAME
    ref = refs.ModelRef("oci://reg/m:v1", "spec.containers[0].image")
    found = audit.violations(
        ctx,
        decision(
            evidence.RefResult(ref=ref, results=(result(False, policy.Mode.AUDIT),)),
            evidence.RefResult(ref=ref, results=(result(True),)),
            evidence.RefResult(ref=ref, results=(result(False, exception=("ml/x", "team")),)),
            evidence.RefResult(ref=ref, error=("SourceUnavailable", "registry down")),
        ),
    )
    assert [(v.policy, v.reason) for v in found] == [
        (KEY, "UntrustedSigner"),
        (None, "SourceUnavailable"),
    ]
    first = found[0]
    assert (first.kind, first.namespace, first.name, first.uid) == (
        "Pod",
        "ml",
        "server",
        "pod-uid",
    )
    assert first.json()["field"] == "spec.containers[0].image"


def test_a_malformed_object_is_skipped() -> None:
    assert audit.context_of({"kind": "Pod", "metadata": {}}, {}) is None


def test_policy_status_lists_a_bounded_number() -> None:
    ctx = audit.context_of(POD, {})
    assert ctx is not None
    ref = refs.ModelRef("oci://reg/m:v1", "f")
    many = audit.violations(
        ctx, decision(*(evidence.RefResult(ref=ref, results=(result(False),)) for _ in range(30)))
    )
    now = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
    status = audit.policy_status(30, many, now=now)
    assert status["totalViolations"] == 30
    assert len(status["violations"]) == audit.MAX_LISTED
    assert status["lastAuditTime"] == "2026-12-01T00:00:00Z"
