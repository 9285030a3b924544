"""Bundles made by model_signing (and an independent Ed25519 signer) against each authority type."""

from __future__ import annotations

import base64
import datetime
import pathlib
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from modelward import errors
from modelward.structs import policy
from modelward.trust import base as trust
from tests.fixtures import pki, signing


def key_authority(key: signing.KeyPair, name: str = "ml-release") -> policy.Authority:
    return policy.Authority(
        name=name, type=policy.AuthorityType.KEY, pem=key.public_path.read_bytes()
    )


def ca_authority(pem: bytes, name: str = "corp-ca") -> policy.Authority:
    return policy.Authority(name=name, type=policy.AuthorityType.CERTIFICATE, pem=pem)


def files_of(model: pathlib.Path) -> set[str]:
    return {p.relative_to(model).as_posix() for p in model.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "maker",
    [signing.make_ec_key, signing.make_ed25519_key, signing.make_rsa_key],
    ids=["ecdsa", "ed25519", "rsa"],
)
def test_key_signed_bundle_yields_the_signed_manifest(
    tmp_path: pathlib.Path, bert_model: pathlib.Path, maker
) -> None:  # type: ignore[no-untyped-def]
    key = maker(tmp_path, "k")
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    manifest = trust.verify(sig, key_authority(key))
    assert set(manifest.files) == files_of(bert_model)
    assert manifest.method == "files"
    assert manifest.hash_type == "sha256"
    assert manifest.signer.startswith("key sha256:")


@pytest.mark.parametrize(
    "maker",
    [signing.make_ec_key, signing.make_ed25519_key, signing.make_rsa_key],
    ids=["ecdsa", "ed25519", "rsa"],
)
def test_other_key_is_a_signer_mismatch(
    tmp_path: pathlib.Path, bert_model: pathlib.Path, maker
) -> None:  # type: ignore[no-untyped-def]
    sig = signing.sign_with_key(bert_model, maker(tmp_path, "a"), tmp_path / "model.sig")
    with pytest.raises(errors.SignerMismatch, match="authority 'ml-release'"):
        trust.verify(sig, key_authority(maker(tmp_path, "b")))


def test_edited_payload_fails(tmp_path: pathlib.Path, bert_model: pathlib.Path) -> None:
    key = signing.make_ec_key(tmp_path, "k")
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    forged = signing.edit_payload(sig, tmp_path / "forged.sig")
    with pytest.raises(errors.SignerMismatch):
        trust.verify(forged, key_authority(key))


def test_wrong_key_with_the_right_hint_fails(
    tmp_path: pathlib.Path, bert_model: pathlib.Path
) -> None:
    claimed, actual = (
        signing.make_ec_key(tmp_path, "claimed"),
        signing.make_ec_key(tmp_path, "actual"),
    )
    sig = signing.forge_wrong_key(bert_model, claimed, actual, tmp_path / "model.sig")
    with pytest.raises(errors.SignerMismatch):
        trust.verify(sig, key_authority(claimed))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not a valid Sigstore bundle"),
        (b"[]", "not a valid Sigstore bundle"),
        (b'{"mediaType": "x"}', "not a valid Sigstore bundle"),
    ],
)
def test_malformed_bundles_are_named(tmp_path: pathlib.Path, content: bytes, message: str) -> None:
    path = tmp_path / "model.sig"
    path.write_bytes(content)
    with pytest.raises(errors.VerificationFailed, match=message) as caught:
        trust.verify(path, key_authority(signing.make_ec_key(tmp_path, "k")))
    assert caught.value.reason == "MalformedSignature"


def test_certificate_chain_to_the_authority_ca(
    tmp_path: pathlib.Path, bert_model: pathlib.Path
) -> None:
    chain = signing.make_signing_pki(tmp_path)
    sig = signing.sign_with_cert(bert_model, chain.leaf, chain.chain_paths, tmp_path / "model.sig")
    manifest = trust.verify(sig, ca_authority(chain.root.cert_path.read_bytes()))
    assert set(manifest.files) == files_of(bert_model)
    assert "CN=" in manifest.signer


