"""Verify bundles whose signing certificate chains to an authority's CA (model_signing)."""

from __future__ import annotations

import pathlib

from cryptography import exceptions as crypto_exceptions
from cryptography import x509
from model_signing._signing import sign_certificate
from OpenSSL import crypto

from modelward import errors
from modelward.structs import evidence
from modelward.trust import bundle


class _ChainVerifier(sign_certificate.Verifier):
    """model_signing's certificate verifier, given CA certificates instead of file paths."""

    def __init__(self, cas: list[x509.Certificate]) -> None:
        self._log_fingerprints = False
        self._store = crypto.X509Store()
        for ca in cas:
            self._store.add_cert(crypto.X509.from_cryptography(ca))


def make_verifier(pem: bytes) -> sign_certificate.Verifier:
    """model_signing's bundle verifier for an authority's CA certificates."""
    return _ChainVerifier(x509.load_pem_x509_certificates(pem))


def _leaf_subject(signature: object) -> str:
    try:
        chain = signature.bundle.verification_material.x509_certificate_chain  # type: ignore[attr-defined]
        leaf = x509.load_der_x509_certificate(chain.certificates[0].raw_bytes)
    except (AttributeError, IndexError, ValueError):
        return "an unreadable certificate"
    return leaf.subject.rfc4514_string()


def verify(
    path: pathlib.Path, *, authority: str, pem: bytes, ref: str | None = None
) -> evidence.SignedManifest:
    """Verify the bundle at `path` against the authority's CA chain; return what it signs."""
    verifier = _ChainVerifier(x509.load_pem_x509_certificates(pem))
    signature = bundle.read(path, ref=ref)
    subject = _leaf_subject(signature)
    try:
        manifest = verifier.verify(signature)
    except crypto.X509StoreContextError as e:
        raise errors.SignerMismatch(
            f"signing certificate {subject} does not chain to authority {authority!r} "
            f"at its signing time ({e})",
            ref=ref,
        ) from None
    except crypto_exceptions.InvalidSignature:
        raise errors.SignerMismatch(
            f"the signature does not verify with certificate {subject}", ref=ref
        ) from None
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, crypto.Error) as e:
        raise errors.VerificationFailed(
            f"the signature cannot be verified with authority {authority!r} ({e})",
            reason="MalformedSignature",
            ref=ref,
        ) from None
    return bundle.to_signed_manifest(manifest, f"certificate {subject}")
