"""Zip and tar containers: PyTorch checkpoints, `.npz`, `.keras`, and plain archives.

A PyTorch zip is scanned by its `*.pkl` entries only: tensor storages are never read. Plain
archives are walked member by member (nested ones too), bounded in depth, member count,
decompressed bytes and compression ratio; traversal paths and links are findings.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import posixpath
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO, cast

from modelward.scanners import keras, numpy_, pickles
from modelward.scanners.base import Blob, Budget, Finding, Severity, malformed

# Dispatches a member to the scanner for its format (dispatch.scan_blob; passed in to avoid
# an import cycle).
ScanFn = Callable[[Blob, Budget], Iterator[Finding]]
SPOOL_BYTES = 64 * 1024**2


def _limit(blob: Blob, what: str) -> Finding:
    return Finding(
        "archive.limit-exceeded",
        Severity.HIGH,
        blob.at(),
        f"the archive exceeds the scanner's bound on {what}: it cannot be scanned completely",
    )


def _traversal(blob: Blob, member: str, why: str) -> Finding:
    return Finding(
        "archive.path-traversal",
        Severity.HIGH,
        blob.at(name=member),
        f"archive member {member!r} {why}",
    )


def _unsafe_name(name: str) -> bool:
    path = name.replace("\\", "/")
    return (
        path.startswith("/")
        or posixpath.normpath(path).split("/")[0] == ".."
        or (len(path) > 1 and path[1] == ":")
    )


def scan_zip(blob: Blob, budget: Budget, scan: ScanFn) -> Iterator[Finding]:
    """Dispatch a zip by what it holds: PyTorch, npz, Keras, or a plain archive."""
    with blob.open() as stream:
        try:
            archive = zipfile.ZipFile(stream)
        # zipfile raises RuntimeError for encrypted members, and a subclass of it for unknown
        # compression methods.
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError) as e:
            yield malformed(blob, "zip", str(e))
            return
        try:
            with archive:
                yield from _dispatch_zip(archive, blob, budget, scan)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError) as e:
            # A damaged member (bad CRC, header/directory mismatch), an unknown compression
            # or an encrypted member.
            yield malformed(blob, "zip", str(e))


def _dispatch_zip(
    archive: zipfile.ZipFile, blob: Blob, budget: Budget, scan: ScanFn
) -> Iterator[Finding]:
    infos = archive.infolist()
    if len(infos) > budget.limits.max_members:
        yield _limit(blob, f"{budget.limits.max_members} members")
        return
    names = [i.filename for i in infos]
    if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
        yield from _torch(archive, infos, blob, budget)
    elif blob.name.lower().endswith(".npz") or (names and all(n.endswith(".npy") for n in names)):
        yield from _npz(archive, infos, blob, budget)
    elif "config.json" in names and (
        blob.name.lower().endswith(".keras") or "metadata.json" in names
    ):
        yield from _keras(archive, blob, budget)
    else:
        yield from _plain_zip(archive, infos, blob, budget, scan)


def _member(blob: Blob, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Blob:
    return Blob(
        f"{blob.name}!{info.filename}",
        lambda: archive.open(info),  # type: ignore[arg-type,return-value]
        info.file_size,
        blob.depth + 1,
    )


def _torch(
    archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], blob: Blob, budget: Budget
) -> Iterator[Finding]:
    torchscript = False
    for info in infos:
        if info.filename.endswith(".pkl"):
            if not budget.spend(info.file_size):
                yield _limit(blob, "decompressed bytes")
                return
            yield from pickles.PickleScanner().scan(_member(blob, archive, info), budget)
        elif not torchscript and "/code/" in f"/{info.filename}" and info.filename.endswith(".py"):
            torchscript = True
            yield Finding(
                "torch.torchscript",
                Severity.MEDIUM,
                blob.at(name=info.filename),
                "the archive is a TorchScript program: torch.jit.load runs its code",
            )


def _npz(
    archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], blob: Blob, budget: Budget
) -> Iterator[Finding]:
    for info in infos:
        if not budget.spend(min(info.file_size, 1 << 20)):
            yield _limit(blob, "decompressed bytes")
            return
        yield from numpy_.NpyScanner().scan(_member(blob, archive, info), budget)


def _keras(archive: zipfile.ZipFile, blob: Blob, budget: Budget) -> Iterator[Finding]:
    info = archive.getinfo("config.json")
    if info.file_size > budget.limits.max_config_bytes:
        yield _limit(blob, "config size")
        return
    with archive.open(info) as f:
        data = f.read(budget.limits.max_config_bytes + 1)
    member = _member(blob, archive, info)
    config, problem = keras.parse_json(data, member)
    if problem:
        yield problem
        return
    yield from keras.check_config(config, member)


def _plain_zip(
    archive: zipfile.ZipFile,
    infos: list[zipfile.ZipInfo],
    blob: Blob,
    budget: Budget,
    scan: ScanFn,
) -> Iterator[Finding]:
    if blob.depth >= budget.limits.max_depth:
        yield _limit(blob, f"nesting depth {budget.limits.max_depth}")
        return
    for info in infos:
        if info.is_dir():
            continue
        if _unsafe_name(info.filename):
            yield _traversal(blob, info.filename, "escapes the extraction directory")
            continue
        if info.compress_size and info.file_size / info.compress_size > budget.limits.max_ratio:
            yield _limit(blob, f"compression ratio {budget.limits.max_ratio}")
            continue
        yield from scan(_member(blob, archive, info), budget)


def scan_tar(blob: Blob, budget: Budget, scan: ScanFn) -> Iterator[Finding]:
    if blob.depth >= budget.limits.max_depth:
        yield _limit(blob, f"nesting depth {budget.limits.max_depth}")
        return
    with blob.open() as stream:
        try:
            archive = tarfile.open(fileobj=stream, mode="r:*")  # noqa: SIM115
        except (tarfile.TarError, OSError, EOFError) as e:
            yield malformed(blob, "tar", str(e))
            return
        count = 0
        try:
            with archive:
                for info in archive:
                    count += 1
                    if count > budget.limits.max_members:
                        yield _limit(blob, f"{budget.limits.max_members} members")
                        return
                    if _unsafe_name(info.name):
                        yield _traversal(blob, info.name, "escapes the extraction directory")
                        continue
                    if info.issym() or info.islnk():
                        target = posixpath.join(posixpath.dirname(info.name), info.linkname)
                        if info.linkname.startswith("/") or _unsafe_name(target):
                            yield _traversal(
                                blob, info.name, f"links to {info.linkname!r}, outside the archive"
                            )
                        continue
                    if not info.isfile():
                        continue
                    if not budget.spend(info.size):
                        yield _limit(blob, "decompressed bytes")
                        return
                    yield from _tar_member(archive, info, blob, budget, scan)
        except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
            yield malformed(blob, "tar", str(e))


def _tar_member(
    archive: tarfile.TarFile, info: tarfile.TarInfo, blob: Blob, budget: Budget, scan: ScanFn
) -> Iterator[Finding]:
    # Members of a compressed tar can only be read once, in order: spool each to a temporary
    # file so that scanners may seek.
    source = archive.extractfile(info)
    if source is None:
        return
    with tempfile.SpooledTemporaryFile(SPOOL_BYTES) as spool:
        shutil.copyfileobj(source, spool)
        spool.seek(0)
        data = spool

        def reopen() -> BinaryIO:
            data.seek(0)
            return cast(BinaryIO, _Unclosable(cast(BinaryIO, data)))

        yield from scan(Blob(f"{blob.name}!{info.name}", reopen, info.size, blob.depth + 1), budget)


class _Unclosable(io.BufferedIOBase):
    """A view of a spooled member that scanners may close without losing it."""

    def __init__(self, inner: BinaryIO) -> None:
        super().__init__()
        self._inner = inner

    def read(self, size: int | None = -1) -> bytes:
        return self._inner.read(size if size is not None else -1)

    def readline(self, size: int | None = -1) -> bytes:
        return self._inner.readline(size if size is not None else -1)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._inner.seek(offset, whence)

    def tell(self) -> int:
        return self._inner.tell()

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True


Opener = Callable[[BinaryIO], BinaryIO]
DECOMPRESSORS: dict[bytes, Opener] = {
    b"\x1f\x8b": lambda f: cast(BinaryIO, gzip.GzipFile(fileobj=f)),
    b"BZh": lambda f: cast(BinaryIO, bz2.BZ2File(f)),
    b"\xfd7zXZ": lambda f: cast(BinaryIO, lzma.LZMAFile(f)),  # noqa: SIM115  (closed by the caller)
}
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".z")


def scan_compressed(blob: Blob, budget: Budget, scan: ScanFn, opener: Opener) -> Iterator[Finding]:
    """A single compressed file (model.pkl.gz, a joblib file with compress=...), or a tarball."""
    if blob.depth >= budget.limits.max_depth:
        yield _limit(blob, f"nesting depth {budget.limits.max_depth}")
        return
    name = blob.name
    for suffix in COMPRESSED_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    with blob.open() as raw, tempfile.SpooledTemporaryFile(SPOOL_BYTES) as spool:
        try:
            with opener(raw) as inflated:
                total = 0
                while chunk := inflated.read(1 << 20):
                    total += len(chunk)
                    if not budget.spend(len(chunk)):
                        yield _limit(blob, "decompressed bytes")
                        return
                    spool.write(chunk)
        except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error) as e:
            yield malformed(blob, "compressed", str(e))
            return
        spool.seek(0)
        data = spool

        def reopen() -> BinaryIO:
            data.seek(0)
            return cast(BinaryIO, _Unclosable(cast(BinaryIO, data)))

        yield from scan(Blob(f"{name}", reopen, total, blob.depth + 1), budget)
