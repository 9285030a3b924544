"""`s3://` models on AWS S3 or an S3-compatible store: one object or a prefix directory.

- `s3://bucket/key`: one file or an archive; its signature is `<key>.sig`. When the bucket is
  versioned the VersionId served is pinned (`s3://bucket/key?versionId=V`).
- `s3://bucket/key?versionId=V`: that version exactly; the reference is immutable.
- `s3://bucket/prefix/` (or a key that names no object but a "folder"): a model directory
  listed with ListObjectsV2; its signature is `model.sig` at its top.

Requests are signed with AWS Signature V4 by botocore's signer and sent on the shared session.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import pathlib
import re
import urllib.parse

# Bodies are bounded before parsing, and expat refuses entity-expansion bombs.
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Sequence

import aiohttp
import yarl
from botocore import auth as botocore_auth
from botocore import awsrequest
from botocore import credentials as botocore_credentials

from modelward import errors, streams
from modelward.sources import base, https, objectstore
from modelward.structs import access, refs

BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
PAGE_KEYS = 1000
ERROR_BODY_BYTES = 64 * 1024
UNVERSIONED = "null"

# botocore's signer logs the canonical request at DEBUG, session token included.
logging.getLogger("botocore.auth").setLevel(logging.WARNING)


@dataclasses.dataclass(frozen=True, slots=True)
class Location:
    bucket: str
    key: str
    version_id: str | None = None

    @property
    def is_prefix(self) -> bool:
        return self.key == "" or self.key.endswith("/")

    def uri(self) -> str:
        quoted = urllib.parse.quote(self.version_id or "", safe="+=._-~")
        version = f"?versionId={quoted}" if self.version_id else ""
        return f"s3://{self.bucket}/{self.key}{version}"


def parse_uri(uri: str) -> Location:
    """`s3://bucket/key[?versionId=V]`; the key is taken literally (no percent-decoding)."""
    parsed = urllib.parse.urlsplit(uri)
    bucket = parsed.netloc
    # Not parse_qs: it reads `+` as a space, and version IDs contain `+`.
    pairs = [pair.partition("=") for pair in parsed.query.split("&")] if parsed.query else []
    versions = [urllib.parse.unquote(v) for k, _, v in pairs if k == "versionId"]
    others = [k for k, _, _ in pairs if k != "versionId"]
    problem = None
    if not BUCKET.match(bucket) or ".." in bucket:
        problem = f"bucket {bucket!r} is not a valid S3 bucket name"
    elif others or parsed.fragment or len(versions) > 1 or (versions and not versions[0]):
        problem = "the only query parameter allowed is one versionId"
    elif versions and (parsed.path in ("", "/") or parsed.path.endswith("/")):
        problem = "versionId names a version of one object, not of a prefix"
    if problem:
        raise errors.InputError(
            f"{uri!r}: {problem}",
            reason="BadReference",
            ref=uri,
            hint="Write s3://bucket/key, s3://bucket/key?versionId=V or s3://bucket/prefix/",
        )
    return Location(
        bucket=bucket, key=parsed.path.lstrip("/"), version_id=versions[0] if versions else None
    )


def _query(pairs: Sequence[tuple[str, str]]) -> str:
    # SigV4's canonical encoding; the signer reads the query as sent.
    return "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
        for k, v in sorted(pairs)
    )


class _Client:
    """Addressing and signing for one bucket, on the shared session."""

    def __init__(
        self, ctx: base.FetchContext, bucket: str, creds: base.Credentials | None, uri: str
    ) -> None:
        endpoint = ctx.endpoints.get("s3") or access.Endpoint()
        self._ctx = ctx
        self._uri = uri
        self.bucket = bucket
        self.region = endpoint.region or ctx.settings.s3_region
        url = endpoint.url or ctx.settings.s3_endpoint
        # S3-compatible stores rarely serve bucket subdomains; AWS itself prefers them.
        path_style = endpoint.force_path_style
        if path_style is None:
            path_style = url is not None
        url = (url or f"https://s3.{self.region}.amazonaws.com").rstrip("/")
        parsed = urllib.parse.urlsplit(url)
        # Dotted bucket names break TLS on bucket subdomains: address them by path.
        if path_style or "." in bucket:
            self._base, self._bucket_path = url, f"/{bucket}"
        else:
            self._base, self._bucket_path = f"{parsed.scheme}://{bucket}.{parsed.netloc}", ""
        self._signer: botocore_auth.S3SigV4Auth | None = None
        if creds is not None:
            values = creds.values
            key_id, secret = values.get("AWS_ACCESS_KEY_ID"), values.get("AWS_SECRET_ACCESS_KEY")
            if key_id and secret:
                self._signer = botocore_auth.S3SigV4Auth(
                    botocore_credentials.Credentials(
                        key_id, secret, values.get("AWS_SESSION_TOKEN")
                    ),
                    "s3",
                    self.region,
                )

    def url(self, key: str, query: Sequence[tuple[str, str]] = ()) -> str:
        path = self._bucket_path + "/" + urllib.parse.quote(key, safe="/~")
        return self._base + path + (f"?{_query(query)}" if query else "")

    @contextlib.asynccontextmanager
    async def get(self, url: str) -> AsyncIterator[aiohttp.ClientResponse]:
        headers: dict[str, str] = {}
        if self._signer is not None:
            request = awsrequest.AWSRequest(method="GET", url=url)
            self._signer.add_auth(request)
            headers = dict(request.headers.items())
        try:
            resp = await self._ctx.session.get(
                yarl.URL(url, encoded=True),
                headers=headers,
                ssl=https.ssl_context(self._ctx.settings.ca_bundle),
                # A redirect would carry a signature made for another URL.
                allow_redirects=False,
            )
        except aiohttp.ClientError as e:
            raise objectstore.unavailable(self._uri, e) from None
        try:
            yield resp
        finally:
            resp.release()

    async def check(self, resp: aiohttp.ClientResponse, what: str) -> None:
        """Raise the specific error for a non-200 answer."""
        if resp.status == 200:
            return
        code = await _error_code(resp)
        if resp.status == 404:
            raise objectstore.not_found(self._uri, what)
        if resp.status in (401, 403):
            raise objectstore.access_denied("s3", self._uri, resp.status, code)
        raise objectstore.refused(self._uri, what, resp.status, code)


async def _error_code(resp: aiohttp.ClientResponse) -> str:
    """Only the error's <Code>: the rest of an S3 error body can echo request details."""
    try:
        body = await resp.content.read(ERROR_BODY_BYTES)
        code = ET.fromstring(body).findtext("Code") or ""  # noqa: S314
    except (aiohttp.ClientError, ET.ParseError, ValueError):
        return ""
    return code if re.fullmatch(r"[A-Za-z.]{1,64}", code) else ""


