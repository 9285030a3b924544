"""An async OCI distribution client: token auth, manifests, blobs, referrers, pushes."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import json
import pathlib
import re
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp

from modelward import errors, streams
from modelward.oci import media

PULL_CREDENTIALS_HINT = (
    "Give the workload an imagePullSecret (in its pod spec or its service account) "
    "that can pull this repository"
)
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


@dataclasses.dataclass(frozen=True, slots=True)
class Manifest:
    body: bytes
    media_type: str
    digest: str

    def json(self) -> dict[str, Any]:
        """The parsed manifest; malformed JSON is a ResolveError."""
        try:
            data = json.loads(self.body)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise errors.ResolveError(
                f"manifest {self.digest} is not JSON ({e})", reason="MalformedManifest"
            ) from None
        if not isinstance(data, dict):
            raise errors.ResolveError(
                f"manifest {self.digest} is not a JSON object", reason="MalformedManifest"
            )
        return data


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# Looks the registry's login up when it first asks for one.
Login = Callable[[], Awaitable[tuple[str, str] | None]]


class RegistryClient:
    """One registry, one session; bearer tokens are fetched on a 401 challenge and reused.

    Token auth follows the distribution spec: the challenge names a realm and a service; the
    token is asked for per repository scope, anonymously or with the basic credentials given,
    and kept for later requests in that scope.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        registry: str,
        *,
        insecure: bool = False,
        credentials: tuple[str, str] | Login | None = None,
        max_manifest_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        self._session = session
        self._registry = registry
        self._base = f"{'http' if insecure else 'https'}://{registry}/v2"
        # A login is looked up only when the registry asks for one: a public registry never
        # makes modelward read the workload's Secrets.
        self._login = credentials if callable(credentials) else None
        self._credentials = None if callable(credentials) else credentials
        self._login_lock = asyncio.Lock()
        self._tokens: dict[str, str] = {}
        self._max_manifest = max_manifest_bytes

    async def manifest(
        self, repository: str, reference: str, *, ref: str | None = None
    ) -> Manifest:
        """Fetch a manifest or index; its digest is checked when asked for by digest."""
        url = f"{self._base}/{repository}/manifests/{reference}"
        async with await self._request(
            "GET", url, repository, headers={"Accept": media.ACCEPT}
        ) as resp:
            if resp.status == 404:
                raise errors.ResolveError(
                    f"the registry has no manifest {repository}:{reference}",
                    reason="ManifestNotFound",
                    ref=ref,
                    hint="Check the repository, tag or digest, and that the model was pushed",
                )
            await _expect(resp, 200, "fetching the manifest", ref)
            body = await _read_limited(resp, self._max_manifest, "the manifest", ref)
            media_type = resp.headers.get("Content-Type", "").split(";")[0].strip()
        digest = sha256_digest(body)
        if reference.startswith("sha256:") and digest != reference:
            raise errors.DigestMismatch(
                f"the registry served a manifest whose digest is {digest}, not {reference}",
                ref=ref,
            )
        manifest = Manifest(body=body, media_type=media_type, digest=digest)
        if not media_type or media_type == "application/json":
            media_type = str(manifest.json().get("mediaType", media.OCI_MANIFEST))
            manifest = Manifest(body=body, media_type=media_type, digest=digest)
        return manifest

    async def manifest_exists(self, repository: str, reference: str) -> bool:
        url = f"{self._base}/{repository}/manifests/{reference}"
        async with await self._request(
            "HEAD", url, repository, headers={"Accept": media.ACCEPT}
        ) as resp:
            return resp.status == 200

    async def blob_bytes(
        self, repository: str, digest: str, *, max_bytes: int, ref: str | None = None
    ) -> bytes:
        """A small blob (a signature, a config) in memory, digest-checked."""
        url = f"{self._base}/{repository}/blobs/{digest}"
        async with await self._request("GET", url, repository) as resp:
            await _expect(resp, 200, f"fetching blob {digest}", ref)
            data = await _read_limited(resp, max_bytes, f"blob {digest}", ref)
        if sha256_digest(data) != digest:
            raise errors.DigestMismatch(
                f"the registry served wrong bytes for blob {digest}", ref=ref
            )
        return data

    async def blob_to_file(
        self,
        repository: str,
        digest: str,
        path: pathlib.Path | None,
        *,
        max_bytes: int,
        ref: str | None = None,
    ) -> streams.Written:
        """Stream a blob to `path` (None: nowhere), hashing while downloading; wrong bytes are
        a DigestMismatch."""
        url = f"{self._base}/{repository}/blobs/{digest}"
        async with await self._request("GET", url, repository) as resp:
            await _expect(resp, 200, f"fetching blob {digest}", ref)
            written = await streams.to_file(
                streams.body(resp.content),
                path,
                max_bytes=max_bytes,
                what=f"blob {digest}",
                ref=ref,
            )
        if f"sha256:{written.sha256}" != digest:
            raise errors.DigestMismatch(
                f"the registry served bytes for blob {digest} that hash to sha256:{written.sha256}",
                ref=ref,
            )
        return written

    async def referrers(
        self, repository: str, digest: str, artifact_type: str, *, ref: str | None = None
    ) -> list[dict[str, Any]]:
        """Descriptors of artifacts naming `digest` as subject: referrers API, else tag schema."""
        # Quoted: a media type's `+` would arrive as a space.
        query = urllib.parse.urlencode({"artifactType": artifact_type})
        url = f"{self._base}/{repository}/referrers/{digest}?{query}"
        async with await self._request(
            "GET", url, repository, headers={"Accept": media.OCI_INDEX}
        ) as resp:
            if resp.status == 200 and resp.headers.get("Content-Type", "").startswith(
                media.OCI_INDEX
            ):
                body = await _read_limited(resp, self._max_manifest, "the referrers index", ref)
                index = Manifest(body=body, media_type=media.OCI_INDEX, digest=sha256_digest(body))
                return _of_type(index.json(), artifact_type)
            if resp.status not in (404, 400, 405):
                await _expect(resp, 200, "listing referrers", ref)
        tag = digest.replace(":", "-")
        try:
            fallback = await self.manifest(repository, tag, ref=ref)
        except errors.ResolveError:
            return []
        return _of_type(fallback.json(), artifact_type)

    async def push_blob(self, repository: str, data: bytes) -> str:
        """Upload a blob (monolithic POST+PUT); returns its digest."""
        digest = sha256_digest(data)
        url = f"{self._base}/{repository}/blobs/uploads/"
        async with await self._request("POST", url, repository, push=True) as resp:
            await _expect(resp, 202, "starting a blob upload", None)
            location = resp.headers["Location"]
        if location.startswith("/"):
            location = self._base[: -len("/v2")] + location
        sep = "&" if "?" in location else "?"
        async with await self._request(
            "PUT",
            f"{location}{sep}digest={digest}",
            repository,
            push=True,
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        ) as resp:
            await _expect(resp, 201, "finishing a blob upload", None)
        return digest

    async def push_manifest(
        self, repository: str, reference: str, body: bytes, media_type: str
    ) -> str:
        url = f"{self._base}/{repository}/manifests/{reference}"
        async with await self._request(
            "PUT", url, repository, push=True, data=body, headers={"Content-Type": media_type}
        ) as resp:
            await _expect(resp, 201, "pushing a manifest", None)
        return sha256_digest(body)

    async def _request(
        self,
        method: str,
        url: str,
        repository: str,
        *,
        push: bool = False,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
    ) -> aiohttp.ClientResponse:
        scope = f"repository:{repository}:{'pull,push' if push else 'pull'}"
        hdrs = dict(headers or {})
        if scope in self._tokens:
            hdrs["Authorization"] = self._tokens[scope]
        try:
            resp = await self._session.request(method, url, headers=hdrs, data=data)
            # One new authorization per request: first contact, or a kept token that expired.
            if resp.status == 401:
                challenge = resp.headers.get("WWW-Authenticate", "")
                resp.release()
                self._tokens[scope] = await self._authorize(challenge, scope)
                hdrs["Authorization"] = self._tokens[scope]
                resp = await self._session.request(method, url, headers=hdrs, data=data)
        except aiohttp.ClientError as e:
            raise errors.SourceError(
                f"registry {self._registry} cannot be reached ({type(e).__name__}: {e})",
                reason="RegistryUnavailable",
            ) from None
        return resp

    async def _logged_in(self) -> tuple[str, str] | None:
        async with self._login_lock:  # concurrent challenges wait for the one lookup
            if self._login is not None:
                self._credentials = await self._login()
                self._login = None
        return self._credentials

    async def _authorize(self, challenge: str, scope: str) -> str:
        scheme, _, params_text = challenge.partition(" ")
        credentials = await self._logged_in()
        if scheme.lower() == "basic":
            if not credentials:
                raise errors.SourceError(
                    f"registry {self._registry} requires credentials",
                    reason="Unauthorized",
                    hint=PULL_CREDENTIALS_HINT,
                )
            return _basic(credentials)
        if scheme.lower() != "bearer":
            raise errors.SourceError(
                f"registry {self._registry} asks for unsupported auth {scheme!r}",
                reason="Unauthorized",
            )
        params = dict(_CHALLENGE.findall(params_text))
        realm = params.get("realm")
        if not realm:
            raise errors.SourceError(
                f"registry {self._registry} sent no token realm", reason="Unauthorized"
            )
        query = {"scope": scope, **({"service": params["service"]} if "service" in params else {})}
        headers = {"Authorization": _basic(credentials)} if credentials else {}
        try:
            async with self._session.get(realm, params=query, headers=headers) as resp:
                await _expect(resp, 200, "getting a registry token", None)
                body = json.loads(await _read_limited(resp, 1024 * 1024, "the token", None))
        except aiohttp.ClientError as e:
            raise errors.SourceError(
                f"token service of {self._registry} failed ({e})", reason="Unauthorized"
            ) from None
        token = body.get("token") or body.get("access_token")
        if not isinstance(token, str):
            raise errors.SourceError(
                f"registry {self._registry} gave no token", reason="Unauthorized"
            )
        return f"Bearer {token}"


