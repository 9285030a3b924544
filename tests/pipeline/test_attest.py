"""Required attestations checked against real signed bundles: keys, certificates, keyless."""

from __future__ import annotations

import datetime
import json
import pathlib
from typing import Any

import pytest

from modelward.pipeline import attest
from modelward.policies import attestations, parse
from modelward.structs import evidence, policy
from tests.fixtures import signing
from tests.fixtures.sigstore_stack import IDENTITY, ISSUER, SigstoreStack

SLSA = "https://slsa.dev/provenance/v1"
BUILDER = "https://ci.test/ml/train.yml@refs/heads/main"
DIGEST = "sha256:" + "ab" * 32
FILES = {"config.json": "11" * 32, "model.safetensors": "22" * 32}
NOW = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)


def provenance(builder: str = BUILDER, finished: datetime.datetime = NOW) -> dict[str, Any]:
    return {
        "buildDefinition": {"externalParameters": {"workflow": {"ref": "refs/tags/v1.0"}}},
        "runDetails": {
            "builder": {"id": builder},
            "metadata": {"finishedOn": finished.isoformat().replace("+00:00", "Z")},
        },
    }


def key_authority(name: str, key: signing.KeyPair) -> policy.Authority:
    return policy.Authority(name, policy.AuthorityType.KEY, key.public_pem)


def make_policy(
    authorities: tuple[policy.Authority, ...], spec: list[dict[str, Any]]
) -> policy.Policy:
    return policy.Policy(
        key=policy.PolicyKey("ClusterModelPolicy", None, "p", "u", 1),
        mode=policy.Mode.ENFORCE,
        match=policy.Match(),
        globs=("**",),
        authorities=authorities,
        attestations=attestations.parse_attestations(
            spec, authorities=authorities, configmaps=None, namespace="modelward"
        ),
    )


def provenance_spec(**extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": "provenance",
            "predicateType": SLSA,
            "conditions": [{"path": "runDetails.builder.id", "equals": BUILDER}],
            **extra,
        }
    ]


def signed(pol: policy.Policy) -> evidence.PolicyResult:
    return evidence.PolicyResult(
        policy=pol.key,
        mode=pol.mode,
        passed=True,
        reason="Verified",
        message="signature verified",
        authorities=(pol.authorities[0].name,),
    )


def check(
    pol: policy.Policy, bundles: list[pathlib.Path], *, digest: str = DIGEST
) -> evidence.PolicyResult:
    return attest.apply(pol, signed(pol), bundles, digest, FILES, (), now=NOW)


@pytest.fixture
def ci(tmp_path: pathlib.Path) -> signing.KeyPair:
    return signing.make_ec_key(tmp_path, "ci")


def write(
    tmp_path: pathlib.Path,
    signer: signing.KeyPair | signing.SigningPKI,
    predicate: dict[str, Any],
    *,
    digest: str | None = DIGEST,
    files: dict[str, str] | None = None,
    kind: str = SLSA,
    name: str = "att",
) -> pathlib.Path:
    stmt = signing.in_toto_statement(kind, predicate, digest=digest, files=files)
    return signing.sign_statement(stmt, signer, tmp_path / f"{name}.sigstore.json")


def test_right_builder_passes_and_records_the_type(
    tmp_path: pathlib.Path, ci: signing.KeyPair
) -> None:
    pol = make_policy((key_authority("ci", ci),), provenance_spec())
    result = check(pol, [write(tmp_path, ci, provenance())])
    assert result.passed, result.message
    assert result.attestations == (SLSA,)
    assert result.message == "signature verified; attestations verified: provenance"


