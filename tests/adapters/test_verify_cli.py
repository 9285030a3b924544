"""`modelward verify`: a model on local disk against its signature (the init container)."""

from __future__ import annotations

import json
import pathlib
import shutil
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from modelward.adapters import cli
from tests.fixtures import models, signing


def policy_file(path: pathlib.Path, authorities: list[dict[str, Any]], count: int = 1) -> str:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "modelward.io/v1alpha1",
                "kind": "ClusterModelPolicy",
                "metadata": {"name": "runtime"},
                "spec": {
                    "models": [{"glob": "**"}],
                    "authorities": authorities,
                    "require": {"count": count},
                },
            }
        )
    )
    return str(path)


def key_authority(name: str, key: signing.KeyPair) -> dict[str, Any]:
    return {"name": name, "key": {"data": key.public_pem.decode()}}


Setup = Callable[[pathlib.Path, pathlib.Path], list[str]]


def _signed_in_place(tmp: pathlib.Path, model: pathlib.Path) -> list[str]:
    key = signing.make_ec_key(tmp / "keys")
    signing.sign_with_key(model, key, model / "model.sig")
    return [str(model), "--key", str(key.public_path)]


def _detached(tmp: pathlib.Path, model: pathlib.Path) -> list[str]:
    key = signing.make_ec_key(tmp / "keys")
    sig = signing.sign_with_key(model, key, tmp / "bert.sig")
    return [str(model), "--signature", str(sig), "--key", str(key.public_path)]


def _ed25519(tmp: pathlib.Path, model: pathlib.Path) -> list[str]:
    key = signing.make_ed25519_key(tmp / "keys")
    signing.sign_with_key(model, key, model / "model.sig")
    return [str(model), "--key", str(key.public_path)]


def _certificate(tmp: pathlib.Path, model: pathlib.Path) -> list[str]:
    pki = signing.make_signing_pki(tmp / "pki")
    signing.sign_with_cert(model, pki.leaf, pki.chain_paths, model / "model.sig")
    return [str(model), "--certificate-chain", str(pki.root.cert_path)]


def _single_file(tmp: pathlib.Path, model: pathlib.Path) -> list[str]:
    single = models.make_single_file(tmp / "single")
    key = signing.make_ec_key(tmp / "keys")
    signing.sign_with_key(single, key, single.with_name(single.name + ".sig"))
    return [str(single), "--key", str(key.public_path)]


def _policy_two_of_two(tmp: pathlib.Path, model: pathlib.Path) -> list[str]:
    a, b = signing.make_ec_key(tmp / "keys", "a"), signing.make_ec_key(tmp / "keys", "b")
    signing.sign_with_key(model, a, model / "model.sig")
    pol = policy_file(tmp / "p.yaml", [key_authority("a", a), key_authority("b", b)], count=2)
    return [str(model), "--policy", pol]


def _policy_one_of_two(tmp: pathlib.Path, model: pathlib.Path) -> list[str]:
    a, b = signing.make_ec_key(tmp / "keys", "a"), signing.make_ec_key(tmp / "keys", "b")
    signing.sign_with_key(model, b, model / "model.sig")
    pol = policy_file(tmp / "p.yaml", [key_authority("a", a), key_authority("b", b)])
    return [str(model), "--policy", pol]


def _tampered(tmp: pathlib.Path, model: pathlib.Path) -> list[str]:
    args = _signed_in_place(tmp, model)
    models.flip_byte(model / "model.safetensors")
    return args


def _extra_file(tmp: pathlib.Path, model: pathlib.Path) -> list[str]:
    args = _signed_in_place(tmp, model)
    (model / "payload.pkl").write_bytes(b"not signed")
    return args


def _missing_file(tmp: pathlib.Path, model: pathlib.Path) -> list[str]:
    args = _signed_in_place(tmp, model)
    (model / "config.json").unlink()
    return args


def _wrong_key(tmp: pathlib.Path, model: pathlib.Path) -> list[str]:
    _signed_in_place(tmp, model)
    other = signing.make_ec_key(tmp / "other")
    return [str(model), "--key", str(other.public_path)]


def _wrong_root(tmp: pathlib.Path, model: pathlib.Path) -> list[str]:
    _certificate(tmp, model)
    other = signing.make_signing_pki(tmp / "other")
    return [str(model), "--certificate-chain", str(other.root.cert_path)]


def _unsigned(tmp: pathlib.Path, model: pathlib.Path) -> list[str]:
    key = signing.make_ec_key(tmp / "keys")
    return [str(model), "--key", str(key.public_path)]


def _garbage_signature(tmp: pathlib.Path, model: pathlib.Path) -> list[str]:
    args = _signed_in_place(tmp, model)
    (model / "model.sig").write_text("{not json")
    return args


