"""Keyless Sigstore bundles verified offline against a private trusted root."""

from __future__ import annotations

import base64
import datetime
import json
import pathlib
from typing import Any

import pytest

from modelward import errors
from modelward.structs import policy
from modelward.trust import base as trust
from modelward.trust import roots
from tests.fixtures import signing
from tests.fixtures.sigstore_stack import CI_CLAIMS, IDENTITY, ISSUER, SigstoreStack


def keyless(stack: SigstoreStack, **identity: Any) -> policy.Authority:
    fields = {"issuer": ISSUER, "subject": IDENTITY, "trust_root": "private", **identity}
    return policy.Authority(
        name="ci",
        type=policy.AuthorityType.KEYLESS,
        pem=json.dumps(stack.trusted_root()).encode(),
        identity=policy.Identity(**fields),
    )


def test_good_identity_verifies_offline(
    tmp_path: pathlib.Path, bert_model: pathlib.Path, sigstore_stack: SigstoreStack
) -> None:
    sig = sigstore_stack.sign(bert_model, tmp_path / "model.sig")
    manifest = trust.verify(sig, keyless(sigstore_stack))
    files = {p.relative_to(bert_model).as_posix() for p in bert_model.rglob("*") if p.is_file()}
    assert set(manifest.files) == files
    assert manifest.signer == f"keyless {IDENTITY} ({ISSUER})"


@pytest.mark.parametrize(
    ("identity", "message"),
    [
        (
            {"subject": "https://git.test/ml/other/.github/workflows/x.yml@refs/heads/main"},
            "subject",
        ),
        ({"issuer": "https://accounts.test"}, "issuer"),
        ({"subject": "", "subject_regexp": r"https://git\.test/ops/.*"}, "subject"),
        ({"issuer": "", "issuer_regexp": r"https://token\.actions\.test/extra"}, "issuer"),
        ({"extensions": (("githubWorkflowRepository", "ml/other"),)}, "githubWorkflowRepository"),
        ({"extensions": (("sourceRepositoryRef", "refs/tags/v1"),)}, "sourceRepositoryRef"),
        ({"extensions": (("runnerEnvironment", "github-hosted"),)}, "runnerEnvironment"),
    ],
    ids=[
        "wrong-subject",
        "wrong-issuer",
        "subject-regexp",
        "issuer-regexp",
        "workflow-repo",
        "source-ref",
        "claim-absent",
    ],
)
def test_identity_mismatch_is_untrusted_signer(
    tmp_path: pathlib.Path,
    bert_model: pathlib.Path,
    sigstore_stack: SigstoreStack,
    identity: dict[str, Any],
    message: str,
) -> None:
    sig = sigstore_stack.sign(bert_model, tmp_path / "model.sig")
    with pytest.raises(errors.SignerMismatch, match=message) as caught:
        trust.verify(sig, keyless(sigstore_stack, **identity))
    assert "keyless authority 'ci'" in caught.value.message


@pytest.mark.parametrize(
    "identity",
    [
        {
            "subject": "",
            "subject_regexp": r"https://git\.test/ml/[a-z]+/\.github/.*@refs/heads/main",
        },
        {"issuer": "", "issuer_regexp": r"https://token\.actions\.(test|example)"},
        {"extensions": tuple(CI_CLAIMS.items())},
    ],
    ids=["subject-regexp", "issuer-regexp", "all-claims"],
)
def test_regexps_and_claims_that_match_verify(
    tmp_path: pathlib.Path,
    bert_model: pathlib.Path,
    sigstore_stack: SigstoreStack,
    identity: dict[str, Any],
) -> None:
    sig = sigstore_stack.sign(bert_model, tmp_path / "model.sig")
    assert trust.verify(sig, keyless(sigstore_stack, **identity)).files


def test_regexp_must_match_the_whole_subject(
    tmp_path: pathlib.Path, bert_model: pathlib.Path, sigstore_stack: SigstoreStack
) -> None:
    sig = sigstore_stack.sign(bert_model, tmp_path / "model.sig")
    with pytest.raises(errors.SignerMismatch):
        trust.verify(sig, keyless(sigstore_stack, subject="", subject_regexp=r"https://git\.test"))


def test_email_subject(
    tmp_path: pathlib.Path, bert_model: pathlib.Path, sigstore_stack: SigstoreStack
) -> None:
    leaf = sigstore_stack.issue(identity="release@ml.test", claims={})
    sig = sigstore_stack.sign(bert_model, tmp_path / "model.sig", leaf)
    assert trust.verify(sig, keyless(sigstore_stack, subject="release@ml.test")).files


