"""Keyless signatures and outage handling through the whole pipeline, against a real HTTPS
server and a private Sigstore made by the tests."""

from __future__ import annotations

import json
import pathlib
import socket
from typing import Any

import pytest

from modelward.pipeline import admit, decode
from modelward.policies import parse
from modelward.structs import policy
from tests.e2e.test_sources import isvc, key_auth, publish
from tests.fixtures import https, signing
from tests.fixtures.settings import make_settings
from tests.fixtures.sigstore_stack import IDENTITY, ISSUER, SigstoreStack


def keyless_policy(stack: SigstoreStack, **keyless: Any) -> policy.Policy:
    obj = {
        "apiVersion": "modelward.io/v1alpha1",
        "kind": "ClusterModelPolicy",
        "metadata": {"name": "ci-signed", "uid": "u", "generation": 1},
        "spec": {
            "models": [{"glob": "**"}],
            "authorities": [
                {
                    "name": "ci",
                    "keyless": {
                        "issuer": ISSUER,
                        "subject": IDENTITY,
                        "trustRootRef": "private",
                        **keyless,
                    },
                }
            ],
        },
    }
    raw = json.dumps(stack.trusted_root()).encode()
    pol = parse.parse_policy(
        obj, secrets=lambda *a: b"", home_namespace="modelward", trust_roots=lambda _: raw
    )
    assert pol.ready, pol.error_message
    return pol


@pytest.mark.parametrize(
    ("keyless", "allowed"),
    [
        ({}, True),
        ({"extensions": {"githubWorkflowRef": "refs/heads/main"}}, True),
        ({"subject": "release@ml.test"}, False),
        ({"extensions": {"githubWorkflowRef": "refs/heads/dev"}}, False),
    ],
    ids=["identity", "claim", "wrong-identity", "wrong-claim"],
)
async def test_keyless_signed_model_over_https(
    tmp_path: pathlib.Path,
    https_server: https.HttpsServer,
    bert_model: pathlib.Path,
    sigstore_stack: SigstoreStack,
    keyless: dict[str, Any],
    allowed: bool,
) -> None:
    sig = sigstore_stack.sign(bert_model, tmp_path / "model.sig")
    uri = publish(https_server, bert_model, "bert.tar.gz", sig)
    settings = make_settings(work_dir=tmp_path / "work", ca_bundle=https_server.ca_path)
    async with admit.running(settings) as admitter:
        decision = await admitter.admit(
            decode.from_object(isvc(uri)), [keyless_policy(sigstore_stack, **keyless)]
        )
    assert decision.allowed is allowed, decision.message
    if allowed:
        (result,) = decision.refs[0].results
        assert result.signers == (f"keyless {IDENTITY} ({ISSUER})",)
    else:
        assert decision.reason == "UntrustedSigner"
        assert "keyless authority 'ci'" in decision.message


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def key_policy(key: signing.KeyPair, on_error: str | None) -> policy.Policy:
    spec: dict[str, Any] = {"models": [{"glob": "**"}], "authorities": [key_auth(key)]}
    if on_error:
        spec["onError"] = on_error
    obj = {
        "apiVersion": "modelward.io/v1alpha1",
        "kind": "ClusterModelPolicy",
        "metadata": {"name": "signed", "uid": "u", "generation": 1},
        "spec": spec,
    }
    return parse.parse_policy(obj, secrets=lambda *a: b"", home_namespace="modelward")


@pytest.mark.parametrize(
    ("on_error", "allowed", "warned"),
    [(None, False, False), ("deny", False, False), ("warn", True, True), ("allow", True, False)],
)
async def test_unreachable_registry_follows_on_error(
    tmp_path: pathlib.Path, on_error: str | None, allowed: bool, warned: bool
) -> None:
    key = signing.make_ec_key(tmp_path, "k")
    host = f"127.0.0.1:{closed_port()}"
    settings = make_settings(work_dir=tmp_path / "work", insecure_registries=frozenset({host}))
    async with admit.running(settings) as admitter:
        decision = await admitter.admit(
            decode.from_object(isvc(f"oci://{host}/models/bert:v1")), [key_policy(key, on_error)]
        )
    assert decision.allowed is allowed
    assert bool(decision.warnings) is warned
    if allowed:
        assert "RegistryUnavailable" in decision.tolerated[0]
    else:
        assert decision.reason == "RegistryUnavailable"


