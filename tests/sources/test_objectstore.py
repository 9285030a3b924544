"""The identity of a model directory and the paths of its objects."""

from __future__ import annotations

import hashlib

import pytest

from modelward import errors
from modelward.sources import objectstore


def test_directory_digest_is_order_free_and_content_bound() -> None:
    files = {"b/config.json": "1" * 64, "a.bin": "2" * 64}
    digest = objectstore.directory_digest(files)
    lines = f"a.bin\0{'2' * 64}\nb/config.json\0{'1' * 64}\n"
    assert digest == "sha256:" + hashlib.sha256(lines.encode()).hexdigest()
    assert objectstore.directory_digest(dict(reversed(files.items()))) == digest
    assert objectstore.directory_digest({**files, "a.bin": "3" * 64}) != digest
    assert objectstore.directory_digest({"a.bin": "2" * 64}) != digest


@pytest.mark.parametrize(
    ("name", "prefix", "expected"),
    [
        ("m/a.bin", "m/", "a.bin"),
        ("m/sub/a.bin", "m/", "sub/a.bin"),
        ("m/sub/", "m/", None),
        ("m/", "m/", None),
        ("other/a.bin", "m/", None),
    ],
)
def test_relative(name: str, prefix: str, expected: str | None) -> None:
    assert objectstore.relative(name, prefix, "s3://b/m/") == expected


@pytest.mark.parametrize("name", ["m/../etc/passwd", "m//a", "m/./a", "m/a\\b"])
def test_escaping_names_are_refused(name: str) -> None:
    with pytest.raises(errors.FetchError) as caught:
        objectstore.relative(name, "m/", "s3://b/m/")
    assert caught.value.reason == "UnsafePath"


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (500, "SourceUnavailable"),
        (503, "SourceUnavailable"),
        (429, "SourceUnavailable"),
        (400, "SourceError"),
    ],
)
def test_outages_are_told_apart(status: int, reason: str) -> None:
    error = objectstore.refused("s3://b/k", "object s3://b/k", status, "SlowDown")
    assert error.reason == reason
    assert (
        error.message
        == f"object s3://b/k could not be read: the store answered HTTP {status} (SlowDown)"
    )
