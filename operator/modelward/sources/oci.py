"""`oci://` models: ORAS-style artifacts, one file per layer, signatures inside or as referrers."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from typing import Any

from modelward import errors
from modelward.oci import client as oci_client
from modelward.oci import media
from modelward.oci import reference as oci_reference
from modelward.sources import base, paths
from modelward.structs import refs

PARALLEL_BLOBS = 4


@dataclasses.dataclass(frozen=True, slots=True)
class Layer:
    path: str
    digest: str
    size: int
    media_type: str


class OciArtifact:
    """A manifest fetched by digest; files and signatures are read on demand."""

    def __init__(
        self,
        *,
        pinned: refs.PinnedRef,
        client: oci_client.RegistryClient,
        reference: oci_reference.Reference,
        manifest_digest: str,
        layers: list[Layer],
        ctx: base.FetchContext,
    ) -> None:
        self._pinned = pinned
        self._client = client
        self._reference = reference
        self._manifest_digest = manifest_digest
        self._layers = layers
        self._ctx = ctx

    @property
    def pinned(self) -> refs.PinnedRef:
        return self._pinned

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    async def signatures(self) -> list[base.Signature]:
        limit = self._ctx.settings.limits.max_signature_bytes
        repo, uri = self._reference.repository, self._pinned.pinned_uri
        found: list[base.Signature] = []
        for layer in self._layers:
            if layer.path == media.IN_ARTIFACT_SIGNATURE:
                data = await self._client.blob_bytes(repo, layer.digest, max_bytes=limit, ref=uri)
                found.append(base.Signature(f"file {layer.path} in the artifact", data))
        subjects = {self._manifest_digest, self._pinned.digest}
        for subject in sorted(subjects):
            for desc in await self._client.referrers(repo, subject, media.SIGSTORE_BUNDLE, ref=uri):
                digest = desc.get("digest")
                if isinstance(digest, str):
                    found += await self._bundle_manifest(
                        digest, subject, f"referrer {digest}", require_subject=True
                    )
            tag = subject.replace(":", "-") + ".sig"
            if await self._client.manifest_exists(repo, tag):
                found += await self._bundle_manifest(
                    tag, subject, f"tag {tag}", require_subject=False
                )
        return found

    async def _bundle_manifest(
        self, reference: str, subject: str, origin: str, *, require_subject: bool
    ) -> list[base.Signature]:
        repo, uri = self._reference.repository, self._pinned.pinned_uri
        manifest = (await self._client.manifest(repo, reference, ref=uri)).json()
        named = (manifest.get("subject") or {}).get("digest")
        # A referrer listed for this model but naming another subject is a forgery or a stale
        # index entry: its bundle must not count for this model.
        if (require_subject or named) and named != subject:
            return []
        limit = self._ctx.settings.limits.max_signature_bytes
        out = []
        for layer in manifest.get("layers") or []:
            if isinstance(layer, dict) and layer.get("mediaType") == media.SIGSTORE_BUNDLE:
                data = await self._client.blob_bytes(
                    repo, str(layer.get("digest")), max_bytes=limit, ref=uri
                )
                out.append(base.Signature(origin, data))
        return out

    async def files(self) -> Mapping[str, str]:
        limits = self._ctx.settings.limits
        model = [layer for layer in self._layers if layer.path != media.IN_ARTIFACT_SIGNATURE]
        semaphore = asyncio.Semaphore(PARALLEL_BLOBS)
        root = self._ctx.model_dir

        async def pull(layer: Layer) -> tuple[str, str]:
            async with semaphore:
                written = await self._client.blob_to_file(
                    self._reference.repository,
                    layer.digest,
                    root / layer.path,
                    max_bytes=max(layer.size, 0),
                    ref=self._pinned.pinned_uri,
                )
            if written.size != layer.size:
                raise errors.DigestMismatch(
                    f"layer {layer.path} has {written.size} bytes, the manifest says {layer.size}",
                    ref=self._pinned.pinned_uri,
                )
            return layer.path, written.sha256

        total = sum(layer.size for layer in model)
        if total > limits.max_artifact_bytes:
            raise errors.ArtifactLimitError(
                f"the model has {total} bytes, over the limit of {limits.max_artifact_bytes}",
                ref=self._pinned.pinned_uri,
            )
        return dict(await asyncio.gather(*(pull(layer) for layer in model)))


class OciSource:
    """Resolves `oci://` references through the registry's distribution API."""

    schemes: tuple[str, ...] = ("oci",)

    async def open(self, ref: refs.ModelRef, ctx: base.FetchContext) -> OciArtifact:
        reference = oci_reference.parse(ref.uri)
        client = oci_client.RegistryClient(
            ctx.session,
            reference.registry,
            insecure=reference.registry in ctx.settings.insecure_registries,
            max_manifest_bytes=ctx.settings.limits.max_manifest_bytes,
        )
        top = await client.manifest(reference.repository, reference.identifier, ref=ref.uri)
        pinned = refs.PinnedRef(
            ref=ref,
            digest=top.digest,
            pinned_uri=reference.pinned(top.digest),
            mutable=reference.digest is None,
        )
        manifest = top
        if top.media_type in media.INDEX_TYPES:
            child = _choose_child(top.json(), ref.uri)
            manifest = await client.manifest(reference.repository, child, ref=pinned.pinned_uri)
        layers = _layers(manifest.json(), pinned.pinned_uri, ctx.settings.limits.max_files)
        return OciArtifact(
            pinned=pinned,
            client=client,
            reference=reference,
            manifest_digest=manifest.digest,
            layers=layers,
            ctx=ctx,
        )


