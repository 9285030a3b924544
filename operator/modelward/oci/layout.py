"""How a manifest packages a model: ORAS files, CNCF ModelPack layers, or a KServe modelcar.

- ORAS artifacts: one file per layer, titled with its path (`org.opencontainers.image.title`);
  a layer marked for unpacking is a tarball of a directory.
- CNCF ModelPack (model-spec): `artifactType`/config of the model spec; each layer is a file
  as is (`.raw`, path in `org.cncf.model.filepath`) or a tar (plain, gzip or zstd) of files.
- KServe modelcars: container images whose layers are tars holding the model under `/models`.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from modelward import errors
from modelward.oci import media
from modelward.sources import paths

MODELCAR_ROOT = "models"


class Packaging(enum.StrEnum):
    ORAS = "oras"
    MODELPACK = "modelpack"
    MODELCAR = "modelcar"


class Archive(enum.StrEnum):
    TAR = "tar"
    GZIP = "gzip"
    ZSTD = "zstd"


@dataclasses.dataclass(frozen=True, slots=True)
class Layer:
    """One blob of the model. `path` names a file stored as is; `archive` a tar of files,
    of which only those under `root` count (paths then relative to `root`)."""

    digest: str
    size: int
    media_type: str
    path: str | None = None
    archive: Archive | None = None
    root: str = ""


def packaging(manifest: Mapping[str, Any]) -> Packaging:
    """Which packaging a manifest uses, from its artifactType, config and layer annotations."""
    config = manifest.get("config")
    config_type = config.get("mediaType") if isinstance(config, Mapping) else None
    if manifest.get("artifactType") in media.MODELPACK_MANIFESTS or (
        config_type in media.MODELPACK_CONFIGS
    ):
        return Packaging.MODELPACK
    raw = manifest.get("layers")
    titled = isinstance(raw, list) and any(
        isinstance(x, Mapping) and media.TITLE in (x.get("annotations") or {}) for x in raw
    )
    if config_type in media.IMAGE_CONFIGS and not titled:
        return Packaging.MODELCAR
    return Packaging.ORAS


def layers(manifest: Mapping[str, Any], uri: str, max_files: int) -> tuple[Packaging, list[Layer]]:
    """The manifest's packaging and its layers, validated; a clear error for anything else."""
    raw = manifest.get("layers")
    if not isinstance(raw, list):
        raise errors.ResolveError("the manifest has no layers", reason="MalformedManifest", ref=uri)
    if len(raw) > max_files:
        raise errors.ArtifactLimitError(
            f"the artifact has {len(raw)} layers, over the limit of {max_files}", ref=uri
        )
    kind = packaging(manifest)
    read = {Packaging.ORAS: _oras, Packaging.MODELPACK: _modelpack, Packaging.MODELCAR: _modelcar}
    out: list[Layer] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise errors.ResolveError(
                f"layer {i} is malformed", reason="MalformedManifest", ref=uri
            )
        digest, size = item.get("digest"), item.get("size")
        if (
            not isinstance(digest, str)
            or not digest.startswith("sha256:")
            or not isinstance(size, int)
        ):
            raise errors.ResolveError(
                f"layer {i} lacks a sha256 digest or size", reason="MalformedManifest", ref=uri
            )
        layer = read[kind](i, item, digest, size, uri)
        if layer.path is not None:
            if layer.path in seen:
                raise errors.ResolveError(
                    f"file {layer.path!r} appears twice in the manifest",
                    reason="MalformedManifest",
                    ref=uri,
                )
            seen.add(layer.path)
        out.append(layer)
    return kind, out


def _annotations(item: Mapping[str, Any]) -> Mapping[str, Any]:
    found = item.get("annotations")
    return found if isinstance(found, Mapping) else {}


def _oras(i: int, item: Mapping[str, Any], digest: str, size: int, uri: str) -> Layer:
    annotations = _annotations(item)
    title = annotations.get(media.TITLE)
    media_type = str(item.get("mediaType", ""))
    if not isinstance(title, str):
        raise errors.UnsupportedReference(
            f"layer {i} ({media_type}) has no {media.TITLE} annotation; verified packagings are "
            "ORAS artifacts (one titled file per layer), CNCF ModelPack artifacts and KServe "
            "modelcar images",
            ref=uri,
            hint="Push the model with `oras push` so that each file is one titled layer",
        )
    path = str(paths.safe_relative(title, ref=uri))
    if annotations.get(media.ORAS_UNPACK) == "true":
        # `oras push DIR`: a gzipped tar whose entries start with the directory's name.
        return Layer(digest, size, media_type, archive=Archive.GZIP)
    return Layer(digest, size, media_type, path=path)


def _modelpack(i: int, item: Mapping[str, Any], digest: str, size: int, uri: str) -> Layer:
    media_type = str(item.get("mediaType", ""))
    if not media_type.startswith(media.MODELPACK_LAYER_PREFIXES):
        raise errors.UnsupportedReference(
            f"layer {i} has media type {media_type!r}, which is not a ModelPack layer type",
            ref=uri,
        )
    archive = _archive_of(media_type)
    if archive is not None:
        return Layer(digest, size, media_type, archive=archive)
    annotations = _annotations(item)
    path = next(
        (annotations[k] for k in (*media.MODELPACK_FILEPATHS, media.TITLE) if k in annotations),
        None,
    )
    if not isinstance(path, str):
        raise errors.ResolveError(
            f"raw layer {i} ({media_type}) names no file path ({media.MODELPACK_FILEPATHS[0]})",
            reason="MalformedManifest",
            ref=uri,
        )
    return Layer(digest, size, media_type, path=str(paths.safe_relative(path, ref=uri)))


def _modelcar(i: int, item: Mapping[str, Any], digest: str, size: int, uri: str) -> Layer:
    media_type = str(item.get("mediaType", ""))
    if media_type not in media.IMAGE_LAYERS:
        raise errors.UnsupportedReference(
            f"image layer {i} has media type {media_type!r}; modelcar layers must be tar, "
            "tar+gzip or tar+zstd",
            ref=uri,
        )
    archive = _archive_of(media_type) or Archive.TAR
    return Layer(digest, size, media_type, archive=archive, root=MODELCAR_ROOT)


def _archive_of(media_type: str) -> Archive | None:
    if media_type.endswith(("+gzip", ".tar.gzip", ".tar.gz")):
        return Archive.GZIP
    if media_type.endswith("+zstd"):
        return Archive.ZSTD
    if media_type.endswith(".tar"):
        return Archive.TAR
    return None
