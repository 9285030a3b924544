"""Manifests read from files and directories, with bounded size and counts."""

from __future__ import annotations

import pathlib

import pytest

from modelward import errors
from modelward.adapters import manifests

POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\n"


def test_directories_are_read_recursively_in_order(tmp_path: pathlib.Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.yaml").write_text(POD % "b")
    (tmp_path / "a.yml").write_text(POD % "a" + "---\n" + POD % "a2")
    (tmp_path / "sub" / "c.json").write_text(
        '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "c"}}'
    )
    (tmp_path / "notes.txt").write_text("not a manifest")
    names = [doc["metadata"]["name"] for _, doc in manifests.documents([str(tmp_path)])]
    assert names == ["a", "a2", "b", "c"]


def test_lists_are_unpacked(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "l.yaml"
    path.write_text("kind: List\nitems:\n- {kind: Pod, apiVersion: v1, metadata: {name: x}}\n")
    assert [doc["kind"] for _, doc in manifests.documents([str(path)])] == ["Pod"]


def test_too_many_files(tmp_path: pathlib.Path) -> None:
    for i in range(4):
        (tmp_path / f"{i}.yaml").write_text(POD % i)
    with pytest.raises(errors.InputError, match="more than 3 manifest files"):
        manifests.expand([str(tmp_path)], max_files=3)


def test_too_many_objects(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manifests, "MAX_DOCUMENTS", 2)
    path = tmp_path / "m.yaml"
    path.write_text("---\n".join(POD % i for i in range(3)))
    with pytest.raises(errors.InputError, match="more than 2 objects"):
        list(manifests.documents([str(path)]))


def test_a_file_over_the_size_bound_is_not_parsed(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(POD % "x" + "#" * 100)
    with pytest.raises(errors.InputError, match="larger than 64 bytes"):
        list(manifests.documents([str(path)], max_bytes=64))