class S3Source:
    """Resolves `s3://` references through the S3 REST API."""

    schemes: tuple[str, ...] = ("s3",)

    async def open(self, ref: refs.ModelRef, ctx: base.FetchContext) -> objectstore.ObjectArtifact:
        loc = parse_uri(ref.uri)
        creds = await ctx.credentials.lookup("s3", loc.bucket) if ctx.credentials else None
        client = _Client(ctx, loc.bucket, creds, ref.uri)
        if loc.is_prefix:
            return await _directory(ref, loc, client, ctx)
        download = ctx.workdir / "download" / "artifact"
        query = [("versionId", loc.version_id)] if loc.version_id else []
        async with client.get(client.url(loc.key, query)) as resp:
            if resp.status == 404 and loc.version_id is None:
                found = None
            else:
                await client.check(resp, f"object {loc.uri()}")
                written = await streams.to_file(
                    streams.body(resp.content),
                    download,
                    max_bytes=ctx.settings.limits.max_artifact_bytes,
                    what="the model",
                    ref=ref.uri,
                )
                found = (written, resp.headers.get("x-amz-version-id"))
        if found is None:
            # KServe writes model directories without the trailing slash.
            return await _directory(ref, dataclasses.replace(loc, key=loc.key + "/"), client, ctx)
        written, version = found
        pinned_loc = loc
        if version and version != UNVERSIONED:
            pinned_loc = dataclasses.replace(loc, version_id=version)
        pinned = refs.PinnedRef(
            ref=ref,
            digest=f"sha256:{written.sha256}",
            pinned_uri=pinned_loc.uri(),
            mutable=loc.version_id is None,
        )
        sig_key = loc.key + objectstore.SIGNATURE_SUFFIX
        return objectstore.ObjectArtifact(
            pinned=pinned,
            ctx=ctx,
            signatures=lambda: _signature(client, ctx, sig_key, pinned.pinned_uri),
            download=download,
            name=pathlib.PurePosixPath(loc.key).name,
        )


