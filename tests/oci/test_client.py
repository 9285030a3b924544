"""The registry client against the real registry in token-auth mode (bearer challenges from a
token server written for the tests): anonymous and basic-credential tokens, reuse per scope."""

from __future__ import annotations

import json

import pytest

from modelward import errors
from modelward.oci import client as oci_client
from modelward.oci import media
from modelward.pipeline import admit
from tests.fixtures import tokenauth
from tests.fixtures.registry import Registry
from tests.fixtures.settings import make_settings
from tests.fixtures.tokenauth import TokenRegistry

LOGIN = (tokenauth.USERNAME, tokenauth.PASSWORD)


async def push(host: str, repo: str, data: bytes) -> tuple[str, str]:
    """Push one blob and a manifest naming it (with credentials); their digests."""
    async with admit.new_session(make_settings()) as session:
        client = oci_client.RegistryClient(session, host, insecure=True, credentials=LOGIN)
        blob = await client.push_blob(repo, data)
        config = await client.push_blob(repo, b"{}")
        manifest = {
            "schemaVersion": 2,
            "mediaType": media.OCI_MANIFEST,
            "config": {"mediaType": media.OCI_EMPTY, "digest": config, "size": 2},
            "layers": [
                {"mediaType": "application/octet-stream", "digest": blob, "size": len(data)}
            ],
        }
        body = json.dumps(manifest).encode()
        return await client.push_manifest(repo, "v1", body, media.OCI_MANIFEST), blob


@pytest.mark.parametrize(
    ("repo", "credentials", "user"),
    [("public/model", None, None), ("private/model", LOGIN, tokenauth.USERNAME)],
)
async def test_token_is_fetched_once_per_scope_and_reused(
    token_registry: TokenRegistry, repo: str, credentials: tuple[str, str] | None, user: str | None
) -> None:
    host = token_registry.registry.host
    digest, blob = await push(host, repo, b"weights")
    token_registry.tokens.clear()
    async with admit.new_session(make_settings()) as session:
        client = oci_client.RegistryClient(session, host, insecure=True, credentials=credentials)
        manifest = await client.manifest(repo, "v1")
        assert manifest.digest == digest
        assert await client.blob_bytes(repo, blob, max_bytes=100) == b"weights"
        assert await client.manifest_exists(repo, digest)
    assert token_registry.tokens.seen() == [
        tokenauth.TokenRequest(user, (f"repository:{repo}:pull",), tokenauth.SERVICE)
    ]


@pytest.mark.parametrize(
    ("credentials", "text"),
    [(None, "the registry refused access"), (("robot", "wrong"), "getting a registry token")],
)
async def test_private_repository_needs_good_credentials(
    token_registry: TokenRegistry, credentials: tuple[str, str] | None, text: str
) -> None:
    host = token_registry.registry.host
    await push(host, "private/secret", b"weights")
    async with admit.new_session(make_settings()) as session:
        client = oci_client.RegistryClient(session, host, insecure=True, credentials=credentials)
        with pytest.raises(errors.SourceError, match=text) as caught:
            await client.manifest("private/secret", "v1")
    assert caught.value.reason == "Unauthorized"


async def test_an_expired_token_is_renewed(token_registry: TokenRegistry) -> None:
    host = token_registry.registry.host
    digest, _ = await push(host, "public/renew", b"weights")
    async with admit.new_session(make_settings()) as session:
        client = oci_client.RegistryClient(session, host, insecure=True)
        await client.manifest("public/renew", "v1")
        token_registry.tokens.clear()
        # A token the registry no longer accepts, as after expiry.
        client._tokens["repository:public/renew:pull"] = "Bearer expired"
        assert (await client.manifest("public/renew", "v1")).digest == digest
    assert len(token_registry.tokens.seen()) == 1


async def test_the_login_is_looked_up_only_when_the_registry_asks(
    registry: Registry, registry_auth: Registry
) -> None:
    """A public registry never makes modelward read the workload's Secrets; a private one
    makes it read them once, however many requests follow."""
    asked: list[str] = []

    def login_for(host: str, found: tuple[str, str] | None) -> oci_client.Login:
        async def login() -> tuple[str, str] | None:
            asked.append(host)
            return found

        return login

    for reg, found in ((registry, None), (registry_auth, ("modelward", "s3cret-pw"))):
        async with admit.new_session(make_settings()) as session:
            client = oci_client.RegistryClient(
                session, reg.host, insecure=True, credentials=login_for(reg.host, found)
            )
            assert not await client.manifest_exists("nobody/here", "v1")
            assert not await client.manifest_exists("nobody/else", "v1")
    assert asked == [registry_auth.host]
