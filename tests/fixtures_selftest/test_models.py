"""The sample models are valid, deterministic, and archive to the same files."""

from __future__ import annotations

import json
import pathlib
import struct
import tarfile
import zipfile

import pytest

from tests.fixtures import models


def _safetensors_header(data: bytes) -> dict[str, object]:
    (length,) = struct.unpack("<Q", data[:8])
    header: dict[str, object] = json.loads(data[8 : 8 + length])
    return header


def _tree(root: pathlib.Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_bert_is_a_valid_safetensors_model(bert_model: pathlib.Path) -> None:
    assert sorted(_tree(bert_model)) == [
        "1_Pooling/config.json",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
    ]
    data = (bert_model / "model.safetensors").read_bytes()
    header = _safetensors_header(data)
    (length,) = struct.unpack("<Q", data[:8])
    assert length % 8 == 0
    ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"]  # type: ignore[index]
    assert 8 + length + max(ends) == len(data)
    assert json.loads((bert_model / "config.json").read_text())["model_type"] == "bert"


def test_models_are_deterministic(tmp_path: pathlib.Path) -> None:
    first = models.make_bert(tmp_path / "a")
    second = models.make_bert(tmp_path / "b")
    assert _tree(first) == _tree(second)
    assert models.make_single_file(tmp_path / "a").read_bytes() == (
        models.make_single_file(tmp_path / "b").read_bytes()
    )


def test_large_model_size(large_model: pathlib.Path) -> None:
    size = (large_model / "model.safetensors").stat().st_size
    assert 8 * 1024 * 1024 <= size < 8 * 1024 * 1024 + 4096


def test_single_file_model(single_file_model: pathlib.Path) -> None:
    assert single_file_model.is_file()
    assert "linear.weight" in _safetensors_header(single_file_model.read_bytes())


def test_tampered_copy_differs_in_one_byte(
    bert_model: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    copy = models.tampered_copy(bert_model, tmp_path / "evil")
    original, changed = _tree(bert_model), _tree(copy)
    assert original.keys() == changed.keys()
    assert [k for k in original if original[k] != changed[k]] == ["model.safetensors"]


@pytest.mark.parametrize(("kind", "prefix"), [("tar", ""), ("tar.gz", "bert/"), ("zip", "")])
def test_archives_hold_the_model(
    bert_model: pathlib.Path, tmp_path: pathlib.Path, kind: str, prefix: str
) -> None:
    first = tmp_path / f"one.{kind}"
    second = tmp_path / f"two.{kind}"
    for dest in (first, second):
        if kind == "zip":
            models.make_zip(bert_model, dest, prefix=prefix)
        else:
            models.make_tar(bert_model, dest, gzip=kind == "tar.gz", prefix=prefix)
    assert first.read_bytes() == second.read_bytes()
    expected = {prefix + k: v for k, v in _tree(bert_model).items()}
    if kind == "zip":
        with zipfile.ZipFile(first) as archive:
            got = {name: archive.read(name) for name in archive.namelist()}
    else:
        with tarfile.open(first) as archive:
            got = {}
            for member in archive.getmembers():
                handle = archive.extractfile(member)
                assert handle is not None
                got[member.name] = handle.read()
    assert got == expected