def test_certificate_from_an_untrusted_ca_with_the_same_name_fails(
    tmp_path: pathlib.Path, bert_model: pathlib.Path
) -> None:
    real = signing.make_signing_pki(tmp_path / "real", "model-signer")
    impostor = signing.make_signing_pki(tmp_path / "impostor", "model-signer")
    sig = signing.sign_with_cert(
        bert_model, impostor.leaf, impostor.chain_paths, tmp_path / "model.sig"
    )
    with pytest.raises(errors.SignerMismatch, match="does not chain to authority 'corp-ca'"):
        trust.verify(sig, ca_authority(real.root.cert_path.read_bytes()))


def test_ca_that_expired_before_signing_fails(
    tmp_path: pathlib.Path, bert_model: pathlib.Path
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    root = pki.make_ca(
        tmp_path,
        "old-root",
        not_before=now - datetime.timedelta(days=30),
        not_after=now - datetime.timedelta(days=1),
    )
    leaf = pki.issue_leaf(tmp_path, root, "signer", code_signing=True)
    sig = signing.sign_with_cert(bert_model, leaf, [root.cert_path], tmp_path / "model.sig")
    with pytest.raises(errors.SignerMismatch, match="expired"):
        trust.verify(sig, ca_authority(root.cert_path.read_bytes()))


def test_key_bundle_does_not_satisfy_a_certificate_authority(
    tmp_path: pathlib.Path, bert_model: pathlib.Path
) -> None:
    chain = signing.make_signing_pki(tmp_path)
    sig = signing.sign_with_key(
        bert_model, signing.make_ec_key(tmp_path, "k"), tmp_path / "model.sig"
    )
    with pytest.raises(errors.VerificationFailed):
        trust.verify(sig, ca_authority(chain.root.cert_path.read_bytes()))


def test_rsa_signature_with_pss_padding_is_rejected(
    tmp_path: pathlib.Path, bert_model: pathlib.Path
) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = signing.make_rsa_key(tmp_path, "k")
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    bundle = signing.read_bundle(sig)
    payload = signing.statement_json(bert_model, sig)
    assert isinstance(key.private_key, rsa.RSAPrivateKey)
    pss = key.private_key.sign(
        signing.pae(signing.INTOTO_PAYLOAD_TYPE, payload),
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )
    bundle["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(pss).decode()
    forged = signing.write_bundle(bundle, tmp_path / "pss.sig")
    with pytest.raises(errors.SignerMismatch):
        trust.verify(forged, key_authority(key))


def _cross_signed(directory: pathlib.Path) -> tuple[pki.Issued, pki.Issued]:
    """Two CAs, each issued by the other: a chain that loops and never reaches a root."""
    keys = {name: ec.generate_private_key(ec.SECP256R1()) for name in ("loop-a", "loop-b")}
    names = {n: x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, n)]) for n in keys}
    now = datetime.datetime.now(datetime.UTC)
    issued = []
    for subject, issuer in (("loop-a", "loop-b"), ("loop-b", "loop-a")):
        cert = (
            x509.CertificateBuilder()
            .subject_name(names[subject])
            .issuer_name(names[issuer])
            .public_key(keys[subject].public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(keys[issuer], hashes.SHA256())
        )
        issued.append(pki._write(directory, subject, keys[subject], cert))
    return issued[0], issued[1]


def test_a_chain_that_loops_fails_without_hanging(
    tmp_path: pathlib.Path, bert_model: pathlib.Path
) -> None:
    a, b = _cross_signed(tmp_path / "loop")
    leaf = pki.issue_leaf(tmp_path / "loop", a, "signer", code_signing=True)
    sig = signing.sign_with_cert(bert_model, leaf, [a.cert_path, b.cert_path], tmp_path / "s.sig")
    started = time.monotonic()
    with pytest.raises(errors.SignerMismatch):
        trust.verify(sig, ca_authority(pki.cert_pem(a.cert) + pki.cert_pem(b.cert)))
    assert time.monotonic() - started < 2.0
