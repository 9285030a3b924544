"""Archives that lie about their size or drown the unpacker in entries: refused by what their
headers declare, before the bytes are read, in bounded time."""

from __future__ import annotations

import io
import pathlib
import tarfile
import time

import pytest

from modelward import errors, settings
from modelward.sources import archives

TEN_GIB = 10 * 1024**3


def test_a_member_declaring_ten_gib_is_refused_before_it_is_read(tmp_path: pathlib.Path) -> None:
    """A sparse or lying header: 10 GiB declared, a few bytes present."""
    info = tarfile.TarInfo("weights.bin")
    info.size = TEN_GIB
    path = tmp_path / "sparse.tar"
    path.write_bytes(info.tobuf(format=tarfile.GNU_FORMAT) + b"\0" * 4096)
    limits = settings.Limits(max_unpacked_bytes=64 * 1024**2)
    started = time.monotonic()
    with pytest.raises(errors.ArtifactLimitError, match="unpacks to more than 67108864 bytes"):
        archives.unpack(path, tmp_path / "out", limits=limits, ref="r")
    assert time.monotonic() - started < 1.0
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*"))


def test_many_tiny_files_stop_at_the_file_limit(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "many.tar"
    with tarfile.open(path, "w") as tar:
        for i in range(2_000):
            tar.addfile(tarfile.TarInfo(f"d/{i}"), io.BytesIO(b""))
    limits = settings.Limits(max_files=1_000)
    started = time.monotonic()
    with pytest.raises(errors.ArtifactLimitError, match="more than 1000 files"):
        archives.unpack(path, tmp_path / "out", limits=limits, ref="r")
    assert time.monotonic() - started < 5.0
