"""Verify a model on local disk: hash its files, verify the bundle, compare.

The runtime check (`modelward verify`, the init container): the same trust and comparison
steps as admission, on files already downloaded next to the serving container.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pathlib
from collections.abc import Mapping, Sequence

from modelward import errors
from modelward import settings as settings_
from modelward.pipeline import verify
from modelward.structs import evidence, policy
from modelward.trust import base as trust

HASH_CHUNK = 1024 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class Verified:
    """A local model that passed: which authorities verified it, as which signers."""

    path: pathlib.Path
    authorities: tuple[str, ...]
    signers: tuple[str, ...]
    files: int


def default_signature(model: pathlib.Path) -> pathlib.Path:
    """Where model_signing puts the bundle by default: `model.sig` inside a model directory,
    `<file>.sig` beside a single-file model."""
    return model / "model.sig" if model.is_dir() else model.with_name(model.name + ".sig")


def _file_digest(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def hash_tree(
    model: pathlib.Path, limits: settings_.Limits, *, skip: pathlib.Path | None = None
) -> dict[str, str]:
    """sha256 of every regular file under `model`, keyed by POSIX path relative to it.

    A single file is keyed by its name. Symlinks are refused (a link could point anywhere
    once the model is mounted), and the file count and total size are bounded.
    """
    if model.is_symlink():
        raise errors.InputError(f"{model}: is a symbolic link; point at the model itself")
    if model.is_file():
        return {model.name: _file_digest(model)}
    if not model.is_dir():
        raise errors.InputError(f"{model}: no such file or directory")
    skip_resolved = skip.resolve() if skip is not None else None
    files: dict[str, str] = {}
    total = 0
    for root, dirs, names in os.walk(model):
        dirs.sort()
        for name in sorted(names) + [d for d in dirs if (pathlib.Path(root) / d).is_symlink()]:
            path = pathlib.Path(root) / name
            if path.is_symlink():
                raise errors.InputError(
                    f"{path}: symbolic links are not verified; copy the file into the model"
                )
            if skip_resolved is not None and path.resolve() == skip_resolved:
                continue
            if not path.is_file():
                continue
            total += path.stat().st_size
            if len(files) >= limits.max_files or total > limits.max_unpacked_bytes:
                raise errors.ArtifactLimitError(
                    f"{model}: more than {limits.max_files} files or "
                    f"{limits.max_unpacked_bytes} bytes",
                    hint="Raise the limits or verify a smaller model",
                )
            files[path.relative_to(model).as_posix()] = _file_digest(path)
    return files


def _judge(
    manifests: Sequence[tuple[str, evidence.SignedManifest]],
    files: Mapping[str, str],
    ref: str,
) -> tuple[list[tuple[str, str]], list[errors.ModelwardError]]:
    passed: list[tuple[str, str]] = []
    failed: list[errors.ModelwardError] = []
    for authority, manifest in manifests:
        try:
            verify.compare(manifest, files, ref=ref)
        except errors.ModelwardError as e:
            failed.append(e)
        else:
            passed.append((authority, manifest.signer))
    return passed, failed


def verify_model(
    model: pathlib.Path,
    signature: pathlib.Path,
    authorities: Sequence[policy.Authority],
    *,
    require_count: int = 1,
    limits: settings_.Limits | None = None,
) -> Verified:
    """Verify the model's files against the bundle for `require_count` distinct authorities.

    Raises a VerificationFailed (or a child) naming the first failure, InputError for bad paths.
    """
    ref = str(model)
    limits = limits or settings_.Limits()
    if not signature.is_file():
        raise errors.SignatureMissing(
            f"no signature at {signature}",
            ref=ref,
            hint="Pass --signature, or sign the model with model_signing",
        )
    if signature.stat().st_size > limits.max_signature_bytes:
        raise errors.ArtifactLimitError(
            f"signature {signature} is larger than {limits.max_signature_bytes} bytes", ref=ref
        )
    manifests: list[tuple[str, evidence.SignedManifest]] = []
    failures: list[errors.ModelwardError] = []
    for authority in authorities:
        try:
            manifests.append((authority.name, trust.verify(signature, authority, ref=ref)))
        except errors.VerificationFailed as e:
            failures.append(e)
    if manifests:
        files = hash_tree(model, limits, skip=signature)
        passed, mismatches = _judge(manifests, files, ref)
        failures = mismatches + failures
    else:
        files, passed = {}, []
    if len(passed) >= require_count:
        return Verified(
            path=model,
            authorities=tuple(a for a, _ in passed),
            signers=tuple(s for _, s in passed),
            files=len(files),
        )
    if passed:
        raise errors.VerificationFailed(
            f"signed by {len(passed)} of the {require_count} required authorities",
            reason="ThresholdNotMet",
            ref=ref,
        )
    raise failures[0] if failures else errors.SignerMismatch("no authority verified", ref=ref)
