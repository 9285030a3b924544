"""`oci://` models: ORAS artifacts, CNCF ModelPack artifacts and KServe modelcar images;
signatures inside the artifact, as OCI 1.1 referrers, or at the cosign-style tag."""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import Mapping

from modelward import errors
from modelward.oci import client as oci_client
from modelward.oci import index, layout, media, tarlayers
from modelward.oci import reference as oci_reference
from modelward.sources import base
from modelward.structs import refs

PARALLEL_BLOBS = 4


class OciArtifact:
    """A manifest fetched by digest; files and signatures are read on demand."""

    def __init__(
        self,
        *,
        pinned: refs.PinnedRef,
        client: oci_client.RegistryClient,
        reference: oci_reference.Reference,
        manifest_digest: str,
        packaging: layout.Packaging,
        layers: list[layout.Layer],
        ctx: base.FetchContext,
    ) -> None:
        self._pinned = pinned
        self._client = client
        self._reference = reference
        self._manifest_digest = manifest_digest
        self.packaging = packaging
        self._layers = layers
        self._ctx = ctx

    @property
    def pinned(self) -> refs.PinnedRef:
        return self._pinned

    @property
    def layers(self) -> list[layout.Layer]:
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

    def _model_layers(self) -> list[layout.Layer]:
        model = [layer for layer in self._layers if layer.path != media.IN_ARTIFACT_SIGNATURE]
        total = sum(layer.size for layer in model)
        limit = self._ctx.settings.limits.max_artifact_bytes
        if total > limit:
            raise errors.ArtifactLimitError(
                f"the model has {total} bytes, over the limit of {limit}",
                ref=self._pinned.pinned_uri,
            )
        return model

    async def bound_files(self) -> Mapping[str, str]:
        """Files stored as is are known by their layer digest, which the runtime checks every
        byte it pulls against: only archives are read."""
        return await self._files(pull_raw=False, keep=False)

    async def files(self) -> Mapping[str, str]:
        return await self._files(pull_raw=True, keep=True)

    async def hashed_files(self) -> Mapping[str, str]:
        """Every blob is pulled and its digest checked as it streams; files stored as is are
        not written (archives are, to be unpacked in memory)."""
        return await self._files(pull_raw=True, keep=False)

    async def _files(self, *, pull_raw: bool, keep: bool) -> Mapping[str, str]:
        model = self._model_layers()
        semaphore = asyncio.Semaphore(PARALLEL_BLOBS)
        root = self._ctx.model_dir
        blobs = self._ctx.workdir / "blobs"
        uri = self._pinned.pinned_uri

        def target(layer: layout.Layer) -> pathlib.Path | None:
            if layer.path is None:
                return blobs / layer.digest.replace(":", "-")
            return root / layer.path if keep else None

        async def pull(layer: layout.Layer) -> str:
            async with semaphore:
                written = await self._client.blob_to_file(
                    self._reference.repository,
                    layer.digest,
                    target(layer),
                    max_bytes=max(layer.size, 0),
                    ref=uri,
                )
            if written.size != layer.size:
                raise errors.DigestMismatch(
                    f"layer {layer.digest} has {written.size} bytes, the manifest says "
                    f"{layer.size}",
                    ref=uri,
                )
            return written.sha256

        async def digest_of(layer: layout.Layer) -> str:
            if layer.path is not None and not pull_raw:
                return layer.digest.removeprefix("sha256:")
            return await pull(layer)

        digests = await asyncio.gather(*(digest_of(layer) for layer in model))
        # A download also unpacks archives into the model directory, where scanners read
        # every file; when none reads them (the fast path, hash-only pulls) they are only hashed.
        tree = tarlayers.Tree(self._ctx.settings.limits, uri, dest=root if keep else None)
        overlay = self.packaging is layout.Packaging.MODELCAR
        # Layers stack in manifest order, as the runtime applies them.
        for layer, digest in zip(model, digests, strict=True):
            if layer.path is not None:
                tree.add(layer.path, digest, layer.size, replace=overlay)
                continue
            blob = blobs / layer.digest.replace(":", "-")
            await asyncio.to_thread(tarlayers.apply, blob, layer, tree, uri)
            await asyncio.to_thread(blob.unlink)
        return dict(tree.files)


class OciSource:
    """Resolves `oci://` references through the registry's distribution API."""

    schemes: tuple[str, ...] = ("oci",)

    async def open(self, ref: refs.ModelRef, ctx: base.FetchContext) -> OciArtifact:
        reference = oci_reference.parse(ref.uri)
        provider = ctx.credentials

        async def login() -> tuple[str, str] | None:
            return _login(await provider.lookup("oci", reference.registry)) if provider else None

        client = oci_client.RegistryClient(
            ctx.session,
            reference.registry,
            insecure=reference.registry in ctx.settings.insecure_registries,
            credentials=login,
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
            child = index.choose(top.json(), ref.uri)
            manifest = await client.manifest(reference.repository, child, ref=pinned.pinned_uri)
            if manifest.media_type in media.INDEX_TYPES:
                raise errors.UnsupportedReference(
                    "the image index points at another index",
                    ref=pinned.pinned_uri,
                    hint="Reference the model's manifest by its digest",
                )
        packaging, layers = layout.layers(
            manifest.json(), pinned.pinned_uri, ctx.settings.limits.max_files
        )
        return OciArtifact(
            pinned=pinned,
            client=client,
            reference=reference,
            manifest_digest=manifest.digest,
            packaging=packaging,
            layers=layers,
            ctx=ctx,
        )


def _login(found: base.Credentials | None) -> tuple[str, str] | None:
    if found is None:
        return None
    username, password = found.values.get("username"), found.values.get("password")
    return (username, password) if username and password is not None else None
