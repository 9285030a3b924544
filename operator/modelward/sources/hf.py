"""`hf://org/name[@revision]` models: Hugging Face Hub repositories, pinned to a commit.

The Hub API resolves the revision (`GET {endpoint}/api/models/{repo}/revision/{rev}`) to a
commit sha and its file list; each file is then read from `{endpoint}/{repo}/resolve/{sha}/
{path}`, so every byte comes from the commit that was resolved even if the branch moves. The
signature is `model.sig` in the repository.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import pathlib
import re
import urllib.parse
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp

from modelward import errors, streams
from modelward.sources import base, https, paths
from modelward.structs import refs

SIGNATURE_FILE = "model.sig"
PARALLEL_FILES = 4
DEFAULT_REVISION = "main"
_COMMIT = re.compile(r"[0-9a-f]{40}")
_REPO_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
_REVISION = re.compile(r"[A-Za-z0-9._/-]{1,255}")


@dataclasses.dataclass(frozen=True, slots=True)
class HfReference:
    repo: str
    revision: str

    @property
    def pinned(self) -> bool:
        return _COMMIT.fullmatch(self.revision) is not None


def parse(uri: str) -> HfReference:
    """`hf://org/name@rev`, `hf://name`, or KServe's `hf://org/name:rev`."""
    body = uri.partition("://")[2]
    repo, sep, revision = body.partition("@")
    if not sep:
        repo, _, revision = body.partition(":")
    parts = repo.split("/")
    if (
        not 1 <= len(parts) <= 2
        or not all(_REPO_PART.fullmatch(p) and ".." not in p for p in parts)
        or (revision and (not _REVISION.fullmatch(revision) or ".." in revision))
    ):
        raise errors.InputError(
            f"{uri!r} is not a Hugging Face reference",
            reason="BadReference",
            ref=uri,
            hint="Write hf://ORG/NAME or hf://ORG/NAME@REVISION (a branch, tag or commit sha)",
        )
    return HfReference(repo=repo, revision=revision or DEFAULT_REVISION)