async def _directory(
    ref: refs.ModelRef, loc: Location, client: _Client, ctx: base.FetchContext
) -> objectstore.ObjectArtifact:
    listed = await _list(client, loc, ctx, ref.uri)

    async def download(key: str, dest: pathlib.Path, size: int) -> streams.Written:
        async with client.get(client.url(key)) as resp:
            await client.check(resp, f"object s3://{loc.bucket}/{key}")
            return await streams.to_file(
                streams.body(resp.content),
                dest,
                max_bytes=size,
                what=f"object {key}",
                ref=ref.uri,
            )

    sig_key = loc.key + objectstore.DIRECTORY_SIGNATURE
    return await objectstore.directory(
        ref,
        ctx,
        listed=listed,
        where=loc.uri(),
        download=download,
        signatures=lambda uri: _signature(client, ctx, sig_key, uri),
    )


async def _list(
    client: _Client, loc: Location, ctx: base.FetchContext, uri: str
) -> list[objectstore.Listed]:
    limits = ctx.settings.limits
    listed: list[objectstore.Listed] = []
    token: str | None = None
    # The signature may be one object more than the file limit allows.
    while True:
        query = [("list-type", "2"), ("prefix", loc.key), ("max-keys", str(PAGE_KEYS))]
        if token:
            query.append(("continuation-token", token))
        async with client.get(client.url("", query)) as resp:
            await client.check(resp, f"bucket {loc.bucket}")
            body = await objectstore.read_limited(
                streams.body(resp.content),
                limit=limits.max_manifest_bytes,
                what="a bucket listing page",
                ref=uri,
            )
        try:
            page = ET.fromstring(body)  # noqa: S314
        except ET.ParseError:
            raise errors.FetchError(
                f"the listing of {loc.uri()} is not S3 XML", reason="SourceError", ref=uri
            ) from None
        for item in page.iter(f"{NS}Contents"):
            key, size = item.findtext(f"{NS}Key") or "", item.findtext(f"{NS}Size") or ""
            path = objectstore.relative(key, loc.key, uri)
            if path is None:
                continue
            if not size.isdigit():
                raise errors.FetchError(
                    f"the listing gives no size for {key!r}", reason="SourceError", ref=uri
                )
            listed.append(objectstore.Listed(path=path, size=int(size), locator=key))
        if len(listed) > limits.max_files + 1:
            raise errors.ArtifactLimitError(
                f"the model directory has more than {limits.max_files} files", ref=uri
            )
        token = page.findtext(f"{NS}NextContinuationToken")
        if page.findtext(f"{NS}IsTruncated") != "true" or not token:
            return listed


async def _signature(
    client: _Client, ctx: base.FetchContext, key: str, uri: str
) -> list[base.Signature]:
    async with client.get(client.url(key)) as resp:
        if resp.status == 404:
            return []
        await client.check(resp, f"signature s3://{client.bucket}/{key}")
        data = await objectstore.read_limited(
            streams.body(resp.content),
            limit=ctx.settings.limits.max_signature_bytes,
            what="the signature",
            ref=uri,
        )
    return [base.Signature(f"signature object {key}", data)]
