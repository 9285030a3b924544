"""The decision is a pure function of evidence and settings: every branch, exact messages."""

from __future__ import annotations

import pytest

from modelward import settings
from modelward.pipeline import decide, decode
from modelward.structs import evidence, policy, refs

CTX = decode.from_object(
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bert", "namespace": "ml"}}
)
REF = refs.ModelRef("oci://r/models/bert:v1", "spec.template.spec.volumes[0].image.reference")
KEY = policy.PolicyKey("ClusterModelPolicy", None, "require-signed", "u", 1)
PINNED = "oci://r/models/bert@sha256:" + "a" * 64


def result(mode: policy.Mode, passed: bool) -> evidence.RefResult:
    return evidence.RefResult(
        ref=REF,
        digest="sha256:" + "a" * 64,
        pinned_uri=PINNED,
        results=(
            evidence.PolicyResult(
                policy=KEY,
                mode=mode,
                passed=passed,
                reason="Verified" if passed else "DigestMismatch",
                message="signature verified"
                if passed
                else "file 'model.safetensors' digest differs from the signed manifest",
                authorities=("ml-release",),
            ),
        ),
    )


def test_enforce_failure_denies_with_the_full_story() -> None:
    d = decide.decide(
        CTX, [result(policy.Mode.ENFORCE, False)], no_match=settings.NoMatchAction.DENY
    )
    assert not d.allowed
    assert d.reason == "DigestMismatch"
    assert d.message == (
        "Deployment ml/bert was denied by modelward: model "
        f"{PINNED} (spec.template.spec.volumes[0].image.reference): "
        "file 'model.safetensors' digest differs from the signed manifest "
        "(policy require-signed, authority ml-release). "
        "The model changed after it was signed: deploy the signed version or re-sign it"
    )


def test_warn_mode_admits_with_a_warning() -> None:
    d = decide.decide(CTX, [result(policy.Mode.WARN, False)], no_match=settings.NoMatchAction.DENY)
    assert d.allowed
    assert len(d.warnings) == 1
    assert "digest differs" in d.warnings[0]


def test_audit_mode_admits_silently() -> None:
    d = decide.decide(CTX, [result(policy.Mode.AUDIT, False)], no_match=settings.NoMatchAction.DENY)
    assert d.allowed
    assert d.warnings == ()


def test_pass_admits() -> None:
    d = decide.decide(
        CTX, [result(policy.Mode.ENFORCE, True)], no_match=settings.NoMatchAction.DENY
    )
    assert d.allowed
    assert d.message == ""


@pytest.mark.parametrize(
    ("action", "allowed", "warnings"),
    [
        (settings.NoMatchAction.DENY, False, 0),
        (settings.NoMatchAction.WARN, True, 1),
        (settings.NoMatchAction.ALLOW, True, 0),
    ],
)
def test_unmatched_reference_follows_the_default(
    action: settings.NoMatchAction, allowed: bool, warnings: int
) -> None:
    d = decide.decide(CTX, [evidence.RefResult(ref=REF, unmatched=True)], no_match=action)
    assert d.allowed is allowed
    assert len(d.warnings) == warnings
    if not allowed:
        assert d.reason == "NoPolicy"
        assert "no ModelPolicy or ClusterModelPolicy governs this reference" in d.message


def test_an_error_always_denies_even_when_the_default_allows() -> None:
    d = decide.decide(
        CTX,
        [
            evidence.RefResult(
                ref=REF, error=("RegistryUnavailable", "registry r cannot be reached")
            )
        ],
        no_match=settings.NoMatchAction.ALLOW,
    )
    assert not d.allowed
    assert d.reason == "RegistryUnavailable"
    assert "registry r cannot be reached" in d.message


def test_no_reference_admits() -> None:
    d = decide.decide(CTX, [], no_match=settings.NoMatchAction.DENY)
    assert d.allowed


def outage(on_error: policy.OnError, reason: str = "RegistryUnavailable") -> evidence.RefResult:
    return evidence.RefResult(
        ref=REF, error=(reason, "registry r cannot be reached"), on_error=on_error
    )


@pytest.mark.parametrize(
    ("on_error", "allowed", "warnings"),
    [
        (policy.OnError.DENY, False, 0),
        (policy.OnError.WARN, True, 1),
        (policy.OnError.ALLOW, True, 0),
    ],
)
@pytest.mark.parametrize("reason", ["RegistryUnavailable", "SourceUnavailable", "DeadlineExceeded"])
def test_outages_follow_on_error(
    on_error: policy.OnError, allowed: bool, warnings: int, reason: str
) -> None:
    d = decide.decide(CTX, [outage(on_error, reason)], no_match=settings.NoMatchAction.DENY)
    assert d.allowed is allowed
    assert len(d.warnings) == warnings
    if allowed:
        (tolerated,) = d.tolerated
        assert f"[{reason}; admitted by onError={on_error}]" in tolerated
        assert "registry r cannot be reached" in tolerated
    else:
        assert d.reason == reason
        assert d.tolerated == ()
    if warnings:
        assert "admitted unverified because onError is warn" in d.warnings[0]


@pytest.mark.parametrize(
    "reason", ["ManifestNotFound", "Unauthorized", "ArtifactTooLarge", "MalformedManifest"]
)
def test_errors_that_are_not_outages_deny_whatever_on_error_says(reason: str) -> None:
    d = decide.decide(
        CTX, [outage(policy.OnError.ALLOW, reason)], no_match=settings.NoMatchAction.DENY
    )
    assert not d.allowed
    assert d.reason == reason


def unavailable_root(mode: policy.Mode, on_error: policy.OnError) -> evidence.RefResult:
    return evidence.RefResult(
        ref=REF,
        digest="sha256:" + "a" * 64,
        pinned_uri=PINNED,
        results=(
            evidence.PolicyResult(
                policy=KEY,
                mode=mode,
                passed=False,
                reason="TrustRootUnavailable",
                message="the policy is not ready: TrustRoot 'private' is not ready",
                on_error=on_error,
            ),
        ),
    )


@pytest.mark.parametrize(
    ("mode", "on_error", "allowed"),
    [
        (policy.Mode.ENFORCE, policy.OnError.ALLOW, True),
        (policy.Mode.AUDIT, policy.OnError.DENY, False),
        (policy.Mode.WARN, policy.OnError.DENY, False),
        (policy.Mode.ENFORCE, policy.OnError.DENY, False),
    ],
)
def test_unavailable_trust_root_follows_on_error_not_mode(
    mode: policy.Mode, on_error: policy.OnError, allowed: bool
) -> None:
    d = decide.decide(CTX, [unavailable_root(mode, on_error)], no_match=settings.NoMatchAction.DENY)
    assert d.allowed is allowed
    if not allowed:
        assert d.reason == "TrustRootUnavailable"


def test_verification_failures_follow_mode_not_on_error() -> None:
    failed = result(policy.Mode.ENFORCE, False)
    tolerant = evidence.RefResult(
        ref=failed.ref,
        digest=failed.digest,
        pinned_uri=failed.pinned_uri,
        results=tuple(
            evidence.PolicyResult(
                policy=r.policy,
                mode=r.mode,
                passed=r.passed,
                reason=r.reason,
                message=r.message,
                on_error=policy.OnError.ALLOW,
            )
            for r in failed.results
        ),
    )
    d = decide.decide(CTX, [tolerant], no_match=settings.NoMatchAction.DENY)
    assert not d.allowed
    assert d.reason == "DigestMismatch"
