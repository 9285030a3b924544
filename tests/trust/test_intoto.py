"""Signed in-toto Statements of any predicate type: envelope, payload and subject checks."""

from __future__ import annotations

import base64
import json
import pathlib
from typing import Any

import pytest

from modelward import errors
from modelward.structs import policy
from modelward.trust import intoto
from tests.fixtures import signing

DIGEST = "sha256:" + "ab" * 32
FILES = {"a.bin": "11" * 32, "b.json": "22" * 32}


def _key(key: signing.KeyPair) -> policy.Authority:
    return policy.Authority("ci", policy.AuthorityType.KEY, key.public_pem)


def test_statement_of_any_predicate_type(tmp_path: pathlib.Path) -> None:
    key = signing.make_ec_key(tmp_path, "ci")
    stmt = signing.in_toto_statement("https://x.test/v1", {"k": ["v"]}, digest=DIGEST)
    path = signing.sign_statement(stmt, key, tmp_path / "att.json")
    got = intoto.statement(path, _key(key), "the attestation")
    assert got["predicateType"] == "https://x.test/v1"
    assert got["predicate"] == {"k": ["v"]}
    assert intoto.unverified_type(path) == "https://x.test/v1"
    other = signing.make_ec_key(tmp_path, "other")
    with pytest.raises(errors.SignerMismatch, match="authority 'ci'"):
        intoto.statement(path, _key(other), "the attestation")


def test_forged_payload_is_refused(tmp_path: pathlib.Path) -> None:
    key = signing.make_ec_key(tmp_path, "ci")
    stmt = signing.in_toto_statement("https://x.test/v1", {"ok": True}, digest=DIGEST)
    path = signing.sign_statement(stmt, key, tmp_path / "att.json")

    def edit(statement: dict[str, Any]) -> None:
        statement["predicate"]["ok"] = False

    forged = signing.edit_payload(path, tmp_path / "forged.json", edit)
    with pytest.raises(errors.SignerMismatch):
        intoto.statement(forged, _key(key), "the attestation")


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (base64.b64encode(b"[1, 2]"), "not a JSON object"),
        (b"{nope", "not JSON"),
        (base64.b64encode(b"not json"), "not JSON"),
        (b"{" + b" " * intoto.MAX_PAYLOAD_BYTES * 2 + b"}", "larger than"),
    ],
)
def test_bad_payloads(payload: bytes, problem: str) -> None:
    with pytest.raises(errors.VerificationFailed, match=problem):
        intoto.parse_payload(payload, "the attestation")


@pytest.mark.parametrize(
    ("subjects", "digest", "reason"),
    [
        ([{"name": "m", "digest": {"sha256": "ab" * 32}}], DIGEST, None),
        (
            [{"name": p, "digest": {"sha256": d}} for p, d in FILES.items()],
            "sha256:" + "0" * 64,
            None,
        ),
        (
            [{"name": "a.bin", "digest": {"sha256": "11" * 32}}],
            "sha256:" + "0" * 64,
            "AttestationDigestMismatch",
        ),
        ([{"name": "m", "digest": {"sha256": "cd" * 32}}], DIGEST, "AttestationDigestMismatch"),
        ([], DIGEST, "InvalidAttestation"),
        ([{"name": "m"}], DIGEST, "InvalidAttestation"),
        ("m", DIGEST, "InvalidAttestation"),
    ],
)
def test_check_subject(subjects: Any, digest: str, reason: str | None) -> None:
    if reason is None:
        intoto.check_subject(subjects, digest, FILES, "the attestation")
        return
    with pytest.raises(errors.VerificationFailed) as e:
        intoto.check_subject(subjects, digest, FILES, "the attestation")
    assert e.value.reason == reason


@pytest.mark.parametrize("content", [b"", b"{}", b'{"dsseEnvelope": {"payload": "!!"}}', b"\xff"])
def test_unverified_type_of_junk_is_none(tmp_path: pathlib.Path, content: bytes) -> None:
    path = tmp_path / "junk.json"
    path.write_bytes(content)
    assert intoto.unverified_type(path) is None


def test_unverified_type_ignores_non_strings(tmp_path: pathlib.Path) -> None:
    payload = base64.b64encode(json.dumps({"predicateType": 3}).encode()).decode()
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"dsseEnvelope": {"payload": payload}}))
    assert intoto.unverified_type(path) is None
