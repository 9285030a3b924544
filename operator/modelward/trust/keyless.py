"""Verify keyless (Fulcio certificate) Sigstore bundles offline against a trusted root.

sigstore-python's Verifier does all of the bundle checks: chain to the root's CAs at the
signing time, embedded SCT against the CT log keys, inclusion proof, signed checkpoint and
inclusion promise against the log keys, the signing time within the certificate's validity,
the DSSE signature. modelward adds the identity policy: issuer, subject and Fulcio claims.
"""

from __future__ import annotations

import functools
import hashlib
import pathlib
import re

from cryptography import x509
from model_signing._signing import sign_sigstore
from sigstore import errors as sigstore_errors
from sigstore.verify import policy as sigstore_policy
from sigstore.verify import verifier as sigstore_verifier

from modelward import errors
from modelward.structs import evidence, policy
from modelward.trust import bundle, claims, roots


class IdentityMismatch(sigstore_errors.VerificationError):
    """The certificate is valid but names another signer than the policy allows."""


class IdentityPolicy:
    """A sigstore VerificationPolicy for one `policy.Identity`."""

    def __init__(self, identity: policy.Identity) -> None:
        self.identity = identity
        self._claims = [claims.policy_for(name, value) for name, value in identity.extensions]

    def verify(self, cert: x509.Certificate) -> None:
        issuer = claims.issuer(cert)
        _expect("issuer", issuer, self.identity.issuer, self.identity.issuer_regexp)
        subjects = claims.subjects(cert)
        if not any(
            _matches(s, self.identity.subject, self.identity.subject_regexp) for s in subjects
        ):
            wanted = self.identity.subject or f"/{self.identity.subject_regexp}/"
            raise IdentityMismatch(
                f"certificate subject {', '.join(sorted(subjects)) or '(none)'} is not {wanted}"
            )
        for name, check in self._claims:
            try:
                check.verify(cert)
            except sigstore_errors.VerificationError as e:
                raise IdentityMismatch(f"claim {name}: {e}") from None


def _matches(value: str | None, exact: str, regexp: str) -> bool:
    if value is None:
        return False
    if exact:
        return value == exact
    return re.fullmatch(regexp, value) is not None


def _expect(what: str, value: str | None, exact: str, regexp: str) -> None:
    if not _matches(value, exact, regexp):
        wanted = exact or f"/{regexp}/"
        raise IdentityMismatch(f"certificate {what} {value or '(none)'} is not {wanted}")


class _Verifier(sign_sigstore.Verifier):
    """model_signing's Sigstore verifier with a given trusted root and identity policy."""

    def __init__(
        self, verifier: sigstore_verifier.Verifier, identity: sigstore_policy.VerificationPolicy
    ) -> None:
        self._verifier = verifier
        # model_signing annotates this as sigstore's Identity; verify_dsse takes any policy.
        self._policy = identity  # type: ignore[assignment]


@functools.lru_cache(maxsize=32)
def _sigstore_verifier(_digest: str, raw: bytes) -> sigstore_verifier.Verifier:
    return sigstore_verifier.Verifier(trusted_root=roots.load(raw, where="trust root"))


def _timestamped(checker: sigstore_verifier.Verifier, signature: sign_sigstore.Signature) -> bool:
    # sigstore-python counts the log's integrated time and signed timestamps alike; this asks
    # for the signed timestamps alone, through the same check its Verifier runs.
    return bool(checker._verify_timestamp_authority(signature.bundle))


def _signer(signature: sign_sigstore.Signature) -> str:
    cert = signature.bundle.signing_certificate
    subjects = sorted(claims.subjects(cert))
    return f"keyless {subjects[0] if subjects else '(no subject)'} ({claims.issuer(cert)})"


def envelope(path: pathlib.Path, authority: policy.Authority, what: str) -> tuple[str, bytes]:
    """The DSSE payload type and payload of a keyless bundle (an attestation) once its
    certificate, log entry and signature verify and the identity matches."""
    identity = authority.identity
    if identity is None:
        raise errors.PolicyError(
            f"authority {authority.name!r} is keyless but names no identity", reason="InvalidSpec"
        )
    try:
        signature = sign_sigstore.Signature.read(path)
    except (sigstore_errors.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise errors.SignerMismatch(f"{what} is not a keyless Sigstore bundle ({e})") from None
    checker = _sigstore_verifier(hashlib.sha256(authority.pem).hexdigest(), authority.pem)
    try:
        return _Verifier(checker, IdentityPolicy(identity))._verify_signed_content(signature)
    except (sigstore_errors.VerificationError, ValueError, KeyError, TypeError) as e:
        raise errors.SignerMismatch(
            f"{what} was not made by keyless authority {authority.name!r} ({e})"
        ) from None


def verify(
    path: pathlib.Path, authority: policy.Authority, *, ref: str | None = None
) -> evidence.SignedManifest:
    """Verify a keyless bundle against the authority's identity and trusted root, offline."""
    identity = authority.identity
    if identity is None:
        raise errors.PolicyError(
            f"authority {authority.name!r} is keyless but names no identity",
            reason="InvalidSpec",
        )
    root = identity.trust_root or roots.PUBLIC_GOOD_NAME
    try:
        signature = sign_sigstore.Signature.read(path)
    except (sigstore_errors.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise errors.VerificationFailed(
            f"the signature is not a keyless Sigstore bundle ({e})",
            reason="MalformedSignature",
            ref=ref,
            hint="Sign with `model_signing sign sigstore` and publish the bundle it writes",
        ) from None
    checker = _sigstore_verifier(hashlib.sha256(authority.pem).hexdigest(), authority.pem)
    verifier = _Verifier(checker, IdentityPolicy(identity))
    try:
        manifest = verifier.verify(signature)
        if identity.require_signed_timestamp and not _timestamped(checker, signature):
            raise errors.VerificationFailed(
                f"keyless authority {authority.name!r} requires a signed timestamp from a "
                f"timestamp authority of trust root {root!r}, and the bundle has none that "
                "verifies",
                reason="SignedTimestampMissing",
                ref=ref,
                hint="Sign with a timestamp authority (model_signing/sigstore with a TSA)",
            )
    except IdentityMismatch as e:
        raise errors.SignerMismatch(f"keyless authority {authority.name!r}: {e}", ref=ref) from None
    except sigstore_errors.CertValidationError as e:
        raise errors.SignerMismatch(
            f"keyless authority {authority.name!r}: the signing certificate does not chain to "
            f"trust root {root!r} at the signing time ({e})",
            ref=ref,
        ) from None
    except sigstore_errors.VerificationError as e:
        raise errors.VerificationFailed(
            f"keyless authority {authority.name!r}: the bundle does not verify against trust "
            f"root {root!r} ({e})",
            reason="UntrustedBundle",
            ref=ref,
        ) from None
    except (ValueError, KeyError, TypeError) as e:
        raise errors.VerificationFailed(
            f"keyless authority {authority.name!r}: the signed payload is malformed ({e})",
            reason="MalformedSignature",
            ref=ref,
        ) from None
    return bundle.to_signed_manifest(manifest, _signer(signature))
