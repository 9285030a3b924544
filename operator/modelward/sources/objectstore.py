"""What the object-store sources (`s3://`, `gs://`) share: one object or a prefix directory,
downloaded with hashing, bounded by the settings' limits, with a detached signature.

One object is identified like an `https://` download, by the sha256 of its bytes (an archive is
unpacked safely afterwards). A prefix is a model directory, identified by the sha256 of its
sorted `path NUL sha256 LF` lines; `model.sig` at its top is its signature, never a model file.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import pathlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence

from modelward import errors, streams
from modelward.sources import archives, base, paths
from modelward.structs import refs

SIGNATURE_SUFFIX = ".sig"
DIRECTORY_SIGNATURE = "model.sig"
PARALLEL_DOWNLOADS = 4

# Streams the object `locator` names into `dest` within `max_bytes`; returns what was written.
Download = Callable[[str, pathlib.Path, int], Awaitable[streams.Written]]
# Reads every signature published for the artifact (possibly none).
Signatures = Callable[[], Awaitable[list[base.Signature]]]


@dataclasses.dataclass(frozen=True, slots=True)
class Listed:
    """One object under a prefix: its path inside the model, size and what fetches it."""

    path: str
    size: int
    locator: str


def directory_digest(files: Mapping[str, str]) -> str:
    """The identity of a model directory: sha256 over its sorted (path, sha256) pairs."""
    hasher = hashlib.sha256()
    for path in sorted(files):
        hasher.update(f"{path}\0{files[path]}\n".encode())
    return f"sha256:{hasher.hexdigest()}"


def relative(name: str, prefix: str, ref: str) -> str | None:
    """The path of object `name` inside the directory `prefix`; None for folder markers."""
    rest = name[len(prefix) :] if name.startswith(prefix) else None
    if rest is None or rest == "" or rest.endswith("/"):
        return None
    path = str(paths.safe_relative(rest, ref=ref))
    if path != rest:
        # `a/./b` would land on `a/b`: two objects, one file.
        raise errors.FetchError(
            f"object name {name!r} is not a plain path", reason="UnsafePath", ref=ref
        )
    return path


def check_listing(listed: Sequence[Listed], *, ctx: base.FetchContext, ref: str) -> None:
    """Refuse directories over the settings' file and size limits before downloading."""
    limits = ctx.settings.limits
    if len(listed) > limits.max_files:
        raise errors.ArtifactLimitError(
            f"the model directory has more than {limits.max_files} files", ref=ref
        )
    total = sum(item.size for item in listed)
    if total > limits.max_artifact_bytes:
        raise errors.ArtifactLimitError(
            f"the model directory has {total} bytes, over the limit of {limits.max_artifact_bytes}",
            ref=ref,
        )


async def download_directory(
    listed: Sequence[Listed], download: Download, *, root: pathlib.Path, ref: str
) -> dict[str, str]:
    """Download each listed object under `root`; map its path to the sha256 of its bytes."""
    semaphore = asyncio.Semaphore(PARALLEL_DOWNLOADS)

    async def one(item: Listed) -> tuple[str, str]:
        async with semaphore:
            written = await download(item.locator, root / item.path, item.size)
        if written.size != item.size:
            raise errors.FetchError(
                f"{item.path} has {written.size} bytes, the listing said {item.size}; "
                "it changed while being read",
                reason="SourceChanged",
                ref=ref,
                hint="Retry once the upload is complete",
            )
        return item.path, written.sha256

    return dict(await asyncio.gather(*(one(item) for item in listed)))


