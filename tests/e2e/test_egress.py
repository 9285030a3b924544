"""The SSRF guard through the admission pipeline: denials name the address class and the fix,
a ClusterModelPolicy's allowance opens an address only for the references it governs, and
`pvc://` is denied as unverifiable at admission."""

from __future__ import annotations

import pathlib

import pytest

from modelward import netrules
from modelward.pipeline import admit, decode
from modelward.structs import evidence, policy
from tests.e2e.test_sources import isvc, key_auth, make_policy, publish
from tests.fixtures import https, signing
from tests.fixtures.https import HttpsServer
from tests.fixtures.settings import make_settings


async def decide(settings, uri: str, *policies: policy.Policy) -> evidence.Decision:  # type: ignore[no-untyped-def]
    async with admit.running(settings) as admitter:
        return await admitter.admit(decode.from_object(isvc(uri)), policies)


@pytest.fixture
def served(tmp_path: pathlib.Path, https_server: HttpsServer, bert_model: pathlib.Path):  # type: ignore[no-untyped-def]
    key = signing.make_ec_key(tmp_path, "k")
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    return key, publish(https_server, bert_model, "bert.tar.gz", sig)


async def test_loopback_source_is_refused_by_default_without_a_request(
    tmp_path, https_server, served
) -> None:  # type: ignore[no-untyped-def]
    key, uri = served
    settings = make_settings(
        work_dir=tmp_path / "w", ca_bundle=https_server.ca_path, egress_allow=netrules.Allowance()
    )
    decision = await decide(settings, uri, make_policy(key_auth(key)))
    assert not decision.allowed
    assert decision.reason == "EgressDenied"
    assert "127.0.0.1 is a loopback address" in decision.message
    assert "spec.predictor.model.storageUri" in decision.message
    assert "MODELWARD_EGRESS_ALLOW" in decision.message
    assert https_server.requests == []


async def test_cluster_policy_allowance_opens_only_what_it_governs(
    tmp_path, https_server, served
) -> None:  # type: ignore[no-untyped-def]
    key, uri = served
    settings = make_settings(
        work_dir=tmp_path / "w", ca_bundle=https_server.ca_path, egress_allow=netrules.Allowance()
    )
    allowing = make_policy(key_auth(key), sources={"allow": ["127.0.0.1/32"]})
    assert (await decide(settings, uri, allowing)).allowed

    # A policy for other models vouches for nothing here.
    elsewhere = make_policy(key_auth(key), globs=("oci://**",), sources={"allow": ["127.0.0.1"]})
    decision = await decide(settings, uri, make_policy(key_auth(key)), elsewhere)
    assert decision.reason == "EgressDenied"


async def test_blocked_cluster_range_is_named(tmp_path, https_server, served) -> None:  # type: ignore[no-untyped-def]
    key, uri = served
    settings = make_settings(
        work_dir=tmp_path / "w",
        ca_bundle=https_server.ca_path,
        egress_allow=netrules.Allowance(),
        blocked_networks=netrules.parse_networks(["127.0.0.0/8"], what="t"),
    )
    allowing_host_only = make_policy(key_auth(key), sources={"allow": ["localhost"]})
    decision = await decide(settings, uri, allowing_host_only)
    assert decision.reason == "EgressDenied"


@pytest.mark.parametrize(
    ("location", "text"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://[::ffff:169.254.169.254]/", "a link-local address"),
        ("http://2852039166/", "2852039166 means 169.254.169.254, a link-local address"),
        ("http://metadata.google.internal/", "a cloud metadata service name"),
    ],
)
async def test_redirect_to_metadata_is_denied(
    tmp_path, https_server, served, location, text
) -> None:  # type: ignore[no-untyped-def]
    key, uri = served
    https_server.override("/bert.tar.gz", https.redirect(location))
    settings = make_settings(work_dir=tmp_path / "w", ca_bundle=https_server.ca_path)
    decision = await decide(settings, uri, make_policy(key_auth(key)))
    assert decision.reason == "EgressDenied"
    assert text in decision.message


async def test_pvc_is_unverifiable_at_admission(tmp_path: pathlib.Path) -> None:
    key = signing.make_ec_key(tmp_path, "k")
    settings = make_settings(work_dir=tmp_path / "w")
    decision = await decide(settings, "pvc://models-claim/bert", make_policy(key_auth(key)))
    assert not decision.allowed
    assert decision.reason == "Unverifiable"
    assert (
        "model pvc://models-claim/bert (spec.predictor.model.storageUri): unverifiable at "
        "admission: modelward cannot read a volume at admission"
    ) in decision.message
    assert "the runtime check verifies the files mounted into the pod" in decision.message
    assert decision.message.endswith(
        "allow this one explicitly with a policy whose only authority is `static: {action: pass}`"
    )


@pytest.mark.parametrize(
    ("uri", "endpoint", "text"),
    [
        ("oci://169.254.169.254/models/bert:v1", None, "169.254.169.254 is a link-local"),
        ("oci://[::ffff:169.254.169.254]:5000/m:v1", None, "a link-local address"),
        ("https://100.100.100.200/m.tar.gz", None, "a cloud metadata address"),
        ("hf://acme/bert", "http://169.254.169.254", "169.254.169.254 is a link-local"),
        ("hf://acme/bert", "http://metadata.google.internal", "cloud metadata service name"),
    ],
)
async def test_every_source_is_guarded(
    tmp_path: pathlib.Path, uri: str, endpoint: str | None, text: str
) -> None:
    key = signing.make_ec_key(tmp_path, "k")
    settings = make_settings(
        work_dir=tmp_path / "w",
        insecure_registries=frozenset({"169.254.169.254", "[::ffff:169.254.169.254]:5000"}),
        hf_endpoint=endpoint or "http://127.0.0.1:9",
    )
    decision = await decide(settings, uri, make_policy(key_auth(key)))
    assert decision.reason == "EgressDenied", decision.message
    assert text in decision.message
