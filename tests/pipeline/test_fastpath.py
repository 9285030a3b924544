"""The digest-bound fast path against a real registry: counted requests prove what was read."""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any

import pytest

from modelward.pipeline import admit, decode
from modelward.policies import parse
from modelward.sources import oci
from modelward.structs import evidence, policy, scanning
from tests.fixtures import models, ocipush, signing, tarballs
from tests.fixtures.registry import CountingProxy, Registry
from tests.fixtures.settings import make_settings


def make_policy(key: signing.KeyPair, **spec: Any) -> policy.Policy:
    obj = {
        "apiVersion": "modelward.io/v1alpha1",
        "kind": "ClusterModelPolicy",
        "metadata": {"name": "signed", "uid": "u", "generation": 1},
        "spec": {
            "models": [{"glob": "**"}],
            "authorities": [{"name": "ml", "key": {"data": key.public_path.read_text()}}],
            **spec,
        },
    }
    pol = parse.parse_policy(obj, secrets=lambda *a: b"", home_namespace="modelward")
    assert pol.ready, pol.error_message
    return pol


def isvc(uri: str) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "bert", "namespace": "ml"},
        "spec": {"predictor": {"model": {"storageUri": uri}}},
    }


@pytest.fixture
def key(tmp_path: pathlib.Path) -> signing.KeyPair:
    return signing.make_ec_key(tmp_path, "ml")


async def decide(
    proxy: CountingProxy,
    tmp_path: pathlib.Path,
    uri: str,
    pol: policy.Policy,
    *,
    pinning: bool = False,
) -> evidence.Decision:
    settings = make_settings(
        work_dir=tmp_path / "work", insecure_registries=frozenset({proxy.host})
    )
    async with admit.running(settings) as admitter:
        return await admitter.admit(decode.from_object(isvc(uri)), [pol], pinning=pinning)


def model_blob_reads(proxy: CountingProxy, pushed: ocipush.Pushed) -> list[str]:
    model = {
        layer["digest"]
        for layer in pushed.manifest["layers"]
        if layer["annotations"][ocipush.TITLE] != "model.sig"
    }
    return [p for p in proxy.blob_reads() if p.rsplit("/", 1)[-1] in model]


@pytest.mark.parametrize(
    ("by_digest", "pinning", "needs_content", "fast", "read_by"),
    [
        (True, False, False, True, "bound_files"),  # digest-bound as written
        (False, True, False, True, "bound_files"),  # the mutating webhook pins the tag
        # A tag that stays a tag: the bytes are read, only to be hashed.
        (False, False, False, False, "hashed_files"),
        # A policy that reads the bytes (a scanner): they are kept for it.
        (True, False, True, False, "files"),
    ],
)
async def test_fast_path_reads_no_model_blob(  # type: ignore[no-untyped-def]
    registry: Registry,
    tmp_path,
    bert_model,
    key,
    monkeypatch,
    by_digest,
    pinning,
    needs_content,
    fast,
    read_by,
) -> None:
    called: list[str] = []
    for name in ("files", "hashed_files", "bound_files"):
        real = getattr(oci.OciArtifact, name)

        async def spy(self, _name=name, _real=real):  # type: ignore[no-untyped-def]
            called.append(_name)
            return await _real(self)

        monkeypatch.setattr(oci.OciArtifact, name, spy)
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    repo = ocipush.unique_repo("fast")
    pushed = ocipush.push_model(registry, repo, bert_model, signature=sig)
    # A policy that scans reads the bytes: the fast path must step aside for it.
    scan = scanning.ScanPolicy() if needs_content else None
    pol = dataclasses.replace(make_policy(key), scan=scan)
    assert pol.needs_content is needs_content
    with CountingProxy(registry.url) as proxy:
        target = f"{repo}@{pushed.digest}" if by_digest else f"{repo}:v1"
        decision = await decide(
            proxy, tmp_path, f"oci://{proxy.host}/{target}", pol, pinning=pinning
        )
        assert decision.allowed, decision.message
        (result,) = decision.refs
        assert result.fast_path is fast
        assert result.mutable is not by_digest
        reads = model_blob_reads(proxy, pushed)
        assert (reads == []) is fast, reads
        if not fast:
            assert len(reads) == len(pushed.manifest["layers"]) - 1
        assert called == [read_by]


