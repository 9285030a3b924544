"""Streaming a download into a file: one pass that hashes and writes, overlapped with receiving."""

from __future__ import annotations

import asyncio
import hashlib
import pathlib
import threading
from collections.abc import AsyncIterator, Sequence
from typing import BinaryIO

import pytest

from modelward import errors, streams

CHUNK = 256 * 1024


def payload(size: int) -> bytes:
    return (bytes(range(251)) * (size // 251 + 1))[:size]


async def chunked(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), CHUNK):
        yield data[start : start + CHUNK]


@pytest.mark.parametrize(
    "size",
    [0, 1, CHUNK, streams.BATCH_BYTES - 1, streams.BATCH_BYTES, 3 * streams.BATCH_BYTES + 5],
)
async def test_the_file_and_its_digest_match_the_stream(tmp_path: pathlib.Path, size: int) -> None:
    data = payload(size)
    target = tmp_path / "sub" / "blob"
    written = await streams.to_file(chunked(data), target, max_bytes=size, what="blob")
    assert written == streams.Written(sha256=hashlib.sha256(data).hexdigest(), size=size)
    assert target.read_bytes() == data


async def test_without_a_path_the_stream_is_hashed_and_nothing_is_written(
    tmp_path: pathlib.Path,
) -> None:
    data = payload(2 * streams.BATCH_BYTES + 7)
    written = await streams.to_file(
        chunked(data), None, max_bytes=len(data), what="blob", ref="oci://r/m:v1"
    )
    assert written.sha256 == hashlib.sha256(data).hexdigest()
    assert written.size == len(data)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", ["blob", None])
async def test_past_the_limit_is_refused(tmp_path: pathlib.Path, path: str | None) -> None:
    data = payload(streams.BATCH_BYTES + CHUNK)
    with pytest.raises(errors.ArtifactLimitError, match="larger than the limit of"):
        await streams.to_file(
            chunked(data),
            tmp_path / path if path else None,
            max_bytes=streams.BATCH_BYTES,
            what="blob",
        )


async def test_every_byte_is_hashed_exactly_once(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = payload(5 * streams.BATCH_BYTES + 3)
    hashed: list[int] = []
    real = streams._write_and_hash

    def counting(handle: BinaryIO | None, hasher: object, chunks: Sequence[bytes]) -> None:
        hashed.append(sum(len(c) for c in chunks))
        real(handle, hasher, chunks)  # type: ignore[arg-type]

    monkeypatch.setattr(streams, "_write_and_hash", counting)
    await streams.to_file(chunked(data), tmp_path / "blob", max_bytes=len(data), what="blob")
    assert sum(hashed) == len(data)
    # Batched: few thread hand-offs, none much larger than a batch.
    assert len(hashed) == 6
    assert max(hashed) < streams.BATCH_BYTES + CHUNK


async def test_the_next_batch_is_received_while_one_is_hashed(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first batch's hashing waits until the stream has moved on past it: were receiving
    and hashing in turn, this would never finish."""
    received_more = threading.Event()
    real = streams._write_and_hash
    calls: list[bool] = []

    def hash_after_more(handle: BinaryIO | None, hasher: object, chunks: Sequence[bytes]) -> None:
        calls.append(received_more.wait(timeout=5))
        real(handle, hasher, chunks)  # type: ignore[arg-type]

    async def marking(data: bytes) -> AsyncIterator[bytes]:
        async for chunk in chunked(data):
            yield chunk
        received_more.set()

    monkeypatch.setattr(streams, "_write_and_hash", hash_after_more)
    data = payload(streams.BATCH_BYTES + CHUNK)
    written = await asyncio.wait_for(
        streams.to_file(marking(data), tmp_path / "blob", max_bytes=len(data), what="blob"),
        timeout=10,
    )
    assert calls[0] is True, "the first batch was hashed before the stream went on"
    assert written.sha256 == hashlib.sha256(data).hexdigest()


async def test_a_cancelled_download_returns_once_its_batch_is_written(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller removes the work directory when cancelled: no thread may still write there."""
    started, release = threading.Event(), threading.Event()
    finished: list[bool] = []
    real = streams._write_and_hash

    def slow(handle: BinaryIO | None, hasher: object, chunks: Sequence[bytes]) -> None:
        started.set()
        release.wait(timeout=5)
        real(handle, hasher, chunks)  # type: ignore[arg-type]
        finished.append(True)

    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"x" * CHUNK
            await asyncio.sleep(0)

    monkeypatch.setattr(streams, "_write_and_hash", slow)
    task = asyncio.ensure_future(
        streams.to_file(endless(), tmp_path / "blob", max_bytes=1 << 40, what="blob")
    )
    assert await asyncio.to_thread(started.wait, 5)
    task.cancel()
    await asyncio.sleep(0.1)
    assert not task.done(), "returned while its batch was still being written"
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=5)
    assert finished == [True]
