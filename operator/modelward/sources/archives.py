"""Unpack tar, tar.gz and zip model archives safely, hashing each file as it is written.

Bounded by the settings' limits (files, unpacked bytes); absolute paths, `..`, links and
device files are refused rather than skipped, so that what is verified is what was shipped.
"""

from __future__ import annotations

import hashlib
import pathlib
import shutil
import stat
import tarfile
import threading
import zipfile
from typing import IO

from modelward import errors, settings
from modelward.sources import paths

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".zip")
COPY_BYTES = 4 * 1024 * 1024


def is_archive(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


class _Budget:
    def __init__(
        self, limits: settings.Limits, ref: str | None, stop: threading.Event | None = None
    ) -> None:
        self.files = 0
        self.bytes = 0
        self._limits = limits
        self.ref = ref
        self._stop = stop

    def check_stop(self) -> None:
        if self._stop is not None and self._stop.is_set():
            raise errors.FetchError("unpacking was cancelled", reason="Cancelled", ref=self.ref)

    def add_file(self, declared: int) -> None:
        self.files += 1
        if self.files > self._limits.max_files:
            raise errors.ArtifactLimitError(
                f"the archive has more than {self._limits.max_files} files", ref=self.ref
            )
        self.grow(declared)

    def grow(self, size: int) -> None:
        self.bytes += size
        if self.bytes > self._limits.max_unpacked_bytes:
            raise errors.ArtifactLimitError(
                f"the archive unpacks to more than {self._limits.max_unpacked_bytes} bytes",
                ref=self.ref,
            )


def _copy_hashed(src: IO[bytes], dest: pathlib.Path, budget: _Budget, declared: int) -> str:
    hasher = hashlib.sha256()
    written = 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("xb") as out:
        while chunk := src.read(COPY_BYTES):
            budget.check_stop()
            written += len(chunk)
            if written > declared:
                # A member that inflates beyond its declared size is a bomb or a lie.
                raise errors.ArtifactLimitError(
                    f"archive member {dest.name} inflates beyond its declared size", ref=budget.ref
                )
            hasher.update(chunk)
            out.write(chunk)
    return hasher.hexdigest()


def unpack(
    archive: pathlib.Path,
    dest: pathlib.Path,
    *,
    limits: settings.Limits,
    ref: str | None,
    stop: threading.Event | None = None,
) -> dict[str, str]:
    """Unpack `archive` into `dest`; return {relative POSIX path: sha256 hex} of its files.
    Setting `stop` makes it give up at the next chunk."""
    budget = _Budget(limits, ref, stop)
    try:
        if zipfile.is_zipfile(archive):
            return _unzip(archive, dest, budget, ref)
        return _untar(archive, dest, budget, ref)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as e:
        shutil.rmtree(dest, ignore_errors=True)
        raise errors.FetchError(
            f"the archive cannot be unpacked ({e})", reason="BadArchive", ref=ref
        ) from None


def _untar(
    archive: pathlib.Path, dest: pathlib.Path, budget: _Budget, ref: str | None
) -> dict[str, str]:
    digests: dict[str, str] = {}
    with tarfile.open(archive, mode="r:*") as tar:
        for member in tar:
            if member.isdir():
                paths.safe_relative(member.name.rstrip("/"), ref=ref)
                continue
            if not member.isfile():
                raise errors.FetchError(
                    f"archive member {member.name!r} is a link or device; "
                    "only regular files are allowed",
                    reason="UnsafePath",
                    ref=ref,
                )
            rel = paths.safe_relative(member.name, ref=ref)
            budget.add_file(member.size)
            src = tar.extractfile(member)
            if src is None:
                raise errors.FetchError(
                    f"archive member {member.name!r} is unreadable", reason="BadArchive", ref=ref
                )
            with src:
                digests[str(rel)] = _copy_hashed(src, dest / rel, budget, member.size)
    return digests


def _unzip(
    archive: pathlib.Path, dest: pathlib.Path, budget: _Budget, ref: str | None
) -> dict[str, str]:
    digests: dict[str, str] = {}
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            if info.is_dir():
                paths.safe_relative(info.filename.rstrip("/"), ref=ref)
                continue
            mode = info.external_attr >> 16
            if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
                raise errors.FetchError(
                    f"archive member {info.filename!r} is a link or device; "
                    "only regular files are allowed",
                    reason="UnsafePath",
                    ref=ref,
                )
            rel = paths.safe_relative(info.filename, ref=ref)
            budget.add_file(info.file_size)
            with zf.open(info) as src:
                digests[str(rel)] = _copy_hashed(src, dest / rel, budget, info.file_size)
    return digests
