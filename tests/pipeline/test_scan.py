from __future__ import annotations

import pathlib

import pytest

from modelward import errors
from modelward.pipeline import scan
from modelward.scanners.base import Finding, Location, Severity
from modelward.structs import evidence, policy, scanning

DIGEST = "sha256:" + "1" * 64
FILES = {"m.pkl": "2" * 64, "other.pkl": "3" * 64}
KEY = policy.PolicyKey("ClusterModelPolicy", None, "p", "u", 1)


def _finding(
    severity: Severity, file: str = "m.pkl", rule: str = "pickle.unsafe-global"
) -> Finding:
    return Finding(rule, severity, Location(file, 4, "GLOBAL", "a.b"), "msg")


@pytest.mark.parametrize(
    ("fail_on", "severities", "denying"),
    [
        (Severity.HIGH, [Severity.MEDIUM, Severity.LOW], 0),
        (Severity.HIGH, [Severity.HIGH, Severity.CRITICAL], 2),
        (Severity.LOW, [Severity.LOW], 1),
        (Severity.CRITICAL, [Severity.HIGH], 0),
    ],
)
def test_threshold(fail_on: Severity, severities: list[Severity], denying: int) -> None:
    settings = scanning.ScanPolicy(fail_on=fail_on)
    assert len(scan.blocking(settings, [_finding(s) for s in severities], DIGEST, FILES)) == denying


@pytest.mark.parametrize(
    ("exception_digest", "file", "excepted"),
    [
        (DIGEST, "m.pkl", True),  # the model's digest
        ("sha256:" + "2" * 64, "m.pkl", True),  # the file's digest
        ("sha256:" + "2" * 64, "m.pkl!archive/data.pkl", True),  # a member of that file
        ("sha256:" + "2" * 64, "other.pkl", False),  # another file's finding
        ("sha256:" + "9" * 64, "m.pkl", False),
    ],
)
def test_exceptions(exception_digest: str, file: str, excepted: bool) -> None:
    settings = scanning.ScanPolicy(
        exceptions=(scanning.ScanException("pickle.unsafe-global", exception_digest, "ok"),)
    )
    found = scan.blocking(settings, [_finding(Severity.HIGH, file)], DIGEST, FILES)
    assert (found == []) is excepted


def test_known_bad_names_what_matched() -> None:
    pol = policy.Policy(
        key=KEY,
        mode=policy.Mode.ENFORCE,
        match=policy.Match(),
        globs=("**",),
        authorities=(),
        known_bad=(scanning.KnownBad("sha256:" + "3" * 64, "trojan"),),
    )
    assert scan.known_bad(pol, DIGEST, None) is None
    result = scan.known_bad(pol, DIGEST, FILES)
    assert result is not None
    assert result.reason == "KnownBad"
    assert "file 'other.pkl'" in result.message
    assert "trojan" in result.message


def test_judge_lists_findings_and_counts_the_rest() -> None:
    pol = policy.Policy(
        key=KEY,
        mode=policy.Mode.ENFORCE,
        match=policy.Match(),
        globs=("**",),
        authorities=(),
        scan=scanning.ScanPolicy(),
    )
    signed = evidence.PolicyResult(KEY, policy.Mode.ENFORCE, True, "Verified", "signature verified")
    findings = [_finding(Severity.HIGH, f"f{i}.pkl") for i in range(5)]
    result = scan.judge(pol, signed, findings, DIGEST, {}, "the scan")
    assert not result.passed
    assert result.reason == "ScanFinding"
    assert "f0.pkl" in result.message
    assert "(and 2 more)" in result.message


async def test_missing_file_fails_closed(tmp_path: pathlib.Path) -> None:
    with pytest.raises(errors.FetchError) as e:
        await scan.scan_model(tmp_path, ["gone.pkl"], ref="oci://r/m")
    assert e.value.reason == "ScanUnavailable"
    (tmp_path / "../escape.pkl").resolve().write_bytes(b"x")
    with pytest.raises(errors.FetchError):
        await scan.scan_model(tmp_path, ["../escape.pkl"], ref="oci://r/m")


@pytest.mark.parametrize("severity", [Severity.LOW, Severity.HIGH])
def test_judge_keeps_signed_files_and_adds_the_attestations(severity: Severity) -> None:
    pol = policy.Policy(
        key=KEY,
        mode=policy.Mode.ENFORCE,
        match=policy.Match(),
        globs=("**",),
        authorities=(),
        scan=scanning.ScanPolicy(),
    )
    signed = evidence.PolicyResult(
        KEY,
        policy.Mode.ENFORCE,
        True,
        "Verified",
        "signature verified",
        signers=("ml-team",),
        files=(("m.pkl", "2" * 64),),
    )
    attested = ("https://modelward.io/scan/v1",)
    result = scan.judge(pol, signed, [_finding(severity)], DIGEST, FILES, "the scan", attested)
    assert result.passed is (severity is Severity.LOW)
    assert result.attestations == attested
    assert result.signers == ("ml-team",)
    # A runtime check of a scanned model still needs the signed files.
    assert result.files == (signed.files if result.passed else ())
