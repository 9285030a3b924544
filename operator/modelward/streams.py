"""Write a byte stream to a file while hashing it, off the event loop, within a size bound."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import pathlib
from collections.abc import AsyncIterator
from typing import BinaryIO

import aiohttp

from modelward import errors
from modelward.record import metrics

# Large batches keep the thread hand-offs rare; sha256 releases the GIL on them, so several
# downloads hash on several cores at once.
BATCH_BYTES = 4 * 1024 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class Written:
    sha256: str
    size: int


def _write_and_hash(handle: BinaryIO, hasher: hashlib._Hash, data: bytes) -> None:
    hasher.update(data)
    handle.write(data)


async def to_file(
    chunks: AsyncIterator[bytes],
    path: pathlib.Path,
    *,
    max_bytes: int,
    what: str,
    ref: str | None = None,
) -> Written:
    """Consume `chunks` into `path`; raise ArtifactLimitError past `max_bytes`."""
    hasher = hashlib.sha256()
    size = 0
    pending: list[bytes] = []
    pending_size = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("xb") as handle:
        try:
            async for chunk in chunks:
                size += len(chunk)
                metrics.fetched(len(chunk))
                if size > max_bytes:
                    raise errors.ArtifactLimitError(
                        f"{what} is larger than the limit of {max_bytes} bytes", ref=ref
                    )
                pending.append(chunk)
                pending_size += len(chunk)
                if pending_size >= BATCH_BYTES:
                    await asyncio.to_thread(_write_and_hash, handle, hasher, b"".join(pending))
                    pending, pending_size = [], 0
        except aiohttp.ClientError as e:
            # A server that declares more than it sends, or drops the connection mid-body.
            raise errors.FetchError(
                f"the download of {what} broke off after {size} bytes ({type(e).__name__})",
                ref=ref,
            ) from None
        if pending:
            await asyncio.to_thread(_write_and_hash, handle, hasher, b"".join(pending))
    return Written(sha256=hasher.hexdigest(), size=size)
