"""`modelward verify`: compare the model files mounted in a pod with the signed ones."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import stat
from collections.abc import Mapping
from typing import Any

from modelward import errors
from modelward.pipeline import verify

READ_BYTES = 4 * 1024 * 1024


def parse_expected(text: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """The expected files and ignored paths, from the JSON the webhook handed over."""
    try:
        raw: Any = json.loads(text)
        files = raw["files"]
        ignore = raw.get("ignore", [])
        if not isinstance(files, Mapping) or not isinstance(ignore, list):
            raise TypeError
        return {str(k): str(v) for k, v in files.items()}, tuple(str(i) for i in ignore)
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
        raise errors.InputError(
            "the expected files are not {files: {path: sha256}, ignore: [paths]} JSON"
        ) from None


def hash_tree(root: pathlib.Path) -> dict[str, str]:
    """Every regular file under `root`, by POSIX path, with its sha256; links are refused."""
    if not root.is_dir():
        raise errors.FetchError(f"{root} is not a directory", reason="ModelNotMounted")
    out: dict[str, str] = {}
    for directory, dirs, names in os.walk(root, followlinks=False):
        for name in sorted([*dirs, *names]):
            path = pathlib.Path(directory) / name
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                raise errors.FetchError(
                    f"{path.relative_to(root)} is a link; links are not verified",
                    reason="UnsafePath",
                )
            if stat.S_ISREG(mode):
                out[path.relative_to(root).as_posix()] = _sha256(path)
            elif not stat.S_ISDIR(mode):
                raise errors.FetchError(
                    f"{path.relative_to(root)} is a special file", reason="UnsafePath"
                )
    return out


def check(root: pathlib.Path, expected: Mapping[str, str], ignore: tuple[str, ...]) -> int:
    """Raise DigestMismatch naming the first difference; return the number of files checked."""
    actual = {p: d for p, d in hash_tree(root).items() if not verify.ignored(p, ignore)}
    for path in sorted(expected):
        if path not in actual:
            raise errors.DigestMismatch(f"signed file '{path}' is not mounted")
        if actual[path] != expected[path]:
            raise errors.DigestMismatch(f"mounted file '{path}' differs from the signed one")
    extra = sorted(set(actual) - set(expected))
    if extra:
        raise errors.DigestMismatch(f"mounted file '{extra[0]}' is not covered by the signature")
    return len(expected)


def _sha256(path: pathlib.Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(READ_BYTES):
            hasher.update(chunk)
    return hasher.hexdigest()
