"""Models and signatures pushed by the OCI fixtures read back as modelward will read them."""

from __future__ import annotations

import json
import pathlib

from tests.fixtures import models, ocipush, signing
from tests.fixtures.registry import CountingProxy, Registry
from tests.fixtures.signing import KeyPair


def _files(root: pathlib.Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _write(files: dict[str, bytes], root: pathlib.Path) -> pathlib.Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_push_model_as_oci11_artifact(registry: Registry, bert_model: pathlib.Path) -> None:
    repo = ocipush.unique_repo()
    pushed = ocipush.push_model(registry, repo, bert_model, tag="v1")
    manifest = pushed.manifest
    assert manifest["artifactType"] == ocipush.MODEL_ARTIFACT_TYPE
    assert manifest["config"]["mediaType"] == ocipush.OCI_EMPTY
    titles = [layer["annotations"][ocipush.TITLE] for layer in manifest["layers"]]
    assert titles == sorted(_files(bert_model))
    assert "1_Pooling/config.json" in titles
    assert ocipush.pull_files(registry, repo, "v1") == _files(bert_model)
    assert ocipush.pull_files(registry, repo, pushed.digest) == _files(bert_model)
    assert pushed.by_digest == f"{registry.host}/{repo}@{pushed.digest}"


def test_push_model_with_plain_oras(registry: Registry, bert_model: pathlib.Path) -> None:
    repo = ocipush.unique_repo()
    pushed = ocipush.push_model(registry, repo, bert_model, artifact_type=None)
    assert "artifactType" not in pushed.manifest
    assert pushed.manifest["config"]["mediaType"] == "application/vnd.unknown.config.v1+json"
    assert ocipush.pull_files(registry, repo, "v1") == _files(bert_model)


def test_push_single_file_and_large(
    registry: Registry, single_file_model: pathlib.Path, large_model: pathlib.Path
) -> None:
    repo = ocipush.unique_repo()
    ocipush.push_model(registry, repo, single_file_model, tag="single")
    assert ocipush.pull_files(registry, repo, "single") == {
        single_file_model.name: single_file_model.read_bytes()
    }
    ocipush.push_model(registry, repo, large_model, tag="large")
    assert ocipush.pull_files(registry, repo, "large") == _files(large_model)


def test_in_artifact_signature_verifies_after_pull(
    registry: Registry, bert_model: pathlib.Path, signing_key: KeyPair, tmp_path: pathlib.Path
) -> None:
    sig = signing.sign_with_key(bert_model, signing_key, tmp_path / "detached.sig")
    repo = ocipush.unique_repo()
    pushed = ocipush.push_model(registry, repo, bert_model, signature=sig)
    layer = pushed.manifest["layers"][-1]
    assert layer["annotations"][ocipush.TITLE] == "model.sig"
    pulled = _write(ocipush.pull_files(registry, repo, "v1"), tmp_path / "pulled" / "bert")
    assert (pulled / "model.sig").read_bytes() == sig.read_bytes()
    # Signed outside the directory, so model.sig is not in the signed manifest: a verifier
    # takes it out of the pulled tree before hashing.
    (tmp_path / "sig-out").mkdir()
    moved = (pulled / "model.sig").rename(tmp_path / "sig-out" / "model.sig")
    signing.verify_with_key(pulled, signing_key.public_path, moved)


def test_in_dir_signature_is_just_another_layer(
    registry: Registry, bert_model: pathlib.Path, signing_key: KeyPair, tmp_path: pathlib.Path
) -> None:
    signing.sign_with_key(bert_model, signing_key, bert_model / "model.sig")
    repo = ocipush.unique_repo()
    ocipush.push_model(registry, repo, bert_model)
    pulled = _write(ocipush.pull_files(registry, repo, "v1"), tmp_path / "pulled" / "bert")
    signing.verify_with_key(pulled, signing_key.public_path, pulled / "model.sig")


def test_referrer_and_tag_schema_index(
    registry: Registry, bert_model: pathlib.Path, signing_key: KeyPair, tmp_path: pathlib.Path
) -> None:
    repo = ocipush.unique_repo()
    model = ocipush.push_model(registry, repo, bert_model)
    sig = signing.sign_with_key(bert_model, signing_key, tmp_path / "bert.sig")
    first = ocipush.attach_referrer(registry, repo, model.descriptor, sig)
    assert first.manifest["subject"] == {
        "mediaType": ocipush.OCI_MANIFEST,
        "digest": model.digest,
        "size": model.descriptor.size,
    }
    assert first.manifest["artifactType"] == ocipush.BUNDLE_MEDIA_TYPE
    assert first.manifest["config"] == {
        "mediaType": ocipush.OCI_EMPTY,
        "digest": ocipush.sha256_digest(b"{}"),
        "size": 2,
    }
    http = ocipush.RegistryClient(registry)
    layer = first.manifest["layers"][0]
    assert layer["mediaType"] == ocipush.BUNDLE_MEDIA_TYPE
    assert http.get_blob(repo, layer["digest"]) == sig.read_bytes()

    second_sig = signing.sign_with_key(bert_model, signing_key, tmp_path / "again.sig")
    second = ocipush.attach_referrer(
        registry, repo, model.descriptor, second_sig, annotations={"n": "2"}
    )
    tag = ocipush.referrers_tag(model.digest)
    assert tag == "sha256-" + model.digest.removeprefix("sha256:")
    got = http.get_manifest(repo, tag)
    assert got is not None
    index = json.loads(got[0])
    assert got[1] == ocipush.OCI_INDEX
    listed = {e["digest"]: e for e in index["manifests"]}
    assert set(listed) == {first.digest, second.digest}  # merged, not replaced
    assert all(e["artifactType"] == ocipush.BUNDLE_MEDIA_TYPE for e in listed.values())
    assert listed[second.digest]["annotations"] == {"n": "2"}
    # Attaching the same referrer again does not list it twice.
    ocipush.add_to_referrers_index(registry, repo, model.digest, first.descriptor)
    got = http.get_manifest(repo, tag)
    assert got is not None
    assert len(json.loads(got[0])["manifests"]) == 2


def test_cosign_tag(
    registry: Registry, bert_model: pathlib.Path, signing_key: KeyPair, tmp_path: pathlib.Path
) -> None:
    repo = ocipush.unique_repo()
    model = ocipush.push_model(registry, repo, bert_model)
    sig = signing.sign_with_key(bert_model, signing_key, tmp_path / "bert.sig")
    cosign = ocipush.attach_cosign_tag(registry, repo, model.descriptor, sig)
    assert cosign.tag == ocipush.referrers_tag(model.digest) + ".sig"
    assert cosign.tag in ocipush.RegistryClient(registry).tags(repo)
    got = ocipush.RegistryClient(registry).get_manifest(repo, cosign.tag)
    assert got is not None
    manifest = json.loads(got[0])
    assert manifest["subject"]["digest"] == model.digest
    blob = ocipush.RegistryClient(registry).get_blob(repo, manifest["layers"][0]["digest"])
    assert blob == sig.read_bytes()
    bare = ocipush.attach_cosign_tag(registry, repo, model.descriptor, sig, with_subject=False)
    assert "subject" not in bare.manifest


def test_forged_referrer_and_overwritten_tag(
    registry: Registry, bert_model: pathlib.Path, signing_key: KeyPair, tmp_path: pathlib.Path
) -> None:
    repo = ocipush.unique_repo()
    model = ocipush.push_model(registry, repo, bert_model, tag="v1")
    evil_dir = models.tampered_copy(bert_model, tmp_path / "evil" / "bert")
    evil = ocipush.push_model(registry, repo, evil_dir, tag="evil")
    sig = signing.sign_with_key(evil_dir, signing_key, tmp_path / "evil.sig")
    forged = ocipush.attach_forged_referrer(registry, repo, model.descriptor, evil.descriptor, sig)
    assert forged.manifest["subject"]["digest"] == evil.digest
    got = ocipush.RegistryClient(registry).get_manifest(repo, ocipush.referrers_tag(model.digest))
    assert got is not None
    assert [e["digest"] for e in json.loads(got[0])["manifests"]] == [forged.digest]

    again = ocipush.overwrite_tag(registry, repo, "v1", evil_dir)
    assert again.digest == evil.digest != model.digest
    assert ocipush.pull_files(registry, repo, "v1") == _files(evil_dir)
    moved = ocipush.retag(registry, repo, model.digest, "v1")
    assert moved.digest == model.digest


def test_auth_registry_push(registry_auth: Registry, bert_model: pathlib.Path) -> None:
    repo = ocipush.unique_repo()
    for artifact_type in (None, ocipush.MODEL_ARTIFACT_TYPE):
        ocipush.push_model(registry_auth, repo, bert_model, artifact_type=artifact_type)
        assert ocipush.pull_files(registry_auth, repo, "v1") == _files(bert_model)


def test_manifest_read_downloads_no_blob(
    registry: Registry, counting_proxy: CountingProxy, bert_model: pathlib.Path
) -> None:
    repo = ocipush.unique_repo()
    model = ocipush.push_model(registry, repo, bert_model)
    via_proxy = ocipush.RegistryClient(registry, base_url=counting_proxy.url)
    assert via_proxy.get_manifest(repo, "v1") is not None
    assert counting_proxy.paths() == [f"/v2/{repo}/manifests/v1"]
    assert counting_proxy.blob_reads() == []
    via_proxy.get_blob(repo, model.manifest["layers"][0]["digest"])
    assert len(counting_proxy.blob_reads()) == 1
