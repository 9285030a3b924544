"""Signed in-toto Statements of any predicate type: a DSSE envelope inside a Sigstore bundle,
verified with a key, certificate or keyless authority through model_signing's and
sigstore-python's verifiers, then bound to one model by its subjects."""

from __future__ import annotations

import base64
import binascii
import json
import pathlib
from collections.abc import Mapping
from typing import Any

from cryptography import exceptions as crypto_exceptions
from OpenSSL import crypto

from modelward import errors
from modelward.structs import policy
from modelward.trust import bundle, certificates, keyless, keys

PAYLOAD_TYPE = "application/vnd.in-toto+json"
# A provenance or training-data statement is kilobytes; anything far larger is hostile.
MAX_PAYLOAD_BYTES = 1024 * 1024
MAX_SUBJECTS = 100_000


def envelope(path: pathlib.Path, authority: policy.Authority, what: str) -> tuple[str, bytes]:
    """The DSSE payload type and payload of the bundle at `path` once the authority's
    signature on it verifies; SignerMismatch when it does not."""
    if authority.type is policy.AuthorityType.KEYLESS:
        return keyless.envelope(path, authority, what)
    signature = bundle.read(path)
    verifier = (
        keys.make_verifier(authority.pem, authority.name)
        if authority.type is policy.AuthorityType.KEY
        else certificates.make_verifier(authority.pem)
    )
    try:
        return verifier._verify_signed_content(signature)
    except crypto_exceptions.InvalidSignature:
        raise errors.SignerMismatch(
            f"{what} does not verify with authority {authority.name!r}"
        ) from None
    except (
        ValueError,
        KeyError,
        IndexError,
        TypeError,
        AttributeError,
        crypto.X509StoreContextError,
        crypto.Error,
    ) as e:
        raise errors.SignerMismatch(
            f"{what} was not made by authority {authority.name!r} ({e})"
        ) from None


def statement(path: pathlib.Path, authority: policy.Authority, what: str) -> dict[str, Any]:
    """The in-toto Statement in the bundle at `path`, signed by `authority`."""
    payload_type, payload = envelope(path, authority, what)
    if payload_type != PAYLOAD_TYPE:
        raise invalid(f"{what}: payload type {payload_type!r} is not an in-toto statement")
    return parse_payload(payload, what)


def parse_payload(payload: bytes, what: str) -> dict[str, Any]:
    """A DSSE payload (raw or base64 JSON) as a Statement object, bounded in size."""
    if len(payload) > MAX_PAYLOAD_BYTES * 4 // 3 + 4:
        raise invalid(f"{what}: the statement is larger than {MAX_PAYLOAD_BYTES} bytes")
    try:
        raw = payload if payload.lstrip().startswith(b"{") else base64.b64decode(payload)
        if len(raw) > MAX_PAYLOAD_BYTES:
            raise invalid(f"{what}: the statement is larger than {MAX_PAYLOAD_BYTES} bytes")
        stmt = json.loads(raw)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise invalid(f"{what}: the statement is not JSON") from None
    if not isinstance(stmt, dict):
        raise invalid(f"{what}: the statement is not a JSON object")
    return stmt


def unverified_type(path: pathlib.Path) -> str | None:
    """The predicate type a bundle claims, read without verifying it: only to tell a user
    that an attestation exists but is not signed by whom the policy trusts."""
    try:
        with path.open("rb") as f:
            raw = json.loads(f.read(MAX_PAYLOAD_BYTES * 2))
        payload = base64.b64decode(raw["dsseEnvelope"]["payload"])
        kind = json.loads(payload[:MAX_PAYLOAD_BYTES]).get("predicateType")
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, OSError):
        return None
    return kind if isinstance(kind, str) else None


def invalid(message: str, reason: str = "InvalidAttestation") -> errors.VerificationFailed:
    return errors.VerificationFailed(message, reason=reason)


def check_subject(subjects: Any, digest: str, files: Mapping[str, str], what: str) -> None:
    """Pass when a subject carries the model's digest, or the named subjects are exactly the
    model's files with their sha256 digests; AttestationDigestMismatch otherwise."""
    if not isinstance(subjects, list) or not subjects:
        raise invalid(f"{what}: the statement has no subject")
    if len(subjects) > MAX_SUBJECTS:
        raise invalid(f"{what}: the statement has more than {MAX_SUBJECTS} subjects")
    named: dict[str, str] = {}
    for s in subjects:
        d = s.get("digest") if isinstance(s, dict) else None
        if not isinstance(d, dict):
            raise invalid(f"{what}: a subject has no digest")
        for algorithm, value in d.items():
            if f"{algorithm}:{value}" == digest:
                return
        if isinstance(s.get("name"), str) and isinstance(d.get("sha256"), str):
            named[s["name"]] = d["sha256"]
    if files and named == dict(files):
        return
    raise errors.VerificationFailed(
        f"{what} is about another model (neither {digest} nor these files)",
        reason="AttestationDigestMismatch",
    )
