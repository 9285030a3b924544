"""Comparing a signed manifest with fetched files."""

from __future__ import annotations

import pytest

from modelward import errors
from modelward.pipeline import verify
from modelward.structs import evidence

A, B, C = "a" * 64, "b" * 64, "c" * 64


def signed(files: dict[str, str], ignore: tuple[str, ...] = (".git",)) -> evidence.SignedManifest:
    return evidence.SignedManifest(
        files=files, hash_type="sha256", method="files", ignore_paths=ignore, signer="k"
    )


def test_equal_files_pass() -> None:
    verify.compare(
        signed({"w.bin": A, "c.json": B}), {"w.bin": A, "c.json": B, "model.sig": C}, ref="r"
    )


def test_ignored_paths_are_not_compared() -> None:
    verify.compare(signed({"w.bin": A}), {"w.bin": A, ".git/HEAD": C}, ref="r")


def test_single_file_signature_matches_any_name() -> None:
    verify.compare(signed({".": A}), {"model.gguf": A}, ref="r")
    with pytest.raises(
        errors.DigestMismatch, match="single file was signed but the model has 2 files"
    ):
        verify.compare(signed({".": A}), {"a": A, "b": B}, ref="r")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"w.bin": B, "c.json": B}, "file 'w.bin' digest differs from the signed manifest"),
        ({"c.json": B}, "file 'w.bin' is in the signed manifest but missing from the model"),
        (
            {"w.bin": A, "c.json": B, "evil.pkl": C},
            "file 'evil.pkl' is not covered by the signature",
        ),
    ],
)
def test_differences_are_named(files: dict[str, str], message: str) -> None:
    with pytest.raises(errors.DigestMismatch, match=message):
        verify.compare(signed({"w.bin": A, "c.json": B}), files, ref="r")


def test_other_serializations_are_refused_clearly() -> None:
    manifest = evidence.SignedManifest(
        files={}, hash_type="sha256", method="shards", ignore_paths=(), signer="k"
    )
    with pytest.raises(errors.VerificationFailed, match="shards/sha256 serialization"):
        verify.compare(manifest, {}, ref="r")
