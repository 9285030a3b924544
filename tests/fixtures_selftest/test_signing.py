"""Bundles made by the signing fixtures verify, and their forgeries do not."""

from __future__ import annotations

import json
import pathlib

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from OpenSSL.crypto import X509StoreContextError

from tests.fixtures import models, signing
from tests.fixtures.signing import KeyPair, SigningPKI


def _ed_public(key: KeyPair) -> ed25519.Ed25519PublicKey:
    assert isinstance(key.private_key, ed25519.Ed25519PrivateKey)
    return key.private_key.public_key()


def test_ec_bundle_verifies_with_model_signing(
    bert_model: pathlib.Path, signing_key: KeyPair
) -> None:
    sig = signing.sign_with_key(bert_model, signing_key, bert_model / "model.sig")
    bundle = signing.read_bundle(sig)
    assert bundle["mediaType"] == signing.BUNDLE_MEDIA_TYPE
    assert bundle["verificationMaterial"]["publicKey"]["hint"] == signing_key.hint
    statement = signing.bundle_payload(bundle)
    names = [r["name"] for r in statement["predicate"]["resources"]]
    assert "model.sig" not in names
    assert "model.sig" in statement["predicate"]["serialization"]["ignore_paths"]
    signing.verify_with_key(bert_model, signing_key.public_path, sig)


def test_ec_bundle_rejects_tampered_model(
    bert_model: pathlib.Path, signing_key: KeyPair, tmp_path: pathlib.Path
) -> None:
    sig = signing.sign_with_key(bert_model, signing_key, tmp_path / "bert.sig")
    models.flip_byte(bert_model / "tokenizer.json")
    with pytest.raises(ValueError, match=r"Hash mismatch for 'tokenizer\.json'"):
        signing.verify_with_key(bert_model, signing_key.public_path, sig)


def test_ec_bundle_rejects_extra_file(
    bert_model: pathlib.Path, signing_key: KeyPair, tmp_path: pathlib.Path
) -> None:
    sig = signing.sign_with_key(bert_model, signing_key, tmp_path / "bert.sig")
    (bert_model / "evil.py").write_text("import os\n")
    with pytest.raises(ValueError, match="Extra files"):
        signing.verify_with_key(bert_model, signing_key.public_path, sig)


def test_single_file_model_signs(single_file_model: pathlib.Path, signing_key: KeyPair) -> None:
    sig = signing.sign_with_key(
        single_file_model, signing_key, single_file_model.with_suffix(".sig")
    )
    signing.verify_with_key(single_file_model, signing_key.public_path, sig)
    statement = signing.bundle_payload(signing.read_bundle(sig))
    assert [r["name"] for r in statement["predicate"]["resources"]] == ["."]


def test_cert_bundle_verifies_against_root(
    bert_model: pathlib.Path, signing_pki: SigningPKI, tmp_path: pathlib.Path
) -> None:
    assert signing_pki.root.cert.not_valid_before_utc <= signing_pki.leaf.cert.not_valid_before_utc
    sig = signing.sign_with_cert(
        bert_model, signing_pki.leaf, signing_pki.chain_paths, tmp_path / "bert.sig"
    )
    chain = signing.read_bundle(sig)["verificationMaterial"]["x509CertificateChain"]
    assert len(chain["certificates"]) == 2
    signing.verify_with_cert(bert_model, signing_pki.trust_paths, sig)
    models.flip_byte(bert_model / "model.safetensors")
    with pytest.raises(ValueError, match="Hash mismatch"):
        signing.verify_with_cert(bert_model, signing_pki.trust_paths, sig)


def test_cert_bundle_rejects_other_root(
    bert_model: pathlib.Path, signing_pki: SigningPKI, tmp_path: pathlib.Path
) -> None:
    sig = signing.sign_with_cert(
        bert_model, signing_pki.leaf, signing_pki.chain_paths, tmp_path / "bert.sig"
    )
    stranger = signing.make_signing_pki(tmp_path / "stranger", "stranger")
    with pytest.raises(X509StoreContextError, match="unable to get local issuer certificate"):
        signing.verify_with_cert(bert_model, stranger.trust_paths, sig)


