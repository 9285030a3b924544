"""Service-account keys: the token cache, per Secret and key, until the token expires."""

from __future__ import annotations

import pathlib

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from modelward.pipeline import admit
from modelward.sources import base, gcs_auth
from tests.fixtures.gcstoken import ACCESS_TOKEN, TokenServer, service_account_key
from tests.fixtures.settings import make_settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"token": "t-1"}, None),
        ({"key.json": "{}", "token": "t-1"}, "{}"),
        ({"gcloud-application-credentials.json": "{}"}, "{}"),
        ({}, None),
    ],
)
def test_key_json_is_found_under_either_name(values: dict[str, str], expected: str | None) -> None:
    assert gcs_auth.key_json(base.Credentials(values, "Secret ns/s")) == expected


async def test_tokens_are_cached_per_secret_until_they_expire(tmp_path: pathlib.Path) -> None:
    account = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    clock = Clock()
    cache = gcs_auth.TokenCache(clock=clock)
    with TokenServer(account, expires_in=120) as server:
        key = service_account_key(server.token_uri, account)
        settings = make_settings()
        async with admit.new_session(settings) as session:
            ctx = base.FetchContext(session=session, settings=settings, workdir=tmp_path)

            async def token(origin: str) -> str | None:
                creds = base.Credentials({"key.json": key}, origin)
                return await cache.token(creds, ctx, "gs://b/m")

            assert await token("Secret a/sa") == ACCESS_TOKEN
            clock.now += 59
            assert await token("Secret a/sa") == ACCESS_TOKEN
            assert server.granted == 1
            # Another namespace's Secret with the same key gets its own exchange.
            await token("Secret b/sa")
            assert server.granted == 2
            # In its last minute a token is replaced.
            clock.now += 2
            await token("Secret a/sa")
            assert server.granted == 3
