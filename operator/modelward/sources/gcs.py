"""`gs://` models through the Google Cloud Storage JSON API: one object or a prefix directory.

- `gs://bucket/object`: one file or an archive; its signature is `<object>.sig`. The object's
  generation is pinned (`gs://bucket/object#G`).
- `gs://bucket/object#G`: that generation exactly; the reference is immutable.
- `gs://bucket/prefix/` (or a name that is no object but a "folder"): a model directory; its
  signature is `model.sig` at its top.

Credentials: an OAuth2 bearer token from the Secret key `token`, or one exchanged for the
service-account key JSON in the Secret key `key.json` (see gcs_auth).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import pathlib
import re
import urllib.parse
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import aiohttp
import yarl

from modelward import errors, streams
from modelward.sources import base, gcs_auth, https, objectstore
from modelward.structs import refs

DEFAULT_ENDPOINT = "https://storage.googleapis.com"
BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
PAGE_ITEMS = 1000
ERROR_BODY_BYTES = 64 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class Location:
    bucket: str
    name: str
    generation: str | None = None

    @property
    def is_prefix(self) -> bool:
        return self.name == "" or self.name.endswith("/")

    def uri(self) -> str:
        generation = f"#{self.generation}" if self.generation else ""
        return f"gs://{self.bucket}/{self.name}{generation}"


def parse_uri(uri: str) -> Location:
    """`gs://bucket/object[#generation]`; the object name is taken literally."""
    head, _, generation = uri.partition("#")
    parsed = urllib.parse.urlsplit(head)
    name = parsed.path.lstrip("/")
    problem = None
    if not BUCKET.match(parsed.netloc) or ".." in parsed.netloc:
        problem = f"bucket {parsed.netloc!r} is not a valid GCS bucket name"
    elif parsed.query:
        problem = "a gs:// reference takes no query; pin a generation with #<generation>"
    elif "#" in uri and not generation.isdigit():
        problem = "the generation after # must be a number"
    elif generation and (name == "" or name.endswith("/")):
        problem = "a generation names one object, not a prefix"
    if problem:
        raise errors.InputError(
            f"{uri!r}: {problem}",
            reason="BadReference",
            ref=uri,
            hint="Write gs://bucket/object, gs://bucket/object#GENERATION or gs://bucket/prefix/",
        )
    return Location(bucket=parsed.netloc, name=name, generation=generation or None)


class _Client:
    """JSON API URLs for one bucket, with the bearer token if one was granted."""

    def __init__(self, ctx: base.FetchContext, bucket: str, token: str | None, uri: str) -> None:
        endpoint = ctx.endpoints.get("gs")
        url = (endpoint.url if endpoint else None) or ctx.settings.gcs_endpoint or DEFAULT_ENDPOINT
        self._ctx = ctx
        self._uri = uri
        self.bucket = bucket
        self._objects = f"{url.rstrip('/')}/storage/v1/b/{urllib.parse.quote(bucket, safe='')}/o"
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    def url(self, name: str | None, query: Sequence[tuple[str, str]]) -> str:
        path = self._objects + (f"/{urllib.parse.quote(name, safe='')}" if name is not None else "")
        return f"{path}?{urllib.parse.urlencode(query)}" if query else path

    @contextlib.asynccontextmanager
    async def get(self, url: str) -> AsyncIterator[aiohttp.ClientResponse]:
        try:
            resp = await self._ctx.session.get(
                yarl.URL(url, encoded=True),
                headers=self._headers,
                ssl=https.ssl_context(self._ctx.settings.ca_bundle),
                # A redirect must not carry the token elsewhere.
                allow_redirects=False,
            )
        except aiohttp.ClientError as e:
            raise objectstore.unavailable(self._uri, e) from None
        try:
            yield resp
        finally:
            resp.release()

    async def check(self, resp: aiohttp.ClientResponse, what: str) -> None:
        if resp.status == 200:
            return
        if resp.status == 404:
            raise objectstore.not_found(self._uri, what)
        if resp.status in (401, 403):
            raise objectstore.access_denied("gs", self._uri, resp.status, "")
        raise objectstore.refused(self._uri, what, resp.status)

    async def json(self, url: str, what: str) -> Mapping[str, Any]:
        async with self.get(url) as resp:
            await self.check(resp, what)
            body = await objectstore.read_limited(
                streams.body(resp.content),
                limit=self._ctx.settings.limits.max_manifest_bytes,
                what=f"the metadata of {what}",
                ref=self._uri,
            )
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise errors.FetchError(
                f"the metadata of {what} is not a JSON object", reason="SourceError", ref=self._uri
            )
        return data


class GcsSource:
    """Resolves `gs://` references to object generations through the JSON API."""

    schemes: tuple[str, ...] = ("gs",)

    def __init__(self) -> None:
        self._tokens = gcs_auth.TokenCache()

    async def open(self, ref: refs.ModelRef, ctx: base.FetchContext) -> objectstore.ObjectArtifact:
        loc = parse_uri(ref.uri)
        creds = await ctx.credentials.lookup("gs", loc.bucket) if ctx.credentials else None
        token = await self._tokens.token(creds, ctx, ref.uri) if creds is not None else None
        client = _Client(ctx, loc.bucket, token, ref.uri)
        if loc.is_prefix:
            return await _directory(ref, loc, client, ctx)
        query = [("generation", loc.generation)] if loc.generation else []
        try:
            meta = await client.json(client.url(loc.name, query), f"object {loc.uri()}")
        except errors.FetchError as e:
            if e.reason != "NotFound" or loc.generation is not None:
                raise
            # KServe writes model directories without the trailing slash.
            return await _directory(ref, dataclasses.replace(loc, name=loc.name + "/"), client, ctx)
        generation, size = _generation_and_size(meta, ref.uri)
        pinned_loc = dataclasses.replace(loc, generation=generation)
        download = ctx.workdir / "download" / "artifact"
        if size > ctx.settings.limits.max_artifact_bytes:
            raise errors.ArtifactLimitError(
                f"the model is larger than the limit of {ctx.settings.limits.max_artifact_bytes} "
                "bytes",
                ref=ref.uri,
            )
        written = await _download(client, ctx, loc.name, generation, download, size, ref.uri)
        pinned = refs.PinnedRef(
            ref=ref,
            digest=f"sha256:{written.sha256}",
            pinned_uri=pinned_loc.uri(),
            mutable=loc.generation is None,
        )
        sig_name = loc.name + objectstore.SIGNATURE_SUFFIX
        return objectstore.ObjectArtifact(
            pinned=pinned,
            ctx=ctx,
            signatures=lambda: _signature(client, ctx, sig_name, pinned.pinned_uri),
            download=download,
            name=pathlib.PurePosixPath(loc.name).name,
        )


def _generation_and_size(meta: Mapping[str, Any], uri: str) -> tuple[str, int]:
    generation, size = str(meta.get("generation", "")), str(meta.get("size", ""))
    if not generation.isdigit() or not size.isdigit():
        raise errors.FetchError(
            "the object's metadata lacks a generation or size", reason="SourceError", ref=uri
        )
    return generation, int(size)


async def _download(
    client: _Client,
    ctx: base.FetchContext,
    name: str,
    generation: str,
    dest: pathlib.Path,
    size: int,
    uri: str,
) -> streams.Written:
    url = client.url(name, [("alt", "media"), ("generation", generation)])
    async with client.get(url) as resp:
        await client.check(resp, f"object gs://{client.bucket}/{name}#{generation}")
        written = await streams.to_file(
            streams.body(resp.content),
            dest,
            max_bytes=size,
            what=f"object {name}",
            ref=uri,
        )
    if written.size != size:
        raise errors.FetchError(
            f"object {name} has {written.size} bytes, its metadata says {size}",
            reason="SourceChanged",
            ref=uri,
        )
    return written


async def _directory(
    ref: refs.ModelRef, loc: Location, client: _Client, ctx: base.FetchContext
) -> objectstore.ObjectArtifact:
    listed = await _list(client, loc, ctx, ref.uri)

    async def download(locator: str, dest: pathlib.Path, size: int) -> streams.Written:
        name, _, generation = locator.rpartition("#")
        return await _download(client, ctx, name, generation, dest, size, ref.uri)

    sig_name = loc.name + objectstore.DIRECTORY_SIGNATURE
    return await objectstore.directory(
        ref,
        ctx,
        listed=listed,
        where=loc.uri(),
        download=download,
        signatures=lambda uri: _signature(client, ctx, sig_name, uri),
    )


async def _list(
    client: _Client, loc: Location, ctx: base.FetchContext, uri: str
) -> list[objectstore.Listed]:
    limits = ctx.settings.limits
    listed: list[objectstore.Listed] = []
    token: str | None = None
    while True:
        query = [("prefix", loc.name), ("maxResults", str(PAGE_ITEMS))]
        if token:
            query.append(("pageToken", token))
        page = await client.json(client.url(None, query), f"bucket {loc.bucket}")
        items = page.get("items") or []
        if not isinstance(items, list):
            raise errors.FetchError("the listing is malformed", reason="SourceError", ref=uri)
        for item in items:
            name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(name, str):
                raise errors.FetchError(
                    "the listing has an item without a name", reason="SourceError", ref=uri
                )
            path = objectstore.relative(name, loc.name, uri)
            if path is None:
                continue
            generation, size = _generation_and_size(item, uri)
            listed.append(objectstore.Listed(path=path, size=size, locator=f"{name}#{generation}"))
        # The signature may be one object more than the file limit allows.
        if len(listed) > limits.max_files + 1:
            raise errors.ArtifactLimitError(
                f"the model directory has more than {limits.max_files} files", ref=uri
            )
        token = page.get("nextPageToken")
        if not isinstance(token, str) or not token:
            return listed


async def _signature(
    client: _Client, ctx: base.FetchContext, name: str, uri: str
) -> list[base.Signature]:
    async with client.get(client.url(name, [("alt", "media")])) as resp:
        if resp.status == 404:
            return []
        await client.check(resp, f"signature gs://{client.bucket}/{name}")
        data = await objectstore.read_limited(
            streams.body(resp.content),
            limit=ctx.settings.limits.max_signature_bytes,
            what="the signature",
            ref=uri,
        )
    return [base.Signature(f"signature object {name}", data)]