def test_signing_time_outside_the_certificate_validity_fails(
    tmp_path: pathlib.Path, bert_model: pathlib.Path, sigstore_stack: SigstoreStack
) -> None:
    leaf = sigstore_stack.issue(
        not_before=datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=2)
    )
    late = leaf.cert.not_valid_after_utc + datetime.timedelta(minutes=5)
    sig = sigstore_stack.sign(bert_model, tmp_path / "model.sig", leaf, integrated=late)
    with pytest.raises(errors.SignerMismatch, match="signing time"):
        trust.verify(sig, keyless(sigstore_stack))


def test_expired_certificate_verifies_at_its_logged_signing_time(
    tmp_path: pathlib.Path, bert_model: pathlib.Path, sigstore_stack: SigstoreStack
) -> None:
    leaf = sigstore_stack.issue(
        not_before=datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)
    )
    assert leaf.cert.not_valid_after_utc < datetime.datetime.now(datetime.UTC)
    sig = sigstore_stack.sign(bert_model, tmp_path / "model.sig", leaf)
    assert trust.verify(sig, keyless(sigstore_stack)).files


def _edit_entry(sig: pathlib.Path, out: pathlib.Path, edit: Any) -> pathlib.Path:
    bundle = signing.read_bundle(sig)
    edit(bundle["verificationMaterial"]["tlogEntries"][0])
    return signing.write_bundle(bundle, out)


def _later(entry: dict[str, Any]) -> None:
    entry["integratedTime"] = str(int(entry["integratedTime"]) + 60)


def _other_body(entry: dict[str, Any]) -> None:
    body = json.loads(base64.b64decode(entry["canonicalizedBody"]))
    body["spec"]["payloadHash"]["value"] = "0" * 64
    entry["canonicalizedBody"] = base64.b64encode(json.dumps(body).encode()).decode()


def _other_root(entry: dict[str, Any]) -> None:
    entry["inclusionProof"]["rootHash"] = base64.b64encode(b"\x01" * 32).decode()


def _other_checkpoint(entry: dict[str, Any]) -> None:
    proof = entry["inclusionProof"]
    proof["checkpoint"]["envelope"] = proof["checkpoint"]["envelope"].replace("\n6\n", "\n7\n")


@pytest.mark.parametrize(
    "edit",
    [_later, _other_body, _other_root, _other_checkpoint],
    ids=["integrated-time", "body", "root-hash", "checkpoint"],
)
def test_tampered_log_entry_fails(
    tmp_path: pathlib.Path, bert_model: pathlib.Path, sigstore_stack: SigstoreStack, edit: Any
) -> None:
    sig = sigstore_stack.sign(bert_model, tmp_path / "model.sig")
    forged = _edit_entry(sig, tmp_path / "forged.sig", edit)
    with pytest.raises(errors.VerificationFailed, match="does not verify against trust root"):
        trust.verify(forged, keyless(sigstore_stack))


def test_tampered_payload_fails(
    tmp_path: pathlib.Path, bert_model: pathlib.Path, sigstore_stack: SigstoreStack
) -> None:
    sig = sigstore_stack.sign(bert_model, tmp_path / "model.sig")
    forged = signing.edit_payload(sig, tmp_path / "forged.sig")
    with pytest.raises(errors.VerificationFailed):
        trust.verify(forged, keyless(sigstore_stack))


def test_bundle_from_another_sigstore_is_untrusted(
    tmp_path: pathlib.Path, bert_model: pathlib.Path, sigstore_stack: SigstoreStack
) -> None:
    other = SigstoreStack.create()
    sig = other.sign(bert_model, tmp_path / "model.sig")
    with pytest.raises(errors.SignerMismatch, match="does not chain to trust root 'private'"):
        trust.verify(sig, keyless(sigstore_stack))


def test_public_good_root_rejects_a_private_bundle(
    tmp_path: pathlib.Path, bert_model: pathlib.Path, sigstore_stack: SigstoreStack
) -> None:
    sig = sigstore_stack.sign(bert_model, tmp_path / "model.sig")
    authority = policy.Authority(
        name="ci",
        type=policy.AuthorityType.KEYLESS,
        pem=roots.public_good(),
        identity=policy.Identity(issuer=ISSUER, subject=IDENTITY),
    )
    with pytest.raises(errors.SignerMismatch, match="sigstore-public-good"):
        trust.verify(sig, authority)


