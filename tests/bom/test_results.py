"""Models from pipeline results: verdicts, signers, scans and files per reference."""

from __future__ import annotations

import pytest

from modelward.bom import inventory, results
from modelward.structs import evidence, policy, refs

DIGEST = "sha256:" + "a" * 64
KEY = policy.PolicyKey("ClusterModelPolicy", None, "signed", "u", 1)
SCANNING = policy.PolicyKey("ModelPolicy", "ml", "scanned", "u2", 1)
REF = refs.ModelRef("oci://r/m:v1", "spec.x")


def passed(key: policy.PolicyKey, **kw: object) -> evidence.PolicyResult:
    return evidence.PolicyResult(key, policy.Mode.ENFORCE, True, "Verified", "ok", **kw)  # type: ignore[arg-type]


def failed(key: policy.PolicyKey, reason: str) -> evidence.PolicyResult:
    return evidence.PolicyResult(key, policy.Mode.ENFORCE, False, reason, f"{reason} happened")


@pytest.mark.parametrize(
    ("result", "verdict", "reason", "scan"),
    [
        (evidence.RefResult(REF, error=("ResolveFailed", "gone")), "Error", "ResolveFailed", None),
        (evidence.RefResult(REF, digest=DIGEST, unmatched=True), "Unverified", "NoPolicy", None),
        (
            evidence.RefResult(REF, digest=DIGEST, results=(passed(KEY), passed(SCANNING))),
            "Verified",
            "Verified",
            inventory.Scan(True, True, "NoFinding"),
        ),
        (
            evidence.RefResult(REF, digest=DIGEST, results=(passed(KEY),)),
            "Verified",
            "Verified",
            None,
        ),
        (
            evidence.RefResult(
                REF, digest=DIGEST, results=(passed(KEY), failed(SCANNING, "ScanFinding"))
            ),
            "Failed",
            "ScanFinding",
            inventory.Scan(True, False, "ScanFinding"),
        ),
        (
            evidence.RefResult(REF, digest=DIGEST, results=(failed(KEY, "SignatureMissing"),)),
            "Failed",
            "SignatureMissing",
            None,
        ),
    ],
)
def test_facts(
    result: evidence.RefResult, verdict: str, reason: str, scan: inventory.Scan | None
) -> None:
    found = results.facts(result, {KEY: False, SCANNING: True})
    assert (found.verdict.value, found.reason, found.scan) == (verdict, reason, scan)


def test_signers_attestations_and_files_come_from_passing_policies_only() -> None:
    ok = passed(KEY, signers=("ml",), attestations=("https://p/v1",), files=(("f", "1" * 64),))
    result = evidence.RefResult(
        REF, digest=DIGEST, results=(ok, failed(SCANNING, "SignerMismatch"))
    )
    found = results.facts(result, {})
    assert (found.signers, found.attestations, found.files) == (
        ("ml",),
        ("https://p/v1",),
        (("f", "1" * 64),),
    )
    assert [p.policy for p in found.policies] == [
        "ClusterModelPolicy/signed",
        "ModelPolicy/ml/scanned",
    ]
