"""gs:// with a service-account key JSON: exchanged for a token at a loopback token endpoint that
checks the assertion's signature, then sent as a bearer token to fake-gcs-server."""

from __future__ import annotations

import json
import pathlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from modelward.pipeline import admit, decode
from modelward.structs import evidence
from tests.e2e.test_objectstores import HOME, isvc, make_policy, secrets_of, sign
from tests.fixtures import signing
from tests.fixtures.gcs import BearerGate, FakeGcs
from tests.fixtures.gcstoken import ACCESS_TOKEN, TokenServer, service_account_key
from tests.fixtures.https import BackgroundServer
from tests.fixtures.settings import make_settings

Decide = Callable[[str, str], Any]


@pytest.fixture
def key(tmp_path: pathlib.Path) -> signing.KeyPair:
    return signing.make_ec_key(tmp_path, "ml-release")


@pytest.fixture(scope="module")
def account() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def tokens(account: rsa.RSAPrivateKey) -> Any:
    with TokenServer(account) as server:
        yield server


@pytest.fixture
def model_uri(
    gcs_server: FakeGcs, key: signing.KeyPair, tmp_path: pathlib.Path, bert_model: pathlib.Path
) -> str:
    bucket = gcs_server.new_bucket()
    gcs_server.put_directory(bucket, "bert/", bert_model)
    gcs_server.put(bucket, "bert/model.sig", sign(bert_model, key, tmp_path, "g.sig"))
    return f"gs://{bucket}/bert"


@pytest.fixture
async def decide(
    tmp_path: pathlib.Path, gcs_server: FakeGcs, key: signing.KeyPair
) -> AsyncIterator[Decide]:
    """Admit an InferenceService for `uri` under a policy whose gs:// Secret holds `key_json`;
    fake-gcs-server sits behind a gate that wants the token endpoint's token."""
    settings = make_settings(work_dir=tmp_path / "work", namespace=HOME)
    with BearerGate(gcs_server.url, ACCESS_TOKEN) as gate:
        sources = {
            "gcs": {"endpoint": gate.url},
            "credentials": [{"scheme": "gs", "secretRef": {"name": "gcs-sa"}}],
        }
        async with admit.running(settings) as admitter:

            async def run(uri: str, key_json: str) -> evidence.Decision:
                secrets = secrets_of(None, **{f"{HOME}/gcs-sa": {"key.json": key_json}})
                pol = make_policy(key, sources=sources, secrets=secrets)
                return await admitter.admit(decode.from_object(isvc(uri)), [pol])

            yield run


async def test_good_key_gets_a_token_and_the_model_is_verified(
    decide: Decide, tokens: TokenServer, account: rsa.RSAPrivateKey, model_uri: str
) -> None:
    key_json = service_account_key(tokens.token_uri, account)
    decision = await decide(model_uri, key_json)
    assert decision.allowed, decision.message
    # A second admission with the same Secret and key reuses the token.
    assert (await decide(model_uri, key_json)).allowed
    assert tokens.granted == 1
    assert tokens.refused == []


async def test_wrong_key_is_denied_clearly(
    decide: Decide, tokens: TokenServer, model_uri: str
) -> None:
    decision = await decide(model_uri, service_account_key(tokens.token_uri))
    assert not decision.allowed
    assert decision.reason == "AccessDenied"
    assert f"the token endpoint {tokens.token_uri}" in decision.message
    assert "refused the key with HTTP 400 (invalid_grant)" in decision.message
    assert "Secret modelward/gcs-sa" in decision.message
    assert tokens.granted == 0
    assert tokens.refused


async def test_token_endpoint_down_is_a_clear_error_within_budget(
    decide: Decide, model_uri: str
) -> None:
    closed = BackgroundServer(web.Application())  # a port that is bound, never served
    down = f"http://127.0.0.1:{closed.port}/token"
    started = time.monotonic()
    decision = await decide(model_uri, service_account_key(down))
    elapsed = time.monotonic() - started
    assert not decision.allowed
    assert f"the token endpoint {down}" in decision.message
    assert "cannot be reached" in decision.message
    assert elapsed < 15


@pytest.mark.parametrize(
    ("token_uri", "reason", "message"),
    [
        ("http://169.254.169.254/token", "EgressDenied", "169.254.169.254"),
        ("http://metadata.google.internal/token", "EgressDenied", "metadata.google.internal"),
        ("file:///etc/passwd", "InvalidCredentials", "not an HTTP(S) URL"),
    ],
)
async def test_token_uri_obeys_the_egress_rules(
    decide: Decide, model_uri: str, token_uri: str, reason: str, message: str
) -> None:
    decision = await decide(model_uri, service_account_key(token_uri))
    assert not decision.allowed
    assert decision.reason == reason, decision.message
    assert message in decision.message


@pytest.mark.parametrize(
    ("key_json", "message"),
    [
        ("not json", "is not JSON"),
        (json.dumps({"type": "authorized_user"}), "is not a service-account key"),
        (
            json.dumps({"type": "service_account", "client_email": "a@b"}),
            "lacks one of client_email, private_key, token_uri",
        ),
        (
            json.dumps(
                {
                    "type": "service_account",
                    "client_email": "a@b",
                    "private_key": "x",
                    "token_uri": "http://127.0.0.1:9/token",
                }
            ),
            "private key of the service-account key in Secret modelward/gcs-sa cannot be loaded",
        ),
    ],
)
async def test_malformed_keys_are_named_not_shown(
    decide: Decide, model_uri: str, key_json: str, message: str
) -> None:
    decision = await decide(model_uri, key_json)
    assert not decision.allowed
    assert decision.reason == "InvalidCredentials"
    assert message in decision.message
