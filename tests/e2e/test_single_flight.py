"""A thundering herd: many concurrent admissions of one unverified model fetch and verify it
once; the rest wait for that verdict instead of repeating the work."""

from __future__ import annotations

import asyncio
import pathlib

from modelward.pipeline import admit, decode
from tests.e2e.test_sources import isvc, key_auth, make_policy
from tests.fixtures import ocipush, signing
from tests.fixtures.registry import CountingProxy, Registry
from tests.fixtures.settings import make_settings

HERD = 50


async def test_a_herd_of_admissions_fetches_and_verifies_once(
    tmp_path: pathlib.Path, registry: Registry, large_model: pathlib.Path
) -> None:
    key = signing.make_ec_key(tmp_path, "k")
    sig = signing.sign_with_key(large_model, key, tmp_path / "model.sig")
    repo = ocipush.unique_repo("herd")
    pushed = ocipush.push_model(registry, repo, large_model, signature=sig)
    blobs = {layer["digest"] for layer in pushed.manifest["layers"]}
    policy = make_policy(key_auth(key), scan={"failOn": "high"})  # scanning needs every byte
    with CountingProxy(registry.url) as proxy:
        settings = make_settings(work_dir=tmp_path / "w", insecure_registries={proxy.host})
        uri = f"oci://{proxy.host}/{repo}:v1"
        async with admit.running(settings) as admitter:
            decisions = await asyncio.gather(
                *(admitter.admit(decode.from_object(isvc(uri)), [policy]) for _ in range(HERD))
            )
        assert all(d.allowed for d in decisions), decisions[0].message
        assert sum(not r.cached for d in decisions for r in d.refs) == 1
        reads = proxy.blob_reads()
        # Every blob of the artifact (model files and signature) exactly once.
        assert sorted(reads) == sorted(f"/v2/{repo}/blobs/{b}" for b in blobs)


async def test_cached_admissions_ask_the_registry_nothing_within_the_ttl(
    tmp_path: pathlib.Path, registry: Registry, bert_model: pathlib.Path
) -> None:
    key = signing.make_ec_key(tmp_path, "k")
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    repo = ocipush.unique_repo("resolved")
    ocipush.push_model(registry, repo, bert_model, signature=sig)
    policy = make_policy(key_auth(key))
    with CountingProxy(registry.url) as proxy:
        settings = make_settings(work_dir=tmp_path / "w", insecure_registries={proxy.host})
        uri = f"oci://{proxy.host}/{repo}:v1"
        obj = isvc(uri)
        async with admit.running(settings) as admitter:
            first = await admitter.admit(decode.from_object(obj), [policy])
            assert first.allowed, first.message
            proxy.clear()
            again = await admitter.admit(decode.from_object(obj), [policy])
            assert again.allowed
            assert again.refs[0].cached
            assert proxy.paths() == []  # answered from the verdict and resolution caches
            # Another namespace resolves for itself (its own credentials, if any, count).
            other = decode.from_object({**obj, "metadata": {"name": "b", "namespace": "other"}})
            assert (await admitter.admit(other, [policy])).allowed
            assert proxy.paths("GET", "/manifests/") != []