@pytest.mark.parametrize(
    ("setup", "code", "says"),
    [
        (_signed_in_place, 0, "verified"),
        (_detached, 0, "verified"),
        (_ed25519, 0, "verified"),
        (_certificate, 0, "verified"),
        (_single_file, 0, "1 files"),
        (_policy_one_of_two, 0, "signed by b"),
        (_policy_two_of_two, 1, "ThresholdNotMet"),
        (_tampered, 1, "file 'model.safetensors' digest differs from the signed manifest"),
        (_extra_file, 1, "file 'payload.pkl' is not covered by the signature"),
        (_missing_file, 1, "file 'config.json' is in the signed manifest but missing"),
        (_wrong_key, 1, "UntrustedSigner"),
        (_wrong_root, 1, "does not chain to authority"),
        (_unsigned, 1, "SignatureMissing"),
        (_garbage_signature, 1, "MalformedSignature"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else None,
)
def test_verify_exit_codes_and_messages(
    setup: Setup,
    code: int,
    says: str,
    tmp_path: pathlib.Path,
    bert_model: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = models.copy_model(bert_model, tmp_path / "bert")
    args = setup(tmp_path, model)
    assert cli.main(["verify", *args]) == code
    captured = capsys.readouterr()
    assert says in (captured.out if code == 0 else captured.err)


def test_usage_and_input_errors_exit_2(
    tmp_path: pathlib.Path, bert_model: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = models.copy_model(bert_model, tmp_path / "bert")
    key = signing.make_ec_key(tmp_path / "keys")
    signing.sign_with_key(model, key, model / "model.sig")
    junk = tmp_path / "junk.pem"
    junk.write_text("junk")
    cases = [
        (["verify", str(model)], "one of the arguments"),
        (["verify", str(tmp_path / "absent"), "--key", str(key.public_path)], "no such file"),
        (["verify", str(model), "--key", str(tmp_path / "absent.pem")], "cannot be read"),
        (["verify", str(model), "--key", str(junk)], "not a PEM public key"),
        (["verify", str(model), "--key", str(junk), "--policy", str(junk)], "not allowed with"),
    ]
    for args, message in cases:
        assert cli.main(args) == 2, args
        assert message in capsys.readouterr().err, args


def test_symlinks_in_a_model_are_refused(
    tmp_path: pathlib.Path, bert_model: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = models.copy_model(bert_model, tmp_path / "bert")
    key = signing.make_ec_key(tmp_path / "keys")
    signing.sign_with_key(model, key, model / "model.sig")
    shutil.move(model / "config.json", tmp_path / "config.json")
    (model / "config.json").symlink_to(tmp_path / "config.json")
    assert cli.main(["verify", str(model), "--key", str(key.public_path)]) == 2
    assert "symbolic links are not verified" in capsys.readouterr().err


def _handed_over(signer: signing.KeyPair, count: int = 1) -> str:
    """What the webhook hands the verifier of a claim: the policy's authorities."""
    return json.dumps(
        [
            {
                "name": "ClusterModelPolicy/p",
                "require": {"count": count},
                "authorities": [key_authority("release", signer)],
            }
        ]
    )


@pytest.mark.parametrize(
    ("value", "code", "says"),
    [
        (lambda key, other: None, 2, "MODELWARD_AUTHORITIES is not set"),
        (lambda key, other: "not json", 2, "is not a JSON list of 1 to 16"),
        (lambda key, other: "[]", 2, "is not a JSON list of 1 to 16"),
        (
            lambda key, other: (
                '[{"name": "p", "authorities": [{"name": "k", "key": {"data": "x"}}]}]'
            ),
            2,
            "PEM",
        ),
        (lambda key, other: _handed_over(key, count=2), 2, "require.count is 2"),
        (lambda key, other: _handed_over(key), 0, "policy clustermodelpolicy-p, signed by release"),
        (lambda key, other: _handed_over(other), 1, "UntrustedSigner"),
    ],
)
def test_authorities_from_the_environment(
    value: Callable[[signing.KeyPair, signing.KeyPair], str | None],
    code: int,
    says: str,
    tmp_path: pathlib.Path,
    bert_model: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = models.copy_model(bert_model, tmp_path / "bert")
    key = signing.make_ec_key(tmp_path / "keys")
    signing.sign_with_key(model, key, model / "model.sig")
    handed = value(key, signing.make_ec_key(tmp_path / "other", "other"))
    if handed is not None:
        monkeypatch.setenv("MODELWARD_AUTHORITIES", handed)
    assert cli.main(["verify", str(model), "--authorities-env", "MODELWARD_AUTHORITIES"]) == code
    captured = capsys.readouterr()
    assert says in (captured.out if code == 0 else captured.err)
