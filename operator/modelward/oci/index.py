"""Choose the model's manifest in an image index."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelward import errors
from modelward.oci import media

_ATTESTATION = "vnd.docker.reference.type"


def choose(index: Mapping[str, Any], uri: str) -> str:
    """The digest of the one manifest in the index that a node can run.

    Build attestations and nested indexes are never run. An index offering several manifests
    (one per platform, say) is refused: each node pulls the one for its own platform, so
    verifying one of them would admit the others unverified.
    """
    entries = [
        m
        for m in index.get("manifests") or []
        if isinstance(m, Mapping)
        and isinstance(m.get("digest"), str)
        and _ATTESTATION not in (m.get("annotations") or {})
        and m.get("mediaType") not in media.INDEX_TYPES
    ]
    if len(entries) == 1:
        return str(entries[0]["digest"])
    if not entries:
        raise errors.ResolveError(
            "the image index lists no manifests", reason="EmptyIndex", ref=uri
        )
    raise errors.ResolveError(
        f"the image index lists {len(entries)} manifests ({', '.join(map(_describe, entries))}) "
        "and a node pulls the one for its platform",
        reason="AmbiguousIndex",
        ref=uri,
        hint="Reference the manifest to run by its digest",
    )


def _describe(entry: Mapping[str, Any]) -> str:
    platform = entry.get("platform")
    if isinstance(platform, Mapping):
        return f"{platform.get('os')}/{platform.get('architecture')}"
    return str(entry.get("artifactType") or "no platform")