async def test_fast_path_denies_a_tampered_model_without_reading_it(  # type: ignore[no-untyped-def]
    registry: Registry, tmp_path, bert_model, key
) -> None:
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    tampered = models.tampered_copy(bert_model, tmp_path / "tampered")
    repo = ocipush.unique_repo("fast")
    pushed = ocipush.push_model(registry, repo, tampered, signature=sig)
    with CountingProxy(registry.url) as proxy:
        uri = f"oci://{proxy.host}/{repo}@{pushed.digest}"
        decision = await decide(proxy, tmp_path, uri, make_policy(key))
        assert not decision.allowed
        assert decision.reason == "DigestMismatch"
        assert "model.safetensors" in decision.message
        assert model_blob_reads(proxy, pushed) == []


async def test_directory_tarballs_are_read_and_plain_files_are_not(  # type: ignore[no-untyped-def]
    registry: Registry, tmp_path, bert_model, key
) -> None:
    # `oras push DIR` makes one gzipped tar marked for unpacking: its digest names no single
    # file, so it is read; the files pushed as is are still judged by their digests.
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    repo = ocipush.unique_repo("fast")
    http = ocipush.RegistryClient(registry)
    layers = []
    for path in sorted(p for p in bert_model.iterdir() if p.is_file()):
        raw = http.put_blob(repo, path.read_bytes(), ocipush.ORAS_FILE_LAYER).to_json()
        layers.append({**raw, "annotations": {ocipush.TITLE: path.name}})
    directory = tarballs.tar_bytes(
        tarballs.model_entries(bert_model / "1_Pooling", "1_Pooling/"), gzipped=True
    )
    tarball = http.put_blob(
        repo, directory, "application/vnd.oci.image.layer.v1.tar+gzip"
    ).to_json()
    annotations = {ocipush.TITLE: "1_Pooling", "io.deis.oras.content.unpack": "true"}
    layers.append({**tarball, "annotations": annotations})
    signature = http.put_blob(repo, sig.read_bytes(), ocipush.ORAS_FILE_LAYER).to_json()
    layers.append({**signature, "annotations": {ocipush.TITLE: "model.sig"}})
    config = http.put_blob(repo, ocipush.EMPTY_JSON, ocipush.OCI_EMPTY).to_json()
    manifest = {
        "schemaVersion": 2,
        "mediaType": ocipush.OCI_MANIFEST,
        "config": config,
        "layers": layers,
    }
    pushed = http.put_json_manifest(repo, "v1", manifest)
    with CountingProxy(registry.url) as proxy:
        uri = f"oci://{proxy.host}/{repo}@{pushed.digest}"
        decision = await decide(proxy, tmp_path, uri, make_policy(key))
        assert decision.allowed, decision.message
        assert decision.refs[0].fast_path is True
        reads = sorted(p.rsplit("/", 1)[-1] for p in proxy.blob_reads())
        assert reads == sorted([tarball["digest"], signature["digest"]])


@pytest.mark.parametrize(
    ("by_digest", "pinning", "allowed"),
    [(False, False, False), (True, False, True), (False, True, True)],
)
async def test_require_digest(  # type: ignore[no-untyped-def]
    registry: Registry, tmp_path, bert_model, key, by_digest, pinning, allowed
) -> None:
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    repo = ocipush.unique_repo("digest")
    pushed = ocipush.push_model(registry, repo, bert_model, signature=sig)
    pol = make_policy(key, requireDigest=True)
    assert pol.require_digest
    with CountingProxy(registry.url) as proxy:
        target = f"{repo}@{pushed.digest}" if by_digest else f"{repo}:v1"
        decision = await decide(
            proxy, tmp_path, f"oci://{proxy.host}/{target}", pol, pinning=pinning
        )
        assert decision.allowed is allowed, decision.message
        if not allowed:
            assert decision.reason == "DigestRequired"
            pinned = f"oci://{proxy.host}/{repo}@{pushed.digest}"
            assert f"reference {pinned} instead" in decision.message
            # Denied outright: neither signature nor model was read.
            assert proxy.blob_reads() == []
