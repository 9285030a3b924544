"""Verify bundles signed with a public key: ECDSA through model_signing, Ed25519 and RSA
alongside it (model_signing 1.1.1 verifies neither)."""

from __future__ import annotations

import hashlib
import pathlib

from cryptography import exceptions as crypto_exceptions
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from model_signing._signing import sign_ec_key, sign_sigstore_pb
from sigstore_models.bundle import v1 as bundle_pb

from modelward import errors
from modelward.structs import evidence
from modelward.trust import bundle


def fingerprint(pem: bytes) -> str:
    """The key hint model_signing writes into bundles: sha256 of the SPKI PEM."""
    key = serialization.load_pem_public_key(pem)
    spki = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


class _EcVerifier(sign_ec_key.Verifier):
    """model_signing's EC verifier, given a loaded key instead of a file path."""

    def __init__(self, key: ec.EllipticCurvePublicKey) -> None:
        self._public_key = key


class _PaeVerifier(sign_sigstore_pb.Verifier):
    """The same bundle format with an Ed25519 or RSA key, which model_signing 1.1.1 lacks."""

    def __init__(self, key: ed25519.Ed25519PublicKey | rsa.RSAPublicKey) -> None:
        self._public_key = key
        self._hint = hashlib.sha256(
            key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        ).hexdigest()

    def _verify_bundle(self, bundle_: bundle_pb.Bundle) -> tuple[str, bytes]:
        material = bundle_.verification_material.public_key
        if material is not None and material.hint and material.hint != self._hint:
            raise ValueError("Key mismatch: the bundle names another public key")
        envelope = bundle_.dsse_envelope
        if envelope is None:
            raise ValueError("the bundle holds no DSSE envelope")
        if len(envelope.signatures) != 1:
            raise ValueError("expected exactly one DSSE signature")
        signed = sign_sigstore_pb.pae(envelope.payload)
        if isinstance(self._public_key, rsa.RSAPublicKey):
            # PKCS#1 v1.5 over SHA-256: how cosign and Sigstore sign with RSA keys.
            self._public_key.verify(
                envelope.signatures[0].sig, signed, padding.PKCS1v15(), hashes.SHA256()
            )
        else:
            self._public_key.verify(envelope.signatures[0].sig, signed)
        return str(envelope.payload_type), bytes(envelope.payload)


def make_verifier(pem: bytes, authority: str) -> sign_sigstore_pb.Verifier:
    """model_signing's bundle verifier for an authority's public key."""
    key = serialization.load_pem_public_key(pem)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return _EcVerifier(key)
    if isinstance(key, ed25519.Ed25519PublicKey | rsa.RSAPublicKey):
        return _PaeVerifier(key)
    raise errors.PolicyError(f"authority {authority!r}: unsupported key type", reason="InvalidKey")


def verify(
    path: pathlib.Path, *, authority: str, pem: bytes, ref: str | None = None
) -> evidence.SignedManifest:
    """Verify the bundle at `path` with the authority's public key; return what it signs."""
    verifier = make_verifier(pem, authority)
    signature = bundle.read(path, ref=ref)
    try:
        manifest = verifier.verify(signature)
    except crypto_exceptions.InvalidSignature:
        raise errors.SignerMismatch(
            f"the signature does not verify with the key of authority {authority!r}",
            ref=ref,
        ) from None
    except (ValueError, KeyError, IndexError, TypeError) as e:
        if str(e).startswith("Key mismatch"):
            raise errors.SignerMismatch(
                f"the signature was made with a key that authority {authority!r} does not hold",
                ref=ref,
            ) from None
        raise errors.VerificationFailed(
            f"the signature cannot be verified with authority {authority!r} ({e})",
            reason="MalformedSignature",
            ref=ref,
        ) from None
    return bundle.to_signed_manifest(manifest, f"key sha256:{fingerprint(pem)[:16]}")