async def test_server_error_is_an_outage_and_missing_model_is_not(
    tmp_path: pathlib.Path, https_server: https.HttpsServer, bert_model: pathlib.Path
) -> None:
    key = signing.make_ec_key(tmp_path, "k")
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    uri = publish(https_server, bert_model, "down.tar.gz", sig)
    https_server.override("/down.tar.gz", https.status(503))
    settings = make_settings(work_dir=tmp_path / "work", ca_bundle=https_server.ca_path)
    async with admit.running(settings) as admitter:
        down = await admitter.admit(decode.from_object(isvc(uri)), [key_policy(key, "allow")])
        missing = await admitter.admit(
            decode.from_object(isvc(f"{https_server.url}/absent.tar.gz")),
            [key_policy(key, "allow")],
        )
    assert down.allowed
    assert "SourceUnavailable" in down.tolerated[0]
    assert not missing.allowed
    assert missing.reason != "SourceUnavailable"


def model_exception(namespace: str, expires: str = "2999-01-01T00:00:00Z", **over: Any) -> Any:
    from modelward.policies import exceptions

    spec: dict[str, Any] = {
        "policies": ["signed"],
        "models": ["**"],
        "owner": "ml-platform",
        "reason": "vendor model awaiting its signature",
        "expires": expires,
        **over,
    }
    return exceptions.parse_exception(
        {"metadata": {"name": "vendor", "namespace": namespace}, "spec": spec}
    )


@pytest.mark.parametrize(
    ("exception_namespace", "expires", "allowed"),
    [
        ("ml", "2999-01-01T00:00:00Z", True),
        ("other", "2999-01-01T00:00:00Z", False),
        ("ml", "2001-01-01T00:00:00Z", False),
    ],
    ids=["same-namespace", "other-namespace", "expired"],
)
async def test_exception_waives_a_policy_in_its_namespace_until_it_expires(
    tmp_path: pathlib.Path,
    https_server: https.HttpsServer,
    bert_model: pathlib.Path,
    exception_namespace: str,
    expires: str,
    allowed: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = signing.make_ec_key(tmp_path, "k")
    uri = publish(https_server, bert_model, "unsigned.tar.gz", None)
    settings = make_settings(work_dir=tmp_path / "work", ca_bundle=https_server.ca_path)
    ex = model_exception(exception_namespace, expires)
    caplog.set_level("INFO", logger="modelward.pipeline.admit")
    async with admit.running(settings) as admitter:
        decision = await admitter.admit(
            decode.from_object(isvc(uri)), [key_policy(key, None)], [ex]
        )
    assert decision.allowed is allowed, decision.message
    (record,) = [r for r in caplog.records if r.getMessage() == "decision"]
    logged = record.refs[0]["exceptions"]  # type: ignore[attr-defined]
    if allowed:
        (warning,) = decision.warnings
        assert "waived by ModelPolicyException ml/vendor (owner ml-platform" in warning
        assert logged == [{"policy": "signed", "exception": "ml/vendor", "owner": "ml-platform"}]
    else:
        assert decision.reason == "SignatureMissing"
        assert logged == []


async def test_exception_waives_only_the_policies_it_names(
    tmp_path: pathlib.Path, https_server: https.HttpsServer, bert_model: pathlib.Path
) -> None:
    key = signing.make_ec_key(tmp_path, "k")
    uri = publish(https_server, bert_model, "unsigned.tar.gz", None)
    other = parse.parse_policy(
        {
            "kind": "ClusterModelPolicy",
            "metadata": {"name": "security-team"},
            "spec": {"models": [{"glob": "**"}], "authorities": [key_auth(key)]},
        },
        secrets=lambda *a: b"",
        home_namespace="modelward",
    )
    settings = make_settings(work_dir=tmp_path / "work", ca_bundle=https_server.ca_path)
    async with admit.running(settings) as admitter:
        decision = await admitter.admit(
            decode.from_object(isvc(uri)), [key_policy(key, None), other], [model_exception("ml")]
        )
    assert not decision.allowed
    assert "(policy security-team)" in decision.message
    reasons = {r.policy.name: r.reason for r in decision.refs[0].results}
    assert reasons == {"signed": "Exempted", "security-team": "SignatureMissing"}


async def test_json_output_names_the_exception(
    tmp_path: pathlib.Path, https_server: https.HttpsServer, bert_model: pathlib.Path
) -> None:
    from modelward.pipeline import respond

    key = signing.make_ec_key(tmp_path, "k")
    uri = publish(https_server, bert_model, "unsigned.tar.gz", None)
    settings = make_settings(work_dir=tmp_path / "work", ca_bundle=https_server.ca_path)
    ctx = decode.from_object(isvc(uri))
    async with admit.running(settings) as admitter:
        decision = await admitter.admit(ctx, [key_policy(key, None)], [model_exception("ml")])
    (verdict,) = respond.to_json(ctx, decision)["references"][0]["policies"]
    assert verdict["reason"] == "Exempted"
    assert verdict["exception"] == {"name": "ml/vendor", "owner": "ml-platform"}
