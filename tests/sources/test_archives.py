"""Safe unpacking: every hostile archive shape is refused with a named reason."""

from __future__ import annotations

import hashlib
import io
import os
import pathlib
import tarfile
import threading
import zipfile

import pytest

from modelward import errors, settings
from modelward.sources import archives
from tests.fixtures import models

LIMITS = settings.Limits(max_files=5, max_unpacked_bytes=1_000_000)


def tar_with(
    tmp: pathlib.Path, members: list[tuple[tarfile.TarInfo, bytes | None]], mode: str = "w:gz"
) -> pathlib.Path:
    path = tmp / "m.tar.gz"
    with tarfile.open(path, mode) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def file_info(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def test_tar_unpacks_and_hashes(tmp_path: pathlib.Path) -> None:
    path = tar_with(tmp_path, [file_info("model/w.bin", b"abc"), file_info("c.json", b"{}")])
    digests = archives.unpack(path, tmp_path / "out", limits=LIMITS, ref="r")
    assert digests == {
        "model/w.bin": hashlib.sha256(b"abc").hexdigest(),
        "c.json": hashlib.sha256(b"{}").hexdigest(),
    }
    assert (tmp_path / "out" / "model" / "w.bin").read_bytes() == b"abc"


def test_zip_unpacks_and_hashes(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "m.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("w.bin", b"x" * 1000)
    assert archives.unpack(path, tmp_path / "out", limits=LIMITS, ref="r") == {
        "w.bin": hashlib.sha256(b"x" * 1000).hexdigest()
    }


def _link(name: str, target: str, kind: bytes) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


@pytest.mark.parametrize(
    ("members", "reason", "message"),
    [
        ([file_info("../escape", b"x")], "UnsafePath", "escapes the model directory"),
        ([file_info("/etc/passwd", b"x")], "UnsafePath", "escapes the model directory"),
        ([_link("l", "/etc/passwd", tarfile.SYMTYPE)], "UnsafePath", "is a link or device"),
        ([_link("h", "../../x", tarfile.LNKTYPE)], "UnsafePath", "is a link or device"),
        ([_link("dev", "", tarfile.CHRTYPE)], "UnsafePath", "is a link or device"),
        ([file_info(f"f{i}", b"x") for i in range(6)], "ArtifactTooLarge", "more than 5 files"),
        (
            [file_info("big", b"x" * 1_000_001)],
            "ArtifactTooLarge",
            "unpacks to more than 1000000 bytes",
        ),
    ],
)
def test_hostile_tars_are_refused(
    tmp_path: pathlib.Path, members: list, reason: str, message: str
) -> None:  # type: ignore[type-arg]
    path = tar_with(tmp_path, members)
    with pytest.raises(errors.FetchError, match=message) as caught:
        archives.unpack(path, tmp_path / "out", limits=LIMITS, ref="r")
    assert caught.value.reason == reason
    assert not (tmp_path.parent / "escape").exists()


def test_zip_bomb_is_stopped_by_the_unpacked_limit(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros", b"\0" * 5_000_000)
    assert path.stat().st_size < 50_000
    with pytest.raises(errors.ArtifactLimitError, match="unpacks to more than"):
        archives.unpack(path, tmp_path / "out", limits=LIMITS, ref="r")


def test_zip_symlink_is_refused(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "l.zip"
    info = zipfile.ZipInfo("link")
    info.external_attr = 0o120777 << 16
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(errors.FetchError, match="is a link or device"):
        archives.unpack(path, tmp_path / "out", limits=LIMITS, ref="r")


def test_truncated_archive_is_a_bad_archive(tmp_path: pathlib.Path) -> None:
    path = tar_with(tmp_path, [file_info("w.bin", os.urandom(100_000))])
    path.write_bytes(path.read_bytes()[:50_000])
    with pytest.raises(errors.FetchError) as caught:
        archives.unpack(path, tmp_path / "out", limits=LIMITS, ref="r")
    assert caught.value.reason == "BadArchive"


def test_unpacking_stops_when_asked(tmp_path: pathlib.Path, bert_model: pathlib.Path) -> None:
    archive = models.make_tar(bert_model, tmp_path / "m.tar")
    stop = threading.Event()
    stop.set()
    with pytest.raises(errors.FetchError, match="unpacking was cancelled"):
        archives.unpack(archive, tmp_path / "out", limits=LIMITS, ref="r", stop=stop)
