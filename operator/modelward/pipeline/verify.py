"""Compare a verified signed manifest with the files actually fetched."""

from __future__ import annotations

from collections.abc import Mapping

from modelward import errors
from modelward.structs import evidence

# Files that are never part of a model's content: signatures shipped beside it.
SIGNATURE_FILES = frozenset({"model.sig"})


def ignored(path: str, ignore: tuple[str, ...]) -> bool:
    """Whether `path` is outside what a signature covers: a signature file or an ignored path."""
    return path in SIGNATURE_FILES or any(
        path == p or path.startswith(p.rstrip("/") + "/") for p in ignore
    )


def compare(signed: evidence.SignedManifest, files: Mapping[str, str], *, ref: str) -> None:
    """Raise DigestMismatch naming the first difference; return if the files are the signed ones."""
    if signed.method != "files" or signed.hash_type != "sha256":
        raise errors.VerificationFailed(
            f"the signature uses {signed.method}/{signed.hash_type} serialization, "
            "which cannot be checked against streamed digests",
            reason="UnsupportedSerialization",
            ref=ref,
            hint="Sign with model_signing's default file serialization (sha256)",
        )
    actual = {p: d for p, d in files.items() if not ignored(p, signed.ignore_paths)}
    expected = dict(signed.files)
    if set(expected) == {"."}:
        # A single file was signed: its manifest names it ".", whatever the file is called.
        if len(actual) != 1:
            raise errors.DigestMismatch(
                f"a single file was signed but the model has {len(actual)} files", ref=ref
            )
        actual = {".": next(iter(actual.values()))}
    for path in sorted(expected):
        if path not in actual:
            raise errors.DigestMismatch(
                f"file '{path}' is in the signed manifest but missing from the model", ref=ref
            )
        if actual[path] != expected[path]:
            raise errors.DigestMismatch(
                f"file '{path}' digest differs from the signed manifest", ref=ref
            )
    extra = sorted(set(actual) - set(expected))
    if extra:
        raise errors.DigestMismatch(f"file '{extra[0]}' is not covered by the signature", ref=ref)


def covered(signed: evidence.SignedManifest, files: Mapping[str, str]) -> dict[str, str]:
    """The files a passing comparison checked: all but signature files and ignored paths."""
    return {p: d for p, d in files.items() if not ignored(p, signed.ignore_paths)}
