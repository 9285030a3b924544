"""Files inside tar layers: stacking, whiteouts, and every hostile entry refused."""

from __future__ import annotations

import hashlib
import pathlib

import pytest

from modelward import errors
from modelward.oci import layout, tarlayers
from modelward.settings import Limits
from tests.fixtures import tarballs
from tests.fixtures.tarballs import DIR, FIFO, HARDLINK, SYMLINK


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stack(
    tmp_path: pathlib.Path,
    layers: list[list[tarballs.Entry]],
    *,
    root: str = "models",
    limits: Limits | None = None,
) -> dict[str, str]:
    tree = tarlayers.Tree(limits or Limits(), "oci://r/x@sha256:0")
    for i, entries in enumerate(layers):
        path = tarballs.write(tmp_path / f"{i}.tar.gz", entries, gzipped=True)
        layer = layout.Layer(f"sha256:{i}", 0, "t", archive=layout.Archive.GZIP, root=root)
        tarlayers.apply(path, layer, tree, "oci://r/x@sha256:0")
    return tree.files


def test_only_files_under_the_root_count_and_later_layers_win(tmp_path: pathlib.Path) -> None:
    base = [("bin", DIR), ("bin/sh", b"shell"), ("etc/passwd", b"root"), ("lib", SYMLINK + "/")]
    first = [("models", DIR), ("./models/a.bin", b"one"), ("/models/sub/b.json", b"{}")]
    second = [("models/a.bin", b"two")]
    assert stack(tmp_path, [base, first, second]) == {
        "a.bin": sha(b"two"),
        "sub/b.json": sha(b"{}"),
    }


@pytest.mark.parametrize(
    ("upper", "left"),
    [
        ([("models/.wh.a.bin", b"")], {"sub/b.json"}),
        ([("models/.wh.sub", b"")], {"a.bin"}),
        ([("models/sub/.wh..wh..opq", b""), ("models/sub/c", b"c")], {"a.bin", "sub/c"}),
        ([(".wh.models", b"")], set()),
    ],
)
def test_whiteouts_delete_lower_files(
    tmp_path: pathlib.Path, upper: list[tarballs.Entry], left: set[str]
) -> None:
    lower = [("models/a.bin", b"a"), ("models/sub/b.json", b"b")]
    assert set(stack(tmp_path, [lower, upper])) == left


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([("models/x", SYMLINK + "/etc/passwd")], "'x' is a link"),
        ([("models/x", HARDLINK + "etc/passwd")], "'x' is a link"),
        ([("models", SYMLINK + "/etc")], "the model directory is a link"),
        ([("models/fifo", FIFO)], "'fifo' is a device or special file"),
        ([("models/../etc/passwd", b"x")], "escapes the model directory"),
    ],
)
def test_hostile_entries_are_refused(
    tmp_path: pathlib.Path, entries: list[tarballs.Entry], message: str
) -> None:
    with pytest.raises(errors.FetchError, match=message):
        stack(tmp_path, [entries])


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (Limits(max_files=2), "more than 2 files"),
        (Limits(max_unpacked_bytes=5), "unpacks to more than 5 bytes"),
    ],
)
def test_limits(tmp_path: pathlib.Path, limits: Limits, message: str) -> None:
    entries: list[tarballs.Entry] = [(f"models/{i}", b"abc") for i in range(3)]
    with pytest.raises(errors.ArtifactLimitError, match=message):
        stack(tmp_path, [entries], limits=limits)


def test_without_a_root_the_same_file_twice_is_malformed(tmp_path: pathlib.Path) -> None:
    with pytest.raises(errors.ResolveError, match="in two layers"):
        stack(tmp_path, [[("a", b"1")], [("a", b"2")]], root="")


def test_not_a_tar_and_zstd(tmp_path: pathlib.Path) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a tar at all" * 100)
    tree = tarlayers.Tree(Limits(), None)
    with pytest.raises(errors.FetchError, match="is not a readable tar"):
        tarlayers.apply(
            junk, layout.Layer("sha256:1", 1, "t", archive=layout.Archive.GZIP), tree, None
        )
    with pytest.raises(errors.UnsupportedReference, match="zstd"):
        tarlayers.apply(
            junk, layout.Layer("sha256:1", 1, "t", archive=layout.Archive.ZSTD), tree, None
        )


def test_with_a_destination_the_disk_holds_what_was_hashed(tmp_path: pathlib.Path) -> None:
    dest = tmp_path / "model"
    tree = tarlayers.Tree(Limits(), None, dest=dest)
    layers = [
        [("models/a.bin", b"old"), ("models/gone.bin", b"x")],
        [("models/a.bin", b"new"), ("models/.wh.gone.bin", b"")],
    ]
    for i, entries in enumerate(layers):
        path = tarballs.write(tmp_path / f"{i}.tar", entries)
        layer = layout.Layer(f"sha256:{i}", 0, "t", archive=layout.Archive.TAR, root="models")
        tarlayers.apply(path, layer, tree, None)
    assert tree.files == {"a.bin": sha(b"new")}
    assert sorted(p.name for p in dest.rglob("*")) == ["a.bin"]
    assert (dest / "a.bin").read_bytes() == b"new"
