"""Read a model-signing bundle and turn a verified payload into a SignedManifest."""

from __future__ import annotations

import json
import pathlib

from model_signing import manifest as ms_manifest
from model_signing._signing import sign_sigstore_pb

from modelward import errors
from modelward.structs import evidence

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"


def read(path: pathlib.Path, *, ref: str | None = None) -> sign_sigstore_pb.Signature:
    """Parse a bundle file; a malformed one is a VerificationFailed naming the problem."""
    try:
        return sign_sigstore_pb.Signature.read(path)
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as e:
        detail = e.msg if isinstance(e, json.JSONDecodeError) else f"{type(e).__name__}: {e}"
        raise errors.VerificationFailed(
            f"the signature is not a valid Sigstore bundle ({detail})",
            reason="MalformedSignature",
            ref=ref,
            hint="Re-sign the model with `model_signing sign` and publish the new signature",
        ) from None


def to_signed_manifest(manifest: ms_manifest.Manifest, signer: str) -> evidence.SignedManifest:
    """Flatten model_signing's manifest into the digests the pipeline compares."""
    params = manifest.serialization_type
    files = {rd.identifier: rd.digest.digest_hex for rd in manifest.resource_descriptors()}
    return evidence.SignedManifest(
        files=files,
        hash_type=str(params.get("hash_type", "sha256")),
        method=str(params.get("method", "files")),
        ignore_paths=tuple(str(p) for p in params.get("ignore_paths", ())),
        signer=signer,
    )