def _basic(credentials: tuple[str, str]) -> str:
    username, password = credentials
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _of_type(index: Mapping[str, Any], artifact_type: str) -> list[dict[str, Any]]:
    manifests = index.get("manifests")
    if not isinstance(manifests, list):
        return []
    return [m for m in manifests if isinstance(m, dict) and m.get("artifactType") == artifact_type]


async def _expect(resp: aiohttp.ClientResponse, status: int, what: str, ref: str | None) -> None:
    if resp.status == status:
        return
    if resp.status in (401, 403):
        raise errors.SourceError(
            f"the registry refused access while {what} (HTTP {resp.status})",
            reason="Unauthorized",
            ref=ref,
            hint=PULL_CREDENTIALS_HINT,
        )
    # 5xx and 429 are the registry being down or overloaded: an outage, not a bad reference.
    unavailable = resp.status >= 500 or resp.status == 429
    raise errors.SourceError(
        f"the registry answered HTTP {resp.status} while {what}",
        reason="RegistryUnavailable" if unavailable else "RegistryError",
        ref=ref,
    )


async def _read_limited(
    resp: aiohttp.ClientResponse, limit: int, what: str, ref: str | None
) -> bytes:
    length = resp.content_length
    if length is not None and length > limit:
        raise errors.ArtifactLimitError(f"{what} is larger than {limit} bytes", ref=ref)
    chunks: list[bytes] = []
    total = 0
    try:
        async for chunk in resp.content.iter_chunked(64 * 1024):
            total += len(chunk)
            if total > limit:
                raise errors.ArtifactLimitError(f"{what} is larger than {limit} bytes", ref=ref)
            chunks.append(chunk)
    except aiohttp.ClientError as e:
        raise errors.FetchError(
            f"the download of {what} broke off after {total} bytes ({type(e).__name__})", ref=ref
        ) from None
    return b"".join(chunks)
