"""OAuth2 access tokens for Google Cloud Storage from a service-account key JSON.

The key (as GCP gives it: `type`, `client_email`, `private_key`, `token_uri`, ...) signs a JWT
assertion with google-auth's signer; the assertion is exchanged at the key's `token_uri` for
an access token (RFC 7523 jwt-bearer grant). The exchange goes through the fetch context's
session, so the token URI, which the key's author wrote, obeys the same egress rules as every
model URL. Tokens are cached until shortly before they expire, per Secret and key.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
from google.auth import crypt, jwt

from modelward import errors, streams
from modelward.sources import base, https, objectstore

# The Secret keys that may hold the key JSON: a plain name, and the one KServe's GCS
# credentials use.
KEY_FILES = ("key.json", "gcloud-application-credentials.json")
REQUIRED = ("client_email", "private_key", "token_uri")
SCOPE = "https://www.googleapis.com/auth/devstorage.read_only"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_SECONDS = 3600
# A token is not used in its last minute: a request may take that long to reach the store.
EXPIRY_MARGIN = 60.0
TOKEN_TIMEOUT = 10.0
MAX_KEY_BYTES = 64 * 1024
MAX_ANSWER_BYTES = 64 * 1024
MAX_CACHED = 256


@dataclasses.dataclass(frozen=True, slots=True)
class ServiceAccountKey:
    """The parts of a key JSON the token exchange needs; `info` keeps the rest for the signer."""

    client_email: str
    token_uri: str
    info: Mapping[str, Any] = dataclasses.field(repr=False)


def key_json(creds: base.Credentials) -> str | None:
    """The service-account key JSON among a Secret's values, if it holds one."""
    return next((creds.values[k] for k in KEY_FILES if creds.values.get(k)), None)


def parse_key(text: str, origin: str, uri: str | None = None) -> ServiceAccountKey:
    """A service-account key JSON; a FetchError naming the Secret (never its content) if not."""
    problem = ""
    raw: Any = None
    if len(text) > MAX_KEY_BYTES:
        problem = f"is larger than {MAX_KEY_BYTES} bytes"
    else:
        try:
            raw = json.loads(text)
        except ValueError:
            problem = "is not JSON"
    if not problem:
        if not isinstance(raw, dict) or raw.get("type") != "service_account":
            problem = 'is not a service-account key (its "type" is not "service_account")'
        elif not all(isinstance(raw.get(k), str) and raw[k] for k in REQUIRED):
            problem = f"lacks one of {', '.join(REQUIRED)}"
    if problem:
        raise errors.FetchError(
            f"the service-account key in {origin} {problem}",
            reason="InvalidCredentials",
            ref=uri,
            hint="Store the key JSON that GCP issued for the service account, unchanged",
        )
    token_uri = raw["token_uri"]
    if not token_uri.startswith(("https://", "http://")):
        raise errors.FetchError(
            f"the service-account key in {origin} has a token_uri that is not an HTTP(S) URL",
            reason="InvalidCredentials",
            ref=uri,
        )
    return ServiceAccountKey(client_email=raw["client_email"], token_uri=token_uri, info=raw)


def assertion(key: ServiceAccountKey, origin: str, now: float, uri: str | None = None) -> str:
    """The signed JWT the token endpoint exchanges for an access token."""
    try:
        signer = crypt.RSASigner.from_service_account_info(key.info)  # type: ignore[no-untyped-call]
    except (ValueError, KeyError, TypeError):
        raise errors.FetchError(
            f"the private key of the service-account key in {origin} cannot be loaded",
            reason="InvalidCredentials",
            ref=uri,
            hint="Store the key JSON that GCP issued for the service account, unchanged",
        ) from None
    claims = {
        "iss": key.client_email,
        "scope": SCOPE,
        "aud": key.token_uri,
        "iat": int(now),
        "exp": int(now) + ASSERTION_SECONDS,
    }
    signed: bytes = jwt.encode(signer, claims)  # type: ignore[no-untyped-call]
    return signed.decode()


class TokenCache:
    """Access tokens by (Secret, key digest), each until its expiry; one exchange at a time per
    key, so concurrent admissions of one namespace's models make one request."""

    def __init__(self, *, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def token(self, creds: base.Credentials, ctx: base.FetchContext, uri: str) -> str | None:
        """The bearer token `creds` grant: its `token` value, or one exchanged for its key."""
        text = key_json(creds)
        if text is None:
            return creds.values.get("token") or None
        slot = (creds.origin, hashlib.sha256(text.encode()).hexdigest())
        async with self._locks.setdefault(slot, asyncio.Lock()):
            cached = self._tokens.get(slot)
            if cached is not None and cached[1] > self._clock():
                return cached[0]
            key = parse_key(text, creds.origin, uri)
            token, lifetime = await _exchange(key, creds.origin, ctx, uri)
            if len(self._tokens) >= MAX_CACHED:
                self._tokens.pop(next(iter(self._tokens)))
            self._tokens[slot] = (token, self._clock() + lifetime - EXPIRY_MARGIN)
            return token


async def _exchange(
    key: ServiceAccountKey, origin: str, ctx: base.FetchContext, uri: str
) -> tuple[str, float]:
    form = {"grant_type": GRANT_TYPE, "assertion": assertion(key, origin, time.time(), uri)}
    where = f"the token endpoint {key.token_uri} (from the service-account key in {origin})"
    try:
        async with asyncio.timeout(TOKEN_TIMEOUT):
            resp = await ctx.session.post(
                key.token_uri,
                data=form,
                ssl=https.ssl_context(ctx.settings.ca_bundle),
                allow_redirects=False,
            )
            try:
                body = await objectstore.read_limited(
                    streams.body(resp.content),
                    limit=MAX_ANSWER_BYTES,
                    what="the token endpoint's answer",
                    ref=uri,
                )
            finally:
                resp.release()
    except (aiohttp.ClientError, TimeoutError) as e:
        raise errors.FetchError(
            f"{where} cannot be reached ({type(e).__name__})",
            reason="SourceUnavailable",
            ref=uri,
            hint="Check that the token endpoint is up and that a policy's allowed sources "
            "let modelward reach it",
        ) from None
    answer = _json(body)
    if resp.status != 200:
        code = answer.get("error") if isinstance(answer.get("error"), str) else ""
        raise errors.FetchError(
            f"{where} refused the key with HTTP {resp.status}"
            + (f" ({code[:64]})" if code else ""),
            reason="AccessDenied",
            ref=uri,
            hint="Check that the service account's key is current and not revoked",
        )
    token, lifetime = answer.get("access_token"), answer.get("expires_in", ASSERTION_SECONDS)
    if not isinstance(token, str) or not token or not isinstance(lifetime, int | float):
        raise errors.FetchError(
            f"{where} answered without an access token", reason="SourceError", ref=uri
        )
    return token, float(lifetime)


def _json(body: bytes) -> Mapping[str, Any]:
    try:
        found = json.loads(body)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