@pytest.mark.parametrize(
    ("case", "reason", "message"),
    [
        (
            "wrong-builder",
            "AttestationConditionFailed",
            f"attestation 'provenance' ({SLSA}): runDetails.builder.id is "
            f'"https://evil.test/x.yml", expected "{BUILDER}"',
        ),
        ("missing", "AttestationMissing", "no attestation of this type signed by ci"),
        ("other-signer", "AttestationUntrusted", "none is signed by ci"),
        ("other-digest", "AttestationDigestMismatch", "is about another model"),
        ("too-old", "AttestationTooOld", "older than maxAge 30 days"),
        ("future", "AttestationTooOld", "in the future"),
        ("other-type", "AttestationMissing", "cosign attest"),
    ],
)
def test_denied(
    tmp_path: pathlib.Path, ci: signing.KeyPair, case: str, reason: str, message: str
) -> None:
    rogue = signing.make_ec_key(tmp_path, "rogue")
    pol = make_policy((key_authority("ci", ci),), provenance_spec(maxAge="720h"))
    bundles = {
        "wrong-builder": lambda: [write(tmp_path, ci, provenance("https://evil.test/x.yml"))],
        "missing": lambda: [],
        "other-signer": lambda: [write(tmp_path, rogue, provenance())],
        "other-digest": lambda: [write(tmp_path, ci, provenance(), digest="sha256:" + "0" * 64)],
        "too-old": lambda: [
            write(tmp_path, ci, provenance(finished=NOW - datetime.timedelta(hours=721)))
        ],
        "future": lambda: [
            write(tmp_path, ci, provenance(finished=NOW + datetime.timedelta(hours=1)))
        ],
        "other-type": lambda: [write(tmp_path, ci, provenance(), kind="https://x.test/v1")],
    }[case]()
    result = check(pol, bundles)
    assert not result.passed
    assert result.reason == reason
    assert message in result.message
    assert result.message.startswith(f"attestation 'provenance' ({SLSA}): ")
    assert result.attestations == ()


def test_any_one_good_attestation_is_enough(tmp_path: pathlib.Path, ci: signing.KeyPair) -> None:
    pol = make_policy((key_authority("ci", ci),), provenance_spec())
    bad = write(tmp_path, ci, provenance("https://evil.test/x.yml"), name="bad")
    good = write(tmp_path, ci, provenance(), name="good")
    assert check(pol, [bad, good]).passed
    assert not check(pol, [bad]).passed


def test_only_the_named_authorities_count(tmp_path: pathlib.Path, ci: signing.KeyPair) -> None:
    ml = signing.make_ec_key(tmp_path, "ml")
    authorities = (key_authority("ml", ml), key_authority("ci", ci))
    by_ml = [write(tmp_path, ml, provenance())]
    assert check(make_policy(authorities, provenance_spec()), by_ml).passed
    named = make_policy(authorities, provenance_spec(authorities=["ci"]))
    assert check(named, by_ml).reason == "AttestationUntrusted"


def test_bound_by_the_signed_files_without_a_digest(
    tmp_path: pathlib.Path, ci: signing.KeyPair
) -> None:
    pol = make_policy((key_authority("ci", ci),), provenance_spec())
    bundle = write(tmp_path, ci, provenance(), digest=None, files=FILES)
    assert check(pol, [bundle]).passed
    other = write(tmp_path, ci, provenance(), digest=None, files={"x": "00" * 32}, name="x")
    assert check(pol, [other]).reason == "AttestationDigestMismatch"


def test_max_age_needs_a_time(tmp_path: pathlib.Path, ci: signing.KeyPair) -> None:
    pol = make_policy((key_authority("ci", ci),), provenance_spec(maxAge="1h"))
    result = check(pol, [write(tmp_path, ci, {"runDetails": {"builder": {"id": BUILDER}}})])
    assert result.reason == "AttestationTooOld"
    assert "set timePath" in result.message
    custom = make_policy(
        (key_authority("ci", ci),), provenance_spec(maxAge="1h", timePath="built.at")
    )
    fresh = {"runDetails": {"builder": {"id": BUILDER}}, "built": {"at": "2026-06-01T00:30:00Z"}}
    assert not check(custom, [write(tmp_path, ci, fresh)]).passed  # in the future of NOW
    fresh["built"]["at"] = "2026-05-31T23:30:00Z"
    assert check(custom, [write(tmp_path, ci, fresh)]).passed


