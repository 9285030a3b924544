"""Pick the scanner for each file by its leading bytes (and name where bytes cannot tell),
and scan files, directories and archive members with the same code."""

from __future__ import annotations

import io
import os
import pathlib
import struct
import zlib
from collections.abc import Iterable, Iterator
from typing import BinaryIO, cast

from modelward.scanners import (
    containers,
    gguf,
    keras,
    numpy_,
    onnx_,
    pickles,
    safetensors_,
    savedmodel,
)
from modelward.scanners.base import Blob, Budget, Finding, Limits, Severity

HEAD = 512


def scan_blob(blob: Blob, budget: Budget) -> Iterator[Finding]:
    """Findings for one file of any supported format; unknown formats carry no code."""
    with blob.open() as stream:
        head = stream.read(HEAD)
    lower = blob.name.lower()
    base = lower.rsplit("!", 1)[-1].rsplit("/", 1)[-1]
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        yield from containers.scan_zip(blob, budget, scan_blob)
    elif head.startswith(numpy_.MAGIC):
        yield from numpy_.NpyScanner().scan(blob, budget)
    elif head.startswith(keras.HDF5_MAGIC):
        yield from keras.H5Scanner().scan(blob, budget)
    elif head.startswith(gguf.MAGIC):
        yield from gguf.GgufScanner().scan(blob, budget)
    elif len(head) >= 262 and head[257:262] == b"ustar":
        yield from containers.scan_tar(blob, budget, scan_blob)
    elif opener := _decompressor(head):
        yield from containers.scan_compressed(blob, budget, scan_blob, opener)
    elif pickles.looks_like_pickle(lower, head):
        yield from pickles.PickleScanner().scan(blob, budget)
    elif lower.endswith(".safetensors") or _safetensors_head(head):
        yield from safetensors_.SafetensorsScanner().scan(blob, budget)
    elif lower.endswith(".onnx"):
        yield from onnx_.OnnxScanner().scan(blob, budget)
    elif base == "saved_model.pb":
        yield from savedmodel.SavedModelScanner().scan(blob, budget)


def _safetensors_head(head: bytes) -> bool:
    if len(head) < 10:
        return False
    (length,) = struct.unpack("<Q", head[:8])
    return 2 <= length <= safetensors_.MAX_HEADER and head[8:10] in (b'{"', b"{ ")


def _decompressor(head: bytes) -> containers.Opener | None:
    for magic, opener in containers.DECOMPRESSORS.items():
        if head.startswith(magic):
            return opener
    # joblib's zlib compression: a bare zlib stream.
    if len(head) >= 2 and head[0] == 0x78 and (head[0] << 8 | head[1]) % 31 == 0:
        return _ZlibReader.open
    return None


class _ZlibReader(io.RawIOBase):
    """A read-only stream over a zlib-compressed stream."""

    def __init__(self, inner: BinaryIO) -> None:
        super().__init__()
        self._inner = inner
        self._z = zlib.decompressobj()
        self._buffer = b""

    @classmethod
    def open(cls, inner: BinaryIO) -> BinaryIO:
        return cast(BinaryIO, io.BufferedReader(cls(inner)))

    def readable(self) -> bool:
        return True

    def readinto(self, target: memoryview) -> int:  # type: ignore[override]
        while not self._buffer:
            if self._z.eof:
                return 0
            chunk = self._inner.read(1 << 16)
            if not chunk:
                raise EOFError("the zlib stream ends early")
            self._buffer = self._z.decompress(chunk, len(target))
            while not self._buffer and self._z.unconsumed_tail:
                self._buffer = self._z.decompress(self._z.unconsumed_tail, len(target))
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def scan_safely(blob: Blob, budget: Budget) -> list[Finding]:
    """scan_blob, with a scanner's own failure turned into a finding: the file is not
    admitted unscanned, and one hostile file cannot abort the scan of the others."""
    try:
        return list(scan_blob(blob, budget))
    except (Exception, RecursionError) as e:
        return [
            Finding(
                "scanner.error",
                Severity.HIGH,
                blob.at(),
                f"the file could not be scanned ({type(e).__name__}: {e})",
            )
        ]


def file_blob(path: pathlib.Path, name: str) -> Blob:
    return Blob(name, lambda: path.open("rb"), path.stat().st_size)


def iter_files(root: pathlib.Path) -> Iterator[tuple[pathlib.Path, str]]:
    """Regular files under a model root (or the file itself), with POSIX names relative to it;
    symlinks are not followed."""
    if root.is_file():
        yield root, root.name
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            path = pathlib.Path(dirpath, filename)
            if path.is_symlink() or not path.is_file():
                continue
            yield path, path.relative_to(root).as_posix()


def scan_path(root: pathlib.Path, limits: Limits | None = None) -> list[Finding]:
    """Every finding in a file or a model directory, in file order."""
    budget = Budget(limits or Limits())
    findings: list[Finding] = []
    for path, name in iter_files(root):
        findings.extend(scan_safely(file_blob(path, name), budget))
    return findings


def scan_files(
    root: pathlib.Path, names: Iterable[str], limits: Limits | None = None
) -> list[Finding]:
    """Every finding in the named files under `root` (the files a source fetched and hashed).

    Raises FileNotFoundError when one is not on disk: what was verified must be what is scanned.
    """
    budget = Budget(limits or Limits())
    findings: list[Finding] = []
    base = root.resolve()
    for name in sorted(names):
        path = (root / name).resolve()
        if not path.is_relative_to(base) or not path.is_file():
            raise FileNotFoundError(name)
        findings.extend(scan_safely(file_blob(path, name), budget))
    return findings
