"""Write a byte stream to a file while hashing it, off the event loop, within a size bound.

Without a file, the stream is only hashed: for bytes that nothing reads after their digest
is known (no scanner), writing them would cost a second pass through the page cache."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import pathlib
from collections.abc import AsyncIterator, Sequence
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


def _write_and_hash(
    handle: BinaryIO | None, hasher: hashlib._Hash, chunks: Sequence[bytes]
) -> None:
    # Chunk by chunk: joining them first would copy every byte once more.
    for chunk in chunks:
        hasher.update(chunk)
        if handle is not None:
            handle.write(chunk)


async def body(content: aiohttp.StreamReader) -> AsyncIterator[bytes]:
    """A response body as the chunks that arrived: unlike `iter_chunked(n)`, which joins
    buffered chunks into pieces of `n` bytes, it copies nothing."""
    async for chunk, _ in content.iter_chunks():
        if chunk:
            yield chunk


async def to_file(
    chunks: AsyncIterator[bytes],
    path: pathlib.Path | None,
    *,
    max_bytes: int,
    what: str,
    ref: str | None = None,
) -> Written:
    """Consume `chunks` into `path` (None: hash only); raise ArtifactLimitError past
    `max_bytes`.

    Each batch is hashed and written in a thread while the next one is received, so the
    download and the hashing overlap: one pass over the bytes, at the pace of the slower.
    """
    hasher = hashlib.sha256()
    size = 0
    pending: list[bytes] = []
    pending_size = 0
    # At most one batch in the thread and one being received: memory stays bounded.
    in_flight: asyncio.Future[None] | None = None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("xb") if path is not None else contextlib.nullcontext() as handle:

        def hand_off(batch: list[bytes]) -> asyncio.Future[None]:
            return asyncio.ensure_future(asyncio.to_thread(_write_and_hash, handle, hasher, batch))

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
                    if in_flight is not None:
                        await asyncio.shield(in_flight)
                    in_flight = hand_off(pending)
                    pending, pending_size = [], 0
            if in_flight is not None:
                await asyncio.shield(in_flight)
            if pending:
                in_flight = hand_off(pending)
                await asyncio.shield(in_flight)
        except aiohttp.ClientError as e:
            # A server that declares more than it sends, or drops the connection mid-body.
            raise errors.FetchError(
                f"the download of {what} broke off after {size} bytes ({type(e).__name__})",
                ref=ref,
            ) from None
        finally:
            # The file closes below, and a cancelled caller's work directory is removed: a
            # batch still being written must finish first (shielded above for this).
            if in_flight is not None:
                await asyncio.wait([in_flight])
                if not in_flight.cancelled():
                    in_flight.exception()
    return Written(sha256=hasher.hexdigest(), size=size)
