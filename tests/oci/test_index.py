"""Which manifest of an image index holds the model."""

from __future__ import annotations

from typing import Any

import pytest

from modelward import errors
from modelward.oci import index

MODELPACK = "application/vnd.cncf.model.manifest.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def entry(
    name: str, os: str | None = None, arch: str | None = None, **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"mediaType": MANIFEST, "digest": f"sha256:{name}", "size": 1, **extra}
    if os:
        out["platform"] = {"os": os, "architecture": arch}
    return out


ATTESTATION = entry(
    "att", "unknown", "unknown", annotations={"vnd.docker.reference.type": "attestation-manifest"}
)


@pytest.mark.parametrize(
    ("manifests", "chosen"),
    [
        ([entry("amd", "linux", "amd64")], "amd"),
        ([ATTESTATION, entry("model", artifactType=MODELPACK)], "model"),
        (
            [
                {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:i"},
                entry("x"),
            ],
            "x",
        ),
    ],
)
def test_choose(manifests: list[dict[str, Any]], chosen: str) -> None:
    assert index.choose({"manifests": manifests}, "oci://r/x") == f"sha256:{chosen}"


@pytest.mark.parametrize(
    ("manifests", "reason", "text"),
    [
        ([], "EmptyIndex", "no manifests"),
        ([ATTESTATION, "junk"], "EmptyIndex", "no manifests"),
        (
            [entry("arm", "linux", "arm64"), entry("amd", "linux", "amd64")],
            "AmbiguousIndex",
            "lists 2 manifests (linux/arm64, linux/amd64)",
        ),
        (
            [entry("a", artifactType=MODELPACK), entry("b", "linux", "amd64")],
            "AmbiguousIndex",
            f"({MODELPACK}, linux/amd64)",
        ),
    ],
)
def test_no_choice(manifests: list[Any], reason: str, text: str) -> None:
    with pytest.raises(errors.ResolveError) as caught:
        index.choose({"manifests": manifests}, "oci://r/x")
    assert caught.value.reason == reason
    assert text in caught.value.message
