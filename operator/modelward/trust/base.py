"""One entry point for all trust technologies: verify a bundle against one authority."""

from __future__ import annotations

import pathlib

from modelward.structs import evidence, policy
from modelward.trust import certificates, keyless, keys


def verify(
    path: pathlib.Path, authority: policy.Authority, *, ref: str | None = None
) -> evidence.SignedManifest:
    """Verify the bundle file against the authority; raise a VerificationFailed on failure."""
    if authority.type is policy.AuthorityType.KEYLESS:
        return keyless.verify(path, authority, ref=ref)
    if authority.type is policy.AuthorityType.KEY:
        return keys.verify(path, authority=authority.name, pem=authority.pem, ref=ref)
    return certificates.verify(path, authority=authority.name, pem=authority.pem, ref=ref)
