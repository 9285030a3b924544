"""`https://` models: a file or an archive, with a detached `<url>.sig` signature."""

from __future__ import annotations

import asyncio
import os
import pathlib
import ssl
import urllib.parse
from collections.abc import Mapping

import aiohttp

from modelward import errors, streams, threads
from modelward.sources import archives, base
from modelward.structs import refs

SIGNATURE_SUFFIX = ".sig"


def ssl_context(ca_bundle: pathlib.Path | None) -> ssl.SSLContext:
    """System trust plus the configured CA bundle (private model servers)."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_bundle is not None:
        context.load_verify_locations(cafile=str(ca_bundle))
    return context


class HttpsArtifact:
    """A downloaded file, identified by the sha256 of its bytes."""

    def __init__(
        self, *, pinned: refs.PinnedRef, download: pathlib.Path, ctx: base.FetchContext, name: str
    ) -> None:
        self._pinned = pinned
        self._download = download
        self._ctx = ctx
        self._name = name

    @property
    def pinned(self) -> refs.PinnedRef:
        return self._pinned

    async def signatures(self) -> list[base.Signature]:
        url = self._pinned.ref.uri + SIGNATURE_SUFFIX
        limit = self._ctx.settings.limits.max_signature_bytes
        async with _get(self._ctx, url, self._pinned.ref.uri) as resp:
            if resp.status == 404:
                return []
            _expect_ok(resp, url, self._pinned.ref.uri)
            data = bytearray()
            async for chunk in resp.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) > limit:
                    raise errors.ArtifactLimitError(
                        f"the signature {url} is larger than {limit} bytes",
                        ref=self._pinned.ref.uri,
                    )
        return [base.Signature(f"detached signature {url}", bytes(data))]

    async def files(self) -> Mapping[str, str]:
        if not archives.is_archive(self._name):
            # A hard link: the file is in model_dir for scanning without a copy.
            target = self._ctx.model_dir / self._name
            target.parent.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(os.link, self._download, target)
            return {self._name: self._pinned.digest.removeprefix("sha256:")}
        return await threads.run_stoppable(
            lambda stop: archives.unpack(
                self._download,
                self._ctx.model_dir,
                limits=self._ctx.settings.limits,
                ref=self._pinned.ref.uri,
                stop=stop,
            )
        )


class HttpsSource:
    """Downloads over TLS; the digest is the sha256 of the bytes, computed while streaming."""

    schemes: tuple[str, ...] = ("https",)

    async def open(self, ref: refs.ModelRef, ctx: base.FetchContext) -> HttpsArtifact:
        parsed = urllib.parse.urlsplit(ref.uri)
        name = pathlib.PurePosixPath(urllib.parse.unquote(parsed.path)).name
        if not parsed.hostname or not name:
            raise errors.InputError(
                f"{ref.uri!r} must name a host and a file", reason="BadReference", ref=ref.uri
            )
        download = ctx.workdir / "download" / "artifact"
        async with _get(ctx, ref.uri, ref.uri) as resp:
            _expect_ok(resp, ref.uri, ref.uri)
            limit = ctx.settings.limits.max_artifact_bytes
            if resp.content_length is not None and resp.content_length > limit:
                raise errors.ArtifactLimitError(
                    f"the model declares {resp.content_length} bytes, over the limit of {limit} "
                    "(max artifact bytes)",
                    ref=ref.uri,
                    hint="Raise MODELWARD_MAX_ARTIFACT_BYTES (Helm value limits.maxArtifactBytes)",
                )
            written = await streams.to_file(
                streams.body(resp.content),
                download,
                max_bytes=ctx.settings.limits.max_artifact_bytes,
                what="the model",
                ref=ref.uri,
            )
        digest = f"sha256:{written.sha256}"
        pinned = refs.PinnedRef(ref=ref, digest=digest, pinned_uri=ref.uri)
        return HttpsArtifact(pinned=pinned, download=download, ctx=ctx, name=name)


class _get:  # noqa: N801  (used as `async with _get(...)`, like aiohttp's own request helpers)
    def __init__(self, ctx: base.FetchContext, url: str, ref: str) -> None:
        self._ctx, self._url, self._ref = ctx, url, ref
        self._resp: aiohttp.ClientResponse | None = None

    async def __aenter__(self) -> aiohttp.ClientResponse:
        try:
            self._resp = await self._ctx.session.get(
                self._url,
                ssl=ssl_context(self._ctx.settings.ca_bundle),
                max_redirects=self._ctx.settings.limits.max_redirects,
            )
        except aiohttp.TooManyRedirects:
            raise errors.FetchError(
                f"{self._url} redirects too often", reason="TooManyRedirects", ref=self._ref
            ) from None
        except aiohttp.ClientConnectorCertificateError as e:
            raise errors.FetchError(
                f"the TLS certificate of {self._url} is not trusted ({e.certificate_error})",
                reason="UntrustedServer",
                ref=self._ref,
                hint="Add the server's CA to modelward's CA bundle",
            ) from None
        except aiohttp.ClientError as e:
            raise errors.FetchError(
                f"{self._url} cannot be fetched ({type(e).__name__}: {e})",
                reason="SourceUnavailable",
                ref=self._ref,
            ) from None
        return self._resp

    async def __aexit__(self, *exc: object) -> None:
        if self._resp is not None:
            self._resp.release()


def _expect_ok(resp: aiohttp.ClientResponse, url: str, ref: str) -> None:
    if resp.status != 200:
        raise errors.FetchError(
            f"{url} answered HTTP {resp.status}",
            reason="NotFound"
            if resp.status == 404
            else "SourceUnavailable"
            if resp.status >= 500 or resp.status == 429
            else "SourceError",
            ref=ref,
        )
