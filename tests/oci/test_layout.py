"""Which packaging a manifest uses, and how each layer is read."""

from __future__ import annotations

from typing import Any

import pytest

from modelward import errors
from modelward.oci import layout

D = "sha256:" + "1" * 64
IMAGE_CONFIG = {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": D, "size": 2}
EMPTY_CONFIG = {"mediaType": "application/vnd.oci.empty.v1+json", "digest": D, "size": 2}
MP_CONFIG = {"mediaType": "application/vnd.cncf.model.config.v1+json", "digest": D, "size": 2}


def layer(media_type: str, **annotations: str) -> dict[str, Any]:
    out: dict[str, Any] = {"mediaType": media_type, "digest": D, "size": 3}
    if annotations:
        out["annotations"] = annotations
    return out


TITLE = "org.opencontainers.image.title"
FILEPATH = "org.cncf.model.filepath"


@pytest.mark.parametrize(
    ("manifest", "kind", "expected"),
    [
        (
            {"config": EMPTY_CONFIG, "layers": [layer("x", **{TITLE: "a/b.bin"})]},
            layout.Packaging.ORAS,
            [layout.Layer(D, 3, "x", path="a/b.bin")],
        ),
        (
            {
                "config": EMPTY_CONFIG,
                "layers": [layer("x", **{TITLE: "d", "io.deis.oras.content.unpack": "true"})],
            },
            layout.Packaging.ORAS,
            [layout.Layer(D, 3, "x", archive=layout.Archive.GZIP)],
        ),
        (
            {
                "artifactType": "application/vnd.cncf.model.manifest.v1+json",
                "config": MP_CONFIG,
                "layers": [
                    layer(
                        "application/vnd.cncf.model.weight.v1.raw", **{FILEPATH: "w.safetensors"}
                    ),
                    layer("application/vnd.cnai.model.doc.v1.tar+gzip"),
                ],
            },
            layout.Packaging.MODELPACK,
            [
                layout.Layer(
                    D, 3, "application/vnd.cncf.model.weight.v1.raw", path="w.safetensors"
                ),
                layout.Layer(
                    D, 3, "application/vnd.cnai.model.doc.v1.tar+gzip", archive=layout.Archive.GZIP
                ),
            ],
        ),
        (
            {
                "config": IMAGE_CONFIG,
                "layers": [
                    layer("application/vnd.oci.image.layer.v1.tar+gzip"),
                    layer("application/vnd.oci.image.layer.v1.tar"),
                ],
            },
            layout.Packaging.MODELCAR,
            [
                layout.Layer(
                    D,
                    3,
                    "application/vnd.oci.image.layer.v1.tar+gzip",
                    archive=layout.Archive.GZIP,
                    root="models",
                ),
                layout.Layer(
                    D,
                    3,
                    "application/vnd.oci.image.layer.v1.tar",
                    archive=layout.Archive.TAR,
                    root="models",
                ),
            ],
        ),
    ],
)
def test_packagings(
    manifest: dict[str, Any], kind: layout.Packaging, expected: list[layout.Layer]
) -> None:
    assert layout.layers(manifest, "oci://r/x", 100) == (kind, expected)


@pytest.mark.parametrize(
    ("manifest", "error", "message"),
    [
        ({"config": EMPTY_CONFIG}, errors.ResolveError, "no layers"),
        ({"config": EMPTY_CONFIG, "layers": [layer("x")]}, errors.UnsupportedReference, "no org"),
        (
            {"config": EMPTY_CONFIG, "layers": [layer("x", **{TITLE: "../x"})]},
            errors.FetchError,
            "escapes",
        ),
        (
            {"config": EMPTY_CONFIG, "layers": [layer("x", **{TITLE: "a"})] * 2},
            errors.ResolveError,
            "appears twice",
        ),
        (
            {"config": MP_CONFIG, "layers": [layer("application/vnd.oci.image.layer.v1.tar")]},
            errors.UnsupportedReference,
            "not a ModelPack layer type",
        ),
        (
            {"config": MP_CONFIG, "layers": [layer("application/vnd.cncf.model.weight.v1.raw")]},
            errors.ResolveError,
            "names no file path",
        ),
        (
            {"config": IMAGE_CONFIG, "layers": [layer("application/x-foreign")]},
            errors.UnsupportedReference,
            "modelcar layers must be",
        ),
        (
            {"config": EMPTY_CONFIG, "layers": [{"mediaType": "x", "digest": "md5:1"}]},
            errors.ResolveError,
            "lacks a sha256 digest",
        ),
        (
            {"config": EMPTY_CONFIG, "layers": [layer("x", **{TITLE: str(i)}) for i in range(3)]},
            errors.ArtifactLimitError,
            "3 layers, over the limit of 2",
        ),
    ],
)
def test_bad_manifests(manifest: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        layout.layers(manifest, "oci://r/x", 2)
