"""Hashing a local model: the digests model_signing signs, bounded in count and size."""

from __future__ import annotations

import hashlib
import pathlib

import pytest

from modelward import errors
from modelward.pipeline import local
from modelward.settings import Limits


def test_hash_tree_keys_by_relative_posix_path_and_skips_the_signature(
    bert_model: pathlib.Path,
) -> None:
    (bert_model / "model.sig").write_text("{}")
    files = local.hash_tree(bert_model, Limits(), skip=bert_model / "model.sig")
    expected = {
        p.relative_to(bert_model).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in bert_model.rglob("*")
        if p.is_file() and p.name != "model.sig"
    }
    assert files == expected


@pytest.mark.parametrize(
    "limits", [Limits(max_files=1), Limits(max_unpacked_bytes=10)], ids=["files", "bytes"]
)
def test_hash_tree_is_bounded(bert_model: pathlib.Path, limits: Limits) -> None:
    with pytest.raises(errors.ArtifactLimitError):
        local.hash_tree(bert_model, limits)


def test_default_signature_beside_a_file_or_inside_a_directory(tmp_path: pathlib.Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "w.bin").write_bytes(b"x")
    assert local.default_signature(tmp_path / "m") == tmp_path / "m" / "model.sig"
    assert local.default_signature(tmp_path / "w.bin") == tmp_path / "w.bin.sig"
