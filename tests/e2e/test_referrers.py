"""Signatures found through the OCI 1.1 referrers API (a registry that has it), forged
referrers ignored, and the tag-schema fallback left unused when the API answers."""

from __future__ import annotations

import pathlib

import pytest

from modelward.pipeline import admit, decode
from modelward.policies import parse
from modelward.structs import evidence, policy
from tests.fixtures import models, ocipush, signing
from tests.fixtures.referrers import ReferrersProxy
from tests.fixtures.registry import Registry
from tests.fixtures.settings import make_settings


@pytest.fixture
def key(tmp_path: pathlib.Path) -> signing.KeyPair:
    return signing.make_ec_key(tmp_path, "ml")


def make_policy(key: signing.KeyPair) -> policy.Policy:
    obj = {
        "kind": "ClusterModelPolicy",
        "metadata": {"name": "signed", "uid": "u", "generation": 1},
        "spec": {
            "models": [{"glob": "**"}],
            "authorities": [{"name": "ml", "key": {"data": key.public_path.read_text()}}],
        },
    }
    return parse.parse_policy(obj, secrets=lambda *a: b"", home_namespace="modelward")


async def decide(host: str, uri: str, key: signing.KeyPair, tmp: pathlib.Path) -> evidence.Decision:
    settings = make_settings(work_dir=tmp / "work", insecure_registries=frozenset({host}))
    obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "ml", "annotations": {"modelward.io/models": uri}},
        "spec": {},
    }
    async with admit.running(settings) as admitter:
        return await admitter.admit(decode.from_object(obj), [make_policy(key)])


async def test_signature_found_through_the_referrers_api(  # type: ignore[no-untyped-def]
    registry: Registry, referrers_proxy: ReferrersProxy, tmp_path, bert_model, key
) -> None:
    via = referrers_proxy.as_registry(registry)
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    repo = ocipush.unique_repo("referrers")
    pushed = ocipush.push_model(via, repo, bert_model)
    # No tag-schema index: only the API lists the signature.
    ocipush.attach_referrer(via, repo, pushed.descriptor, sig, update_index=False)
    assert referrers_proxy.index[(repo, pushed.digest)]
    referrers_proxy.clear()
    decision = await decide(via.host, f"oci://{via.host}/{repo}:v1", key, tmp_path)
    assert decision.allowed, decision.message
    assert referrers_proxy.paths("GET", f"/v2/{repo}/referrers/{pushed.digest}")
    # The API answered, so the tag-schema index was not looked for.
    assert not referrers_proxy.paths("GET", f"/manifests/{ocipush.referrers_tag(pushed.digest)}")


async def test_forged_referrer_from_the_api_is_ignored(  # type: ignore[no-untyped-def]
    registry: Registry, referrers_proxy: ReferrersProxy, tmp_path, bert_model, key
) -> None:
    via = referrers_proxy.as_registry(registry)
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    repo = ocipush.unique_repo("referrers")
    genuine = ocipush.push_model(via, repo, bert_model, tag="good")
    evil = ocipush.push_model(
        via, repo, models.tampered_copy(bert_model, tmp_path / "evil"), tag="evil"
    )
    real = ocipush.attach_referrer(via, repo, genuine.descriptor, sig, update_index=False)
    # The registry lists the genuine model's signature under the evil model too.
    referrers_proxy.forge[(repo, evil.digest)] = [real.descriptor.to_json()]
    assert (await decide(via.host, f"oci://{via.host}/{repo}:good", key, tmp_path)).allowed
    decision = await decide(via.host, f"oci://{via.host}/{repo}:evil", key, tmp_path)
    assert not decision.allowed
    assert decision.reason == "SignatureMissing"