class _Budget:
    """Bytes left for the whole model, shared by the parallel downloads."""

    def __init__(self, limit: int, uri: str) -> None:
        self.limit, self.used, self._uri = limit, 0, uri

    def declared(self, n: int) -> None:
        """Refuse a declared oversize body before reading a byte of it."""
        self._check(self.used + n)

    def take(self, n: int) -> None:
        self.used += n
        self._check(self.used)

    def _check(self, total: int) -> None:
        if total > self.limit:
            raise errors.ArtifactLimitError(
                f"the model is larger than the limit of {self.limit} bytes (max artifact bytes)",
                ref=self._uri,
                hint="Raise MODELWARD_MAX_ARTIFACT_BYTES (Helm value limits.maxArtifactBytes)",
            )

    async def counted(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            self.take(len(chunk))
            yield chunk


class HfArtifact:
    """One commit of a Hub repository; files are read by commit sha, never by branch."""

    def __init__(
        self,
        *,
        pinned: refs.PinnedRef,
        client: _HubClient,
        repo: str,
        sha: str,
        files: list[str],
        ctx: base.FetchContext,
    ) -> None:
        self._pinned, self._client, self._repo, self._sha = pinned, client, repo, sha
        self._files, self._ctx = files, ctx

    @property
    def pinned(self) -> refs.PinnedRef:
        return self._pinned

    def _url(self, path: str) -> str:
        return self._client.file_url(self._repo, self._sha, path)

    async def signatures(self) -> list[base.Signature]:
        if SIGNATURE_FILE not in self._files:
            return []
        limit = self._ctx.settings.limits.max_signature_bytes
        data = await self._client.read(self._url(SIGNATURE_FILE), limit, "the signature")
        return [base.Signature(f"file {SIGNATURE_FILE} in the repository", data)]

    async def files(self) -> Mapping[str, str]:
        uri = self._pinned.pinned_uri
        budget = _Budget(self._ctx.settings.limits.max_artifact_bytes, uri)
        semaphore = asyncio.Semaphore(PARALLEL_FILES)
        root = self._ctx.model_dir

        async def pull(path: str) -> tuple[str, str]:
            async with semaphore:
                written = await self._client.download(self._url(path), root / path, budget)
            return path, written.sha256

        model = [p for p in self._files if p != SIGNATURE_FILE]
        return dict(await asyncio.gather(*(pull(p) for p in model)))


class HfSource:
    """Resolves `hf://` references through the Hub API of the configured endpoint."""

    schemes: tuple[str, ...] = ("hf",)

    async def open(self, ref: refs.ModelRef, ctx: base.FetchContext) -> HfArtifact:
        parsed = parse(ref.uri)
        endpoint = (ctx.hf_endpoint or ctx.settings.hf_endpoint).rstrip("/")
        token = await _token(ctx, endpoint)
        client = _HubClient(ctx, endpoint, token, ref.uri)
        info = await client.revision(parsed)
        sha, files = _commit(info, ref.uri, ctx.settings.limits.max_files)
        pinned = refs.PinnedRef(
            ref=ref,
            digest=f"git:{sha}",
            pinned_uri=f"hf://{parsed.repo}@{sha}",
            mutable=not parsed.pinned,
        )
        if parsed.pinned and sha != parsed.revision:
            raise errors.DigestMismatch(
                f"the hub resolved commit {parsed.revision} to {sha}", ref=ref.uri
            )
        return HfArtifact(
            pinned=pinned, client=client, repo=parsed.repo, sha=sha, files=files, ctx=ctx
        )


async def _token(ctx: base.FetchContext, endpoint: str) -> str | None:
    if ctx.credentials is None:
        return None
    host = urllib.parse.urlsplit(endpoint).hostname or ""
    found = await ctx.credentials.lookup("hf", host)
    if found is None:
        return None
    return found.values.get("HF_TOKEN") or found.values.get("token") or None


def _commit(info: Mapping[str, Any], uri: str, max_files: int) -> tuple[str, list[str]]:
    sha, siblings = info.get("sha"), info.get("siblings")
    if not isinstance(sha, str) or not _COMMIT.fullmatch(sha) or not isinstance(siblings, list):
        raise errors.ResolveError(
            "the hub's answer lacks a commit sha or a file list",
            reason="MalformedHubAnswer",
            ref=uri,
        )
    if len(siblings) > max_files:
        raise errors.ArtifactLimitError(
            f"the repository has {len(siblings)} files, over the limit of {max_files} (max files)",
            ref=uri,
            hint="Raise MODELWARD_MAX_FILES (Helm value limits.maxFiles)",
        )
    files: list[str] = []
    for entry in siblings:
        name = entry.get("rfilename") if isinstance(entry, dict) else None
        if not isinstance(name, str):
            raise errors.ResolveError(
                "the hub listed a file without a name", reason="MalformedHubAnswer", ref=uri
            )
        files.append(str(paths.safe_relative(name, ref=uri)))
    if len(set(files)) != len(files):
        raise errors.ResolveError(
            "the hub listed a file twice", reason="MalformedHubAnswer", ref=uri
        )
    return sha, files


class _HubClient:
    """The three Hub calls modelward makes, with the workload's token if it has one."""

    def __init__(self, ctx: base.FetchContext, endpoint: str, token: str | None, uri: str) -> None:
        self._ctx, self._endpoint, self._uri = ctx, endpoint, uri
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    def file_url(self, repo: str, sha: str, path: str) -> str:
        return f"{self._endpoint}/{repo}/resolve/{sha}/{urllib.parse.quote(path)}"

    async def revision(self, ref: HfReference) -> dict[str, Any]:
        rev = urllib.parse.quote(ref.revision, safe="")
        url = f"{self._endpoint}/api/models/{ref.repo}/revision/{rev}"
        limit = self._ctx.settings.limits.max_manifest_bytes
        body = await self.read(url, limit, f"the hub's answer for {ref.repo}@{ref.revision}")
        try:
            data = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            raise errors.ResolveError(
                f"the hub's answer for {ref.repo}@{ref.revision} is not a JSON object",
                reason="MalformedHubAnswer",
                ref=self._uri,
            )
        return data

    async def read(self, url: str, limit: int, what: str) -> bytes:
        async with self._get(url) as resp:
            if resp.content_length is not None and resp.content_length > limit:
                raise errors.ArtifactLimitError(
                    f"{what} is larger than the limit of {limit} bytes", ref=self._uri
                )
            data = bytearray()
            async for chunk in resp.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) > limit:
                    raise errors.ArtifactLimitError(
                        f"{what} is larger than the limit of {limit} bytes", ref=self._uri
                    )
        return bytes(data)

    async def download(self, url: str, path: pathlib.Path, budget: _Budget) -> streams.Written:
        async with self._get(url) as resp:
            if resp.content_length is not None:
                budget.declared(resp.content_length)
            return await streams.to_file(
                budget.counted(streams.body(resp.content)),
                path,
                max_bytes=budget.limit,
                what=f"file {url.rsplit('/', 1)[-1]}",
                ref=self._uri,
            )

    def _get(self, url: str) -> _Request:
        return _Request(self._ctx, url, self._headers, self._uri)


