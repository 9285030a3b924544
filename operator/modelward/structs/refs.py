"""Model references as found in objects, and as pinned to immutable digests."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, slots=True)
class StorageKey:
    """KServe's `storage: {key, path, parameters}` form: a key of the namespace's
    `storage-config` Secret and a path within the location that key describes."""

    key: str
    path: str
    parameters: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class ModelRef:
    """One model reference found in an object.

    `uri` is normalised (`oci://host/repo:tag`, `https://...`); `field_path` says where it was
    found (`spec.predictor.model.storageUri`), so that a denial can point at the line to fix.
    `storage` is set for KServe's storage-key form until it is resolved to a URI; `problem`
    says why a reference cannot be resolved, when that is known before any source is asked.
    """

    uri: str
    field_path: str
    storage: StorageKey | None = None
    problem: str = ""

    @property
    def scheme(self) -> str:
        head, sep, _ = self.uri.partition("://")
        return head.lower() if sep else ""


@dataclasses.dataclass(frozen=True, slots=True)
class PinnedRef:
    """A reference resolved to an immutable identity (`sha256:<hex>`).

    `mutable` is true when the reference as written could name other bytes tomorrow (an OCI
    tag, a branch, a plain URL); `pinned_uri` then names what was verified.
    """

    ref: ModelRef
    digest: str
    pinned_uri: str
    mutable: bool = True