def test_ed25519_bundle(
    bert_model: pathlib.Path, ed25519_key: KeyPair, signing_key: KeyPair, tmp_path: pathlib.Path
) -> None:
    sig = signing.sign_with_key(bert_model, ed25519_key, bert_model / "model.sig")
    bundle = signing.read_bundle(sig)
    assert bundle["verificationMaterial"]["publicKey"]["hint"] == ed25519_key.hint
    assert bundle["dsseEnvelope"]["payloadType"] == "application/vnd.in-toto+json"
    statement = signing.verify_ed25519_bundle(bundle, _ed_public(ed25519_key))
    # Same Statement model_signing signs: an EC bundle of the same model carries it too.
    assert "model.sig" not in [r["name"] for r in statement["predicate"]["resources"]]
    ec_sig = signing.sign_with_key(bert_model, signing_key, bert_model / "model.sig")
    ec_statement = signing.bundle_payload(signing.read_bundle(ec_sig))
    assert statement["predicate"]["resources"] == ec_statement["predicate"]["resources"]
    assert statement["subject"] == ec_statement["subject"]
    other = signing.make_ed25519_key(tmp_path, "other")
    with pytest.raises(InvalidSignature):
        signing.verify_ed25519_bundle(bundle, _ed_public(other))


def test_edited_payload_is_rejected(
    bert_model: pathlib.Path, signing_key: KeyPair, ed25519_key: KeyPair, tmp_path: pathlib.Path
) -> None:
    good = signing.sign_with_key(bert_model, signing_key, tmp_path / "good.sig")
    forged = signing.edit_payload(good, tmp_path / "forged.sig")
    before = signing.bundle_payload(signing.read_bundle(good))
    after = signing.bundle_payload(signing.read_bundle(forged))
    assert before["predicate"]["resources"] != after["predicate"]["resources"]
    assert before["subject"] != after["subject"]
    with pytest.raises(InvalidSignature):
        signing.verify_with_key(bert_model, signing_key.public_path, forged)

    ed_good = signing.sign_with_key(bert_model, ed25519_key, tmp_path / "ed.sig")
    ed_forged = signing.edit_payload(ed_good, tmp_path / "ed-forged.sig")
    with pytest.raises(InvalidSignature):
        signing.verify_ed25519_bundle(signing.read_bundle(ed_forged), _ed_public(ed25519_key))


def test_bundle_for_another_model_is_rejected(
    bert_model: pathlib.Path, signing_key: KeyPair, tmp_path: pathlib.Path
) -> None:
    sig = signing.forge_other_model(bert_model, signing_key, tmp_path / "other.sig", tmp_path)
    with pytest.raises(ValueError, match=r"Hash mismatch for 'model\.safetensors'"):
        signing.verify_with_key(bert_model, signing_key.public_path, sig)


def test_wrong_key_is_rejected(
    bert_model: pathlib.Path, signing_key: KeyPair, tmp_path: pathlib.Path
) -> None:
    attacker = signing.make_ec_key(tmp_path / "attacker", "attacker")
    plain = signing.sign_with_key(bert_model, attacker, tmp_path / "plain.sig")
    with pytest.raises(ValueError, match="Key mismatch"):
        signing.verify_with_key(bert_model, signing_key.public_path, plain)
    impostor = signing.forge_wrong_key(bert_model, signing_key, attacker, tmp_path / "imp.sig")
    assert json.loads(impostor.read_text())["verificationMaterial"]["publicKey"]["hint"] == (
        signing_key.hint
    )
    with pytest.raises(InvalidSignature):
        signing.verify_with_key(bert_model, signing_key.public_path, impostor)


def test_pae_matches_dsse_spec() -> None:
    assert signing.pae("t", b"ab") == b"DSSEv1 1 t 2 ab"