async def directory(
    ref: refs.ModelRef,
    ctx: base.FetchContext,
    *,
    listed: Sequence[Listed],
    where: str,
    download: Download,
    signatures: Callable[[str], Awaitable[list[base.Signature]]],
) -> ObjectArtifact:
    """The model directory at `where` (a prefix), downloaded: every listed object but the
    signature, hashed into one digest; `signatures` reads the bundle for the pinned URI."""
    model = [item for item in listed if item.path != DIRECTORY_SIGNATURE]
    if not model:
        raise not_found(ref.uri, f"no object or model directory at {where}")
    check_listing(model, ctx=ctx, ref=ref.uri)
    files = await download_directory(model, download, root=ctx.model_dir, ref=ref.uri)
    pinned = refs.PinnedRef(ref=ref, digest=directory_digest(files), pinned_uri=where, mutable=True)
    return ObjectArtifact(
        pinned=pinned, ctx=ctx, files=files, signatures=lambda: signatures(pinned.pinned_uri)
    )


async def read_limited(chunks: AsyncIterator[bytes], *, limit: int, what: str, ref: str) -> bytes:
    """A small body (signature, listing page) read whole, refused past `limit` bytes."""
    data = bytearray()
    async for chunk in chunks:
        data += chunk
        if len(data) > limit:
            raise errors.ArtifactLimitError(f"{what} is larger than {limit} bytes", ref=ref)
    return bytes(data)


class ObjectArtifact:
    """A downloaded object or directory; signatures are read on demand."""

    def __init__(
        self,
        *,
        pinned: refs.PinnedRef,
        ctx: base.FetchContext,
        signatures: Signatures,
        files: Mapping[str, str] | None = None,
        download: pathlib.Path | None = None,
        name: str = "",
    ) -> None:
        self._pinned = pinned
        self._ctx = ctx
        self._signatures = signatures
        self._files = files
        self._download = download
        self._name = name

    @property
    def pinned(self) -> refs.PinnedRef:
        return self._pinned

    async def signatures(self) -> list[base.Signature]:
        return await self._signatures()

    async def files(self) -> Mapping[str, str]:
        if self._files is not None:
            return self._files
        if self._download is None:
            raise errors.FetchError("nothing was downloaded", ref=self._pinned.pinned_uri)
        if archives.is_archive(self._name):
            self._files = await asyncio.to_thread(
                archives.unpack,
                self._download,
                self._ctx.model_dir,
                limits=self._ctx.settings.limits,
                ref=self._pinned.pinned_uri,
            )
            return self._files
        # A hard link: the file is in model_dir for scanning without a copy.
        target = self._ctx.model_dir / self._name
        target.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(os.link, self._download, target)
        self._files = {self._name: self._pinned.digest.removeprefix("sha256:")}
        return self._files


def access_denied(scheme: str, uri: str, status: int, code: str) -> errors.FetchError:
    """A refusal by the store; names neither key nor Secret value, only what to configure."""
    detail = f" ({code})" if code else ""
    return errors.FetchError(
        f"{uri} was refused with HTTP {status}{detail}: modelward has no credentials that may "
        "read it",
        reason="AccessDenied",
        ref=uri,
        hint=(
            f"Name a Secret with read access in spec.sources.credentials (scheme {scheme}) of a "
            "policy that governs this workload"
        ),
    )


def not_found(uri: str, what: str) -> errors.FetchError:
    return errors.FetchError(
        f"{what} does not exist",
        reason="NotFound",
        ref=uri,
        hint="Check the bucket, the path and the version",
    )


def refused(uri: str, what: str, status: int, code: str = "") -> errors.FetchError:
    """Any other answer: an outage (5xx, 429) is `SourceUnavailable`, the rest `SourceError`."""
    outage = status >= 500 or status == 429
    return errors.FetchError(
        f"{what} could not be read: the store answered HTTP {status}"
        + (f" ({code})" if code else ""),
        reason="SourceUnavailable" if outage else "SourceError",
        ref=uri,
    )


def unavailable(uri: str, error: BaseException) -> errors.FetchError:
    return errors.FetchError(
        f"{uri} cannot be fetched ({type(error).__name__})", reason="SourceUnavailable", ref=uri
    )