def test_training_data_allowlist(tmp_path: pathlib.Path, ci: signing.KeyPair) -> None:
    spec = [
        {
            "name": "training-data",
            "predicateType": "https://modelward.io/training-data/v1",
            "conditions": [{"path": "datasets[*].digest.sha256", "in": ["aa", "bb"]}],
        }
    ]
    pol = make_policy((key_authority("ci", ci),), spec)

    def datasets(*digests: str) -> pathlib.Path:
        predicate = {"datasets": [{"digest": {"sha256": d}} for d in digests]}
        kind = "https://modelward.io/training-data/v1"
        return write(tmp_path, ci, predicate, kind=kind, name="-".join(digests) or "none")

    assert check(pol, [datasets("aa", "bb")]).passed
    one_out = check(pol, [datasets("aa", "cc")])
    assert one_out.reason == "AttestationConditionFailed"
    assert 'datasets[1].digest.sha256 is "cc", not in the allowlist' in one_out.message
    assert "matches no value" in check(pol, [datasets()]).message


def test_certificate_and_ed25519_signers(tmp_path: pathlib.Path) -> None:
    chain = signing.make_signing_pki(tmp_path / "pki")
    ed = signing.make_ed25519_key(tmp_path, "ed")
    ca = policy.Authority("ci", policy.AuthorityType.CERTIFICATE, chain.root.cert_path.read_bytes())
    assert check(
        make_policy((ca,), provenance_spec()), [write(tmp_path, chain, provenance())]
    ).passed
    by_ed = [write(tmp_path, ed, provenance(), name="ed")]
    assert check(make_policy((key_authority("ci", ed),), provenance_spec()), by_ed).passed
    assert check(make_policy((ca,), provenance_spec()), by_ed).reason == "AttestationUntrusted"


def test_keyless_signer(tmp_path: pathlib.Path, sigstore_stack: SigstoreStack) -> None:
    stmt = signing.in_toto_statement(SLSA, provenance(), digest=DIGEST)
    payload = json.dumps(stmt).encode()
    bundle = sigstore_stack.sign(tmp_path, tmp_path / "att.json", payload=payload)

    def keyless(subject: str) -> policy.Authority:
        return policy.Authority(
            "ci",
            policy.AuthorityType.KEYLESS,
            json.dumps(sigstore_stack.trusted_root()).encode(),
            identity=policy.Identity(issuer=ISSUER, subject=subject, trust_root="private"),
        )

    assert check(make_policy((keyless(IDENTITY),), provenance_spec()), [bundle]).passed
    other = make_policy((keyless("https://git.test/other@refs/heads/main"),), provenance_spec())
    assert check(other, [bundle]).reason == "AttestationUntrusted"


def test_a_model_signature_is_not_an_attestation(
    tmp_path: pathlib.Path, ci: signing.KeyPair, bert_model: pathlib.Path
) -> None:
    sig = signing.sign_with_key(bert_model, ci, tmp_path / "model.sig")
    pol = make_policy((key_authority("ci", ci),), provenance_spec())
    assert check(pol, [sig]).reason == "AttestationMissing"


def test_no_requirement_changes_nothing(tmp_path: pathlib.Path, ci: signing.KeyPair) -> None:
    pol = make_policy((key_authority("ci", ci),), [])
    assert check(pol, []) == signed(pol)


def test_inline_authority_vouches_for_its_attestation_only(
    tmp_path: pathlib.Path, ci: signing.KeyPair
) -> None:
    builder = signing.make_ec_key(tmp_path, "builder")
    inline = [{"name": "builder", "key": {"data": builder.public_path.read_text()}}]
    obj = {
        "kind": "ClusterModelPolicy",
        "metadata": {"name": "p", "uid": "u", "generation": 1},
        "spec": {
            "models": [{"glob": "**"}],
            "authorities": [{"name": "ci", "key": {"data": ci.public_path.read_text()}}],
            "attestations": provenance_spec(inlineAuthorities=inline),
        },
    }
    pol = parse.parse_policy(obj, secrets=lambda *a: b"", home_namespace="modelward")
    assert pol.ready, pol.error_message
    assert [a.name for a in pol.authorities] == ["ci"]
    assert check(pol, [write(tmp_path, builder, provenance(), name="b")]).passed
    assert (
        check(pol, [write(tmp_path, ci, provenance(), name="c")]).reason == "AttestationUntrusted"
    )