def _choose_child(index: Mapping[str, Any], uri: str) -> str:
    manifests = [m for m in index.get("manifests") or [] if isinstance(m, dict)]
    for m in manifests:
        platform = m.get("platform") or {}
        if platform.get("os") in (None, "linux") and platform.get("architecture") in (
            None,
            "amd64",
        ):
            return str(m.get("digest"))
    if manifests:
        return str(manifests[0].get("digest"))
    raise errors.ResolveError("the image index lists no manifests", reason="EmptyIndex", ref=uri)


def _layers(manifest: Mapping[str, Any], uri: str, max_files: int) -> list[Layer]:
    raw = manifest.get("layers")
    if not isinstance(raw, list):
        raise errors.ResolveError("the manifest has no layers", reason="MalformedManifest", ref=uri)
    if len(raw) > max_files:
        raise errors.ArtifactLimitError(
            f"the artifact has {len(raw)} layers, over the limit of {max_files}", ref=uri
        )
    layers = []
    seen: set[str] = set()
    for i, layer in enumerate(raw):
        if not isinstance(layer, dict):
            raise errors.ResolveError(
                f"layer {i} is malformed", reason="MalformedManifest", ref=uri
            )
        title = (layer.get("annotations") or {}).get(media.TITLE)
        if not isinstance(title, str):
            raise errors.UnsupportedReference(
                f"layer {i} ({layer.get('mediaType')}) has no {media.TITLE} annotation; "
                "only ORAS-style artifacts with one file per layer are verified",
                ref=uri,
                hint="Push the model with `oras push` so that each file is one titled layer",
            )
        path = str(paths.safe_relative(title, ref=uri))
        if path in seen:
            raise errors.ResolveError(
                f"file {path!r} appears twice in the manifest", reason="MalformedManifest", ref=uri
            )
        seen.add(path)
        digest, size = layer.get("digest"), layer.get("size")
        if (
            not isinstance(digest, str)
            or not digest.startswith("sha256:")
            or not isinstance(size, int)
        ):
            raise errors.ResolveError(
                f"layer {path!r} lacks a sha256 digest or size", reason="MalformedManifest", ref=uri
            )
        layers.append(
            Layer(path=path, digest=digest, size=size, media_type=str(layer.get("mediaType", "")))
        )
    return layers
