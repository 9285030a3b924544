"""`modelward verify`'s comparison of a mounted model with the signed files."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib

import pytest

from modelward import errors
from modelward.adapters import cli
from modelward.pipeline import mounted


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def model(tmp_path: pathlib.Path) -> pathlib.Path:
    root = tmp_path / "model"
    (root / "sub").mkdir(parents=True)
    (root / "w.bin").write_bytes(b"weights")
    (root / "sub" / "c.json").write_bytes(b"{}")
    (root / "model.sig").write_bytes(b"signature")  # never part of the content
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_bytes(b"ref")
    return root


EXPECTED = {"w.bin": sha(b"weights"), "sub/c.json": sha(b"{}")}


def test_matching_model(model: pathlib.Path) -> None:
    assert mounted.check(model, EXPECTED, (".git",)) == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: (m / "w.bin").write_bytes(b"swapped"), "mounted file 'w.bin' differs"),
        (lambda m: (m / "w.bin").unlink(), "signed file 'w.bin' is not mounted"),
        (lambda m: (m / "x.py").write_bytes(b"evil"), "'x.py' is not covered"),
        (lambda m: (m / "link").symlink_to("/etc/passwd"), "link is a link"),
        (lambda m: os.mkfifo(m / "fifo"), "fifo is a special file"),
    ],
)
def test_differences_are_named(model: pathlib.Path, change, message: str) -> None:  # type: ignore[no-untyped-def]
    change(model)
    with pytest.raises((errors.DigestMismatch, errors.FetchError), match=message):
        mounted.check(model, EXPECTED, (".git",))


@pytest.mark.parametrize("text", ["", "[]", '{"files": []}', '{"nofiles": {}}'])
def test_bad_expected_json(text: str) -> None:
    with pytest.raises(errors.InputError, match="expected files"):
        mounted.parse_expected(text)


def test_cli_exit_codes(model: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPECTED", json.dumps({"files": EXPECTED, "ignore": [".git"]}))
    assert cli.main(["verify", str(model), "--expected-env", "EXPECTED"]) == cli.EXIT_ADMITTED
    (model / "w.bin").write_bytes(b"swapped")
    assert cli.main(["verify", str(model), "--expected-env", "EXPECTED"]) == cli.EXIT_DENIED
    assert cli.main(["verify", str(model), "--expected-env", "UNSET_VAR"]) == cli.EXIT_USAGE
