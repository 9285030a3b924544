"""CNCF ModelPack artifacts and KServe modelcar images in a real registry: signed, tampered,
unsigned and wrong signer; files hidden or added by later layers; hostile layers."""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any

import pytest

from modelward.pipeline import admit, decode
from modelward.policies import parse
from modelward.structs import evidence, policy, scanning
from tests.fixtures import models, ocipackagings, ocipush, signing, tarballs
from tests.fixtures.registry import CountingProxy, Registry
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
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "ml", "annotations": {"modelward.io/models": uri}},
        "spec": {},
    }
    async with admit.running(settings) as admitter:
        return await admitter.admit(decode.from_object(obj), [make_policy(key)])


def push(kind: str, registry: Registry, model: pathlib.Path, **extra: Any) -> ocipush.Pushed:
    repo = ocipush.unique_repo(kind)
    if kind == "modelcar":
        return ocipackagings.push_modelcar(registry, repo, model, **extra)
    return ocipackagings.push_modelpack(registry, repo, model, tar=kind == "modelpack-tar")


KINDS = ["modelpack-raw", "modelpack-tar", "modelcar"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("signed", None),
        ("tampered", "DigestMismatch"),
        ("unsigned", "SignatureMissing"),
        ("wrong-signer", "UntrustedSigner"),
    ],
)
async def test_packagings(  # type: ignore[no-untyped-def]
    registry: Registry, tmp_path, bert_model, key, kind, case, reason
) -> None:
    signer = signing.make_ec_key(tmp_path, "other") if case == "wrong-signer" else key
    sig = signing.sign_with_key(bert_model, signer, tmp_path / "sig" / "model.sig")
    model = models.tampered_copy(bert_model, tmp_path / "t") if case == "tampered" else bert_model
    pushed = push(kind, registry, model)
    if case != "unsigned":
        ocipush.attach_referrer(registry, pushed.repo, pushed.descriptor, sig)
    decision = await decide(registry.host, f"oci://{pushed.by_tag}", key, tmp_path)
    assert decision.allowed is (reason is None), decision.message
    if reason:
        assert decision.reason == reason


async def test_modelpack_raw_by_digest_takes_the_fast_path(  # type: ignore[no-untyped-def]
    registry: Registry, tmp_path, bert_model, key
) -> None:
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    repo = ocipush.unique_repo("modelpack")
    pushed = ocipackagings.push_modelpack(registry, repo, bert_model, tar=False)
    ocipush.attach_referrer(registry, repo, pushed.descriptor, sig)
    with CountingProxy(registry.url) as proxy:
        uri = f"oci://{proxy.host}/{repo}@{pushed.digest}"
        decision = await decide(proxy.host, uri, key, tmp_path)
        assert decision.allowed, decision.message
        # The JSON files travel in a tar, so that one layer is read; the weights are not.
        weights = [
            layer["digest"]
            for layer in pushed.manifest["layers"]
            if layer["mediaType"] == ocipackagings.WEIGHT_RAW
        ]
        assert weights
        reads = [p.rsplit("/", 1)[-1] for p in proxy.blob_reads()]
        assert not set(reads) & set(weights)
        config_tar = pushed.manifest["layers"][-1]["digest"]
        assert config_tar in reads
        assert decision.refs[0].fast_path is True


@pytest.mark.parametrize(
    ("extra", "reason", "text"),
    [
        ([[("models/extra.bin", b"injected")]], "DigestMismatch", "'extra.bin' is not covered"),
        ([[("models/.wh.tokenizer.json", b"")]], "DigestMismatch", "'tokenizer.json' is in"),
        ([[("models/model.safetensors", b"swapped")]], "DigestMismatch", "'model.safetensors'"),
        ([[("models/link", tarballs.SYMLINK + "/etc/shadow")]], "UnsafePath", "'link' is a link"),
        ([[("models/../../etc/x", b"x")]], "UnsafePath", "escapes the model directory"),
        # Outside /models nothing counts: a base-image change does not matter.
        ([[("usr/bin/python", b"new")]], None, ""),
    ],
)
async def test_modelcar_layers_stack(  # type: ignore[no-untyped-def]
    registry: Registry, tmp_path, bert_model, key, extra, reason, text
) -> None:
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    pushed = push("modelcar", registry, bert_model, extra_layers=extra)
    ocipush.attach_referrer(registry, pushed.repo, pushed.descriptor, sig)
    decision = await decide(registry.host, f"oci://{pushed.by_tag}", key, tmp_path)
    assert decision.allowed is (reason is None), decision.message
    if reason:
        assert decision.reason == reason
        assert text in decision.message


async def test_model_inside_an_image_index(  # type: ignore[no-untyped-def]
    registry: Registry, tmp_path, bert_model, key
) -> None:
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    repo = ocipush.unique_repo("index")
    car = ocipackagings.push_modelcar(registry, repo, bert_model, tag="car")
    ocipush.attach_referrer(registry, repo, car.descriptor, sig)
    amd64 = {**car.descriptor.to_json(), "platform": {"os": "linux", "architecture": "amd64"}}
    http = ocipush.RegistryClient(registry)

    def put_index(tag: str, entries: list[dict[str, Any]]) -> ocipush.Pushed:
        body = {"schemaVersion": 2, "mediaType": ocipush.OCI_INDEX, "manifests": entries}
        return http.put_json_manifest(repo, tag, body)

    single = put_index("v1", [amd64])
    decision = await decide(registry.host, f"oci://{registry.host}/{repo}:v1", key, tmp_path)
    assert decision.allowed, decision.message
    # What is pinned is the index: the runtime resolves the same child from it.
    assert decision.refs[0].digest == single.digest

    tampered = ocipackagings.push_modelcar(
        registry, repo, models.tampered_copy(bert_model, tmp_path / "t"), tag="arm"
    )
    arm64 = {**tampered.descriptor.to_json(), "platform": {"os": "linux", "architecture": "arm64"}}
    put_index("multi", [amd64, arm64])
    decision = await decide(registry.host, f"oci://{registry.host}/{repo}:multi", key, tmp_path)
    assert not decision.allowed
    assert decision.reason == "AmbiguousIndex"


# A protocol-0 pickle that calls os.system when loaded.
EVIL_PICKLE = b"cos\nsystem\n(S'id'\ntR."


@pytest.mark.parametrize("kind", ["modelcar", "modelpack-tar"])
async def test_scanning_reads_files_unpacked_from_tar_layers(  # type: ignore[no-untyped-def]
    registry: Registry, tmp_path, bert_model, key, kind
) -> None:
    # Signed as it is: only a scanner, which must see the file inside the tar layer, denies it.
    (bert_model / "extra.pkl").write_bytes(EVIL_PICKLE)
    sig = signing.sign_with_key(bert_model, key, tmp_path / "sig" / "model.sig")
    pushed = push(kind, registry, bert_model)
    ocipush.attach_referrer(registry, pushed.repo, pushed.descriptor, sig)
    uri = f"oci://{registry.host}/{pushed.repo}@{pushed.digest}"
    assert (await decide(registry.host, uri, key, tmp_path)).allowed
    scanning_policy = dataclasses.replace(make_policy(key), scan=scanning.ScanPolicy())
    settings = make_settings(
        work_dir=tmp_path / "work", insecure_registries=frozenset({registry.host})
    )
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "ml", "annotations": {"modelward.io/models": uri}},
        "spec": {},
    }
    async with admit.running(settings) as admitter:
        decision = await admitter.admit(decode.from_object(obj), [scanning_policy])
    assert not decision.allowed
    assert "extra.pkl" in decision.message
