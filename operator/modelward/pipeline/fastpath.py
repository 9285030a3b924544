"""The digest-bound fast path: judge a model by the digests its runtime will enforce.

When a model is fetched by digest (written so, or pinned by the mutating webhook), every file
stored as one blob (ORAS files, ModelPack raw layers) is pulled by a runtime that refuses any
bytes whose sha256 differs from the manifest's layer digest. Comparing the signed per-file
digests with those layer digests then decides as surely as a download would, at a cost
independent of the model's size; only archives (tar layers) are still read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from modelward.sources import base
from modelward.structs import policy, refs


def content_needed(policies: Sequence[policy.Policy]) -> bool:
    """Whether any policy must see the model's bytes (a scanner): no fast path then."""
    return any(p.needs_content for p in policies)


def digest_bound(pinned: refs.PinnedRef, *, will_pin: bool) -> bool:
    """Whether what runs is fetched by the digest that was resolved: written by digest, or
    a tag the mutating webhook rewrites to that digest."""
    return not pinned.mutable or will_pin


async def files(
    artifact: base.Artifact, policies: Sequence[policy.Policy], *, will_pin: bool
) -> tuple[Mapping[str, str], bool]:
    """The model's files, and whether blobs stored as is were judged by their digests
    instead of being downloaded (the fast path)."""
    if content_needed(policies):
        return await artifact.files(), False
    if digest_bound(artifact.pinned, will_pin=will_pin) and isinstance(artifact, base.DigestBound):
        return await artifact.bound_files(), True
    # Downloaded, but only to be hashed: nothing reads the bytes once their digests are known.
    if isinstance(artifact, base.HashOnly):
        return await artifact.hashed_files(), False
    return await artifact.files(), False