def test_key_bundle_is_not_a_keyless_bundle(
    tmp_path: pathlib.Path,
    bert_model: pathlib.Path,
    sigstore_stack: SigstoreStack,
    signing_key: signing.KeyPair,
) -> None:
    sig = signing.sign_with_key(bert_model, signing_key, tmp_path / "model.sig")
    with pytest.raises(errors.VerificationFailed, match="not a keyless Sigstore bundle"):
        trust.verify(sig, keyless(sigstore_stack))


def test_signed_timestamp_stands_in_for_the_inclusion_promise(
    tmp_path: pathlib.Path, bert_model: pathlib.Path, sigstore_stack: SigstoreStack
) -> None:
    sig = sigstore_stack.sign(
        bert_model, tmp_path / "model.sig", promise=False, timestamped_by=sigstore_stack
    )
    material = signing.read_bundle(sig)["verificationMaterial"]
    assert "inclusionPromise" not in material["tlogEntries"][0]
    assert trust.verify(sig, keyless(sigstore_stack)).files


def test_timestamp_from_an_untrusted_authority_gives_no_signing_time(
    tmp_path: pathlib.Path, bert_model: pathlib.Path, sigstore_stack: SigstoreStack
) -> None:
    sig = sigstore_stack.sign(
        bert_model, tmp_path / "model.sig", promise=False, timestamped_by=SigstoreStack.create()
    )
    with pytest.raises(errors.VerificationFailed, match="not enough sources of verified time"):
        trust.verify(sig, keyless(sigstore_stack))


def test_timestamp_outside_the_certificate_validity_fails(
    tmp_path: pathlib.Path, bert_model: pathlib.Path, sigstore_stack: SigstoreStack
) -> None:
    leaf = sigstore_stack.issue(
        not_before=datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=2)
    )
    late = leaf.cert.not_valid_after_utc + datetime.timedelta(minutes=5)
    sig = sigstore_stack.sign(
        bert_model,
        tmp_path / "model.sig",
        leaf,
        integrated=late,
        promise=False,
        timestamped_by=sigstore_stack,
    )
    with pytest.raises(errors.SignerMismatch, match="signing time"):
        trust.verify(sig, keyless(sigstore_stack))


def test_bundle_without_any_signed_time_is_malformed(
    tmp_path: pathlib.Path, bert_model: pathlib.Path, sigstore_stack: SigstoreStack
) -> None:
    sig = sigstore_stack.sign(bert_model, tmp_path / "model.sig", promise=False)
    with pytest.raises(errors.VerificationFailed, match="inclusion promise or signed timestamp"):
        trust.verify(sig, keyless(sigstore_stack))


def test_keyless_authority_without_identity_is_a_policy_error(
    tmp_path: pathlib.Path, bert_model: pathlib.Path, sigstore_stack: SigstoreStack
) -> None:
    sig = sigstore_stack.sign(bert_model, tmp_path / "model.sig")
    authority = policy.Authority(name="ci", type=policy.AuthorityType.KEYLESS, pem=b"{}")
    with pytest.raises(errors.PolicyError, match="names no identity"):
        trust.verify(sig, authority)


@pytest.mark.parametrize(
    ("timestamped_by", "passes"),
    [("own", True), ("other", False), (None, False)],
    ids=["trusted-tsa", "untrusted-tsa", "no-timestamp"],
)
def test_policy_can_require_a_signed_timestamp(
    tmp_path: pathlib.Path,
    bert_model: pathlib.Path,
    sigstore_stack: SigstoreStack,
    timestamped_by: str | None,
    passes: bool,
) -> None:
    tsa = {"own": sigstore_stack, "other": SigstoreStack.create(), None: None}[timestamped_by]
    sig = sigstore_stack.sign(bert_model, tmp_path / "model.sig", timestamped_by=tsa)
    authority = keyless(sigstore_stack, require_signed_timestamp=True)
    assert trust.verify(sig, keyless(sigstore_stack)).files, "the log's time suffices by default"
    if passes:
        assert trust.verify(sig, authority).files
    else:
        with pytest.raises(errors.VerificationFailed, match="requires a signed timestamp") as e:
            trust.verify(sig, authority)
        assert e.value.reason == "SignedTimestampMissing"
