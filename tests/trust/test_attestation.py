from __future__ import annotations

import datetime
import pathlib

import pytest

from modelward import errors
from modelward.scanners.base import Finding, Location, Severity
from modelward.structs import policy
from modelward.trust import attestation
from tests.fixtures import signing

NOW = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
FILES = {"model.pkl": "ab" * 32, "config.json": "cd" * 32}
DIGEST = "sha256:" + "ef" * 32
FINDING = Finding(
    "pickle.unsafe-global", Severity.HIGH, Location("model.pkl", 12, "GLOBAL", "a.b"), "m"
)


def _authority(key: signing.KeyPair) -> policy.Authority:
    return policy.Authority("ci", policy.AuthorityType.KEY, key.public_pem)


def _write(
    tmp_path: pathlib.Path,
    key: signing.KeyPair,
    *,
    when: datetime.datetime = NOW,
    digest: str | None = DIGEST,
    files=FILES,
) -> pathlib.Path:  # type: ignore[no-untyped-def]
    stmt = attestation.build_statement([FINDING], files, name="m", digest=digest, now=when)
    out = tmp_path / "scan.sigstore.json"
    attestation.sign(stmt, key.private_path, out)
    return out


def _verify(
    path: pathlib.Path, key: signing.KeyPair, *, digest: str = DIGEST, files=FILES
) -> attestation.Attested:  # type: ignore[no-untyped-def]
    return attestation.verify(
        path,
        _authority(key),
        digest=digest,
        files=files,
        max_age=datetime.timedelta(hours=720),
        now=NOW,
    )


def test_round_trip_keeps_the_findings(tmp_path: pathlib.Path) -> None:
    key = signing.make_ec_key(tmp_path, "ci")
    got = _verify(_write(tmp_path, key), key)
    assert got.findings == (FINDING,)
    assert got.scanned_at == NOW
    assert got.authority == "ci"


def test_bound_to_the_file_set_without_a_digest(tmp_path: pathlib.Path) -> None:
    key = signing.make_ec_key(tmp_path, "ci")
    path = _write(tmp_path, key, digest=None)
    assert _verify(path, key, digest="sha256:" + "0" * 64).findings
    with pytest.raises(errors.VerificationFailed, match="another model") as e:
        _verify(path, key, digest="sha256:" + "0" * 64, files={**FILES, "extra.bin": "00" * 32})
    assert e.value.reason == "AttestationDigestMismatch"


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("untrusted", "UntrustedSigner"),
        ("other-digest", "AttestationDigestMismatch"),
        ("too-old", "AttestationTooOld"),
        ("future", "AttestationTooOld"),
    ],
)
def test_rejected(tmp_path: pathlib.Path, case: str, reason: str) -> None:
    key = signing.make_ec_key(tmp_path, "ci")
    signer = signing.make_ec_key(tmp_path, "rogue") if case == "untrusted" else key
    when = {
        "too-old": NOW - datetime.timedelta(hours=721),
        "future": NOW + datetime.timedelta(hours=1),
    }.get(case, NOW)
    path = _write(tmp_path, signer, when=when)
    digest = "sha256:" + "1" * 64 if case == "other-digest" else DIGEST
    with pytest.raises(errors.VerificationFailed) as e:
        _verify(path, key, digest=digest, files={"x": "00"} if case == "other-digest" else FILES)
    assert e.value.reason == reason


def test_a_model_signature_is_not_a_scan_attestation(
    tmp_path: pathlib.Path, bert_model: pathlib.Path
) -> None:
    key = signing.make_ec_key(tmp_path, "ci")
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    with pytest.raises(errors.VerificationFailed, match="predicate type"):
        _verify(sig, key)
