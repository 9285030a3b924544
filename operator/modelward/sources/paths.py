"""Safe relative paths for files named by strangers (layer titles, archive members)."""

from __future__ import annotations

import pathlib

from modelward import errors


def safe_relative(name: str, *, ref: str | None = None) -> pathlib.PurePosixPath:
    """A normalised relative POSIX path, or an error for absolute, empty or escaping names."""
    if not name or "\x00" in name or "\\" in name:
        raise errors.FetchError(f"file name {name!r} is not allowed", reason="UnsafePath", ref=ref)
    path = pathlib.PurePosixPath(name)
    if (
        path.is_absolute()
        or any(part in ("..", "") for part in path.parts)
        or path == pathlib.PurePosixPath(".")
    ):
        raise errors.FetchError(
            f"file name {name!r} escapes the model directory", reason="UnsafePath", ref=ref
        )
    return path