class _Request:
    def __init__(
        self, ctx: base.FetchContext, url: str, headers: Mapping[str, str], uri: str
    ) -> None:
        self._ctx, self._url, self._headers, self._uri = ctx, url, headers, uri
        self._resp: aiohttp.ClientResponse | None = None

    async def __aenter__(self) -> aiohttp.ClientResponse:
        try:
            # aiohttp drops the Authorization header on a redirect to another host (the
            # Hub's file CDN), so the token never leaves the endpoint.
            self._resp = await self._ctx.session.get(
                self._url,
                headers=self._headers,
                ssl=https.ssl_context(self._ctx.settings.ca_bundle),
                max_redirects=self._ctx.settings.limits.max_redirects,
            )
        except aiohttp.TooManyRedirects:
            raise errors.FetchError(
                f"{self._url} redirects too often", reason="TooManyRedirects", ref=self._uri
            ) from None
        except aiohttp.ClientError as e:
            raise errors.FetchError(
                f"the hub at {self._url} cannot be reached ({type(e).__name__}: {e})",
                reason="SourceUnavailable",
                ref=self._uri,
            ) from None
        _expect_ok(self._resp, self._url, self._uri, bool(self._headers))
        return self._resp

    async def __aexit__(self, *exc: object) -> None:
        if self._resp is not None:
            self._resp.release()


def _expect_ok(resp: aiohttp.ClientResponse, url: str, uri: str, had_token: bool) -> None:
    if resp.status == 200:
        return
    code = resp.headers.get("X-Error-Code", "")
    if resp.status in (401, 403):
        resp.release()
        # The Hub answers 401 alike for a missing repository and a private one.
        reason = "RepositoryNotFound" if code == "RepoNotFound" else "Unauthorized"
        if had_token:
            raise errors.FetchError(
                f"the hub refused {url} with the workload's token (HTTP {resp.status}): the "
                "repository does not exist or the token cannot read it",
                reason=reason,
                ref=uri,
                hint="Check the repository name and that the workload's HF_TOKEN can read it",
            )
        raise errors.FetchError(
            f"the hub refused {url} (HTTP {resp.status}): the repository does not exist, or "
            "is private or gated",
            reason=reason,
            ref=uri,
            hint="Check the repository name, or give the workload a Secret with HF_TOKEN",
        )
    if resp.status == 404:
        resp.release()
        reason = "RevisionNotFound" if code == "RevisionNotFound" else "NotFound"
        what = "revision" if code == "RevisionNotFound" else "repository or file"
        raise errors.ResolveError(
            f"the hub has no such {what}: {url} (HTTP 404)",
            reason=reason,
            ref=uri,
            hint="Check the repository name and the revision (branch, tag or commit sha)",
        )
    resp.release()
    raise errors.FetchError(
        f"the hub answered HTTP {resp.status} for {url}", reason="SourceError", ref=uri
    )
