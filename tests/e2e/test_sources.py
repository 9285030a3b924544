"""The admission pipeline against a real registry and a real HTTPS server: each source x
(signed, unsigned, tampered, wrong signer), signature placements, forgeries, caching."""

from __future__ import annotations

import dataclasses
import pathlib
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest

from modelward.pipeline import admit, decode
from modelward.policies import parse
from modelward.structs import evidence, policy
from tests.fixtures import https, models, ocipush, signing
from tests.fixtures.https import HttpsServer
from tests.fixtures.registry import CountingProxy, Registry
from tests.fixtures.settings import make_settings


def make_policy(
    *authorities: dict[str, Any], globs: tuple[str, ...] = ("**",), **spec: Any
) -> policy.Policy:
    obj = {
        "apiVersion": "modelward.io/v1alpha1",
        "kind": "ClusterModelPolicy",
        "metadata": {"name": "require-signed", "uid": "u", "generation": 1},
        "spec": {"models": [{"glob": g} for g in globs], "authorities": list(authorities), **spec},
    }
    pol = parse.parse_policy(obj, secrets=lambda *a: b"", home_namespace="modelward")
    assert pol.ready, pol.error_message
    return pol


def key_auth(key: signing.KeyPair, name: str = "ml-release") -> dict[str, Any]:
    return {"name": name, "key": {"data": key.public_path.read_text()}}


def isvc(uri: str) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "bert", "namespace": "ml"},
        "spec": {
            "predictor": {"model": {"modelFormat": {"name": "huggingface"}, "storageUri": uri}}
        },
    }


@pytest.fixture
async def run(
    tmp_path: pathlib.Path, registry: Registry, https_server: HttpsServer
) -> AsyncIterator[Any]:
    settings = make_settings(
        work_dir=tmp_path / "work",
        insecure_registries=frozenset({registry.host}),
        ca_bundle=https_server.ca_path,
    )
    async with admit.running(settings) as admitter:

        async def decide(uri: str, *policies: policy.Policy) -> evidence.Decision:
            ctx = decode.from_object(isvc(uri))
            return await admitter.admit(ctx, policies)

        decide.admitter = admitter  # type: ignore[attr-defined]
        yield decide
    work = tmp_path / "work"
    assert not (work.exists() and any(work.iterdir())), "work directories must be cleaned up"


@pytest.fixture
def key(tmp_path: pathlib.Path) -> signing.KeyPair:
    return signing.make_ec_key(tmp_path, "ml-release")


@pytest.fixture
def signed(tmp_path: pathlib.Path, bert_model: pathlib.Path, key: signing.KeyPair) -> pathlib.Path:
    return signing.sign_with_key(bert_model, key, tmp_path / "sigs" / "model.sig")


def only_result(decision: evidence.Decision) -> evidence.PolicyResult:
    (ref,) = decision.refs
    assert ref.error is None, ref.error
    (result,) = ref.results
    return result


# --- OCI ----------------------------------------------------------------------------------


async def test_oci_in_artifact_signature_admits_and_pins_the_digest(
    run, registry, bert_model, key, signed
) -> None:  # type: ignore[no-untyped-def]
    repo = ocipush.unique_repo()
    pushed = ocipush.push_model(registry, repo, bert_model, signature=signed)
    decision = await run(f"oci://{registry.host}/{repo}:v1", make_policy(key_auth(key)))
    assert decision.allowed, decision.message
    (ref,) = decision.refs
    assert ref.digest == pushed.digest
    assert ref.pinned_uri == f"oci://{registry.host}/{repo}@{pushed.digest}"
    assert only_result(decision).authorities == ("ml-release",)


async def test_oci_plain_oras_push_is_read_too(run, registry, bert_model, key, signed) -> None:  # type: ignore[no-untyped-def]
    repo = ocipush.unique_repo()
    ocipush.push_model(registry, repo, bert_model, signature=signed, artifact_type=None)
    assert (await run(f"oci://{registry.host}/{repo}:v1", make_policy(key_auth(key)))).allowed


@pytest.mark.parametrize("placement", ["referrer", "cosign-tag"])
async def test_oci_detached_signatures(run, registry, bert_model, key, signed, placement) -> None:  # type: ignore[no-untyped-def]
    repo = ocipush.unique_repo()
    pushed = ocipush.push_model(registry, repo, bert_model)
    if placement == "referrer":
        ocipush.attach_referrer(registry, repo, pushed.descriptor, signed)
    else:
        ocipush.attach_cosign_tag(registry, repo, pushed.descriptor, signed)
    decision = await run(
        f"oci://{registry.host}/{repo}@{pushed.digest}", make_policy(key_auth(key))
    )
    assert decision.allowed, decision.message


async def test_oci_unsigned_is_denied(run, registry, bert_model, key) -> None:  # type: ignore[no-untyped-def]
    repo = ocipush.unique_repo()
    ocipush.push_model(registry, repo, bert_model)
    decision = await run(f"oci://{registry.host}/{repo}:v1", make_policy(key_auth(key)))
    assert not decision.allowed
    assert decision.reason == "SignatureMissing"
    assert "no signature was found for the model (policy require-signed)" in decision.message


async def test_oci_tampered_file_is_named(run, registry, tmp_path, bert_model, key, signed) -> None:  # type: ignore[no-untyped-def]
    repo = ocipush.unique_repo()
    tampered = models.tampered_copy(bert_model, tmp_path / "tampered", "model.safetensors")
    ocipush.push_model(registry, repo, tampered, signature=signed)
    decision = await run(f"oci://{registry.host}/{repo}:v1", make_policy(key_auth(key)))
    assert not decision.allowed
    assert decision.reason == "DigestMismatch"
    assert (
        "file 'model.safetensors' digest differs from the signed manifest "
        "(policy require-signed, authority ml-release)"
    ) in decision.message


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("add", "file 'extra.pkl' is not covered by the signature"),
        ("remove", "file 'tokenizer.json' is in the signed manifest but missing from the model"),
    ],
)
async def test_oci_added_or_removed_file_is_denied(
    run, registry, tmp_path, bert_model, key, signed, change, message
) -> None:  # type: ignore[no-untyped-def]
    repo = ocipush.unique_repo()
    changed = models.copy_model(bert_model, tmp_path / "changed")
    if change == "add":
        (changed / "extra.pkl").write_bytes(b"\x80\x04N.")
    else:
        (changed / "tokenizer.json").unlink()
    ocipush.push_model(registry, repo, changed, signature=signed)
    decision = await run(f"oci://{registry.host}/{repo}:v1", make_policy(key_auth(key)))
    assert not decision.allowed
    assert message in decision.message


async def test_oci_wrong_signer_is_denied_without_downloading_the_model(
    tmp_path, registry, bert_model, key
) -> None:  # type: ignore[no-untyped-def]
    intruder = signing.make_ec_key(tmp_path, "intruder")
    sig = signing.sign_with_key(bert_model, intruder, tmp_path / "intruder.sig")
    repo = ocipush.unique_repo()
    pushed = ocipush.push_model(registry, repo, bert_model, signature=sig)
    with CountingProxy(registry.url) as proxy:
        settings = make_settings(
            work_dir=tmp_path / "w",
            insecure_registries=frozenset({proxy.host}),
        )
        async with admit.running(settings) as admitter:
            decision = await admitter.admit(
                decode.from_object(isvc(f"oci://{proxy.host}/{repo}:v1")),
                [make_policy(key_auth(key))],
            )
        assert not decision.allowed
        assert decision.reason == "UntrustedSigner"
        sig_layer = next(
            item
            for item in pushed.manifest["layers"]
            if item["annotations"][ocipush.TITLE] == "model.sig"
        )
        assert proxy.blob_reads() == [f"/v2/{repo}/blobs/{sig_layer['digest']}"]


async def test_oci_forged_referrer_for_another_subject_does_not_count(
    run, registry, tmp_path, bert_model, key, signed
) -> None:  # type: ignore[no-untyped-def]
    repo = ocipush.unique_repo()
    target = ocipush.push_model(
        registry, repo, models.tampered_copy(bert_model, tmp_path / "evil"), tag="evil"
    )
    genuine = ocipush.push_model(registry, repo, bert_model, tag="good")
    # The signature is real, for the genuine model; it is listed under the evil one's index.
    ocipush.attach_forged_referrer(registry, repo, target.descriptor, genuine.descriptor, signed)
    decision = await run(f"oci://{registry.host}/{repo}:evil", make_policy(key_auth(key)))
    assert not decision.allowed
    assert decision.reason == "SignatureMissing"


async def test_oci_certificate_chain_authority(run, registry, tmp_path, bert_model) -> None:  # type: ignore[no-untyped-def]
    chain = signing.make_signing_pki(tmp_path / "corp")
    other = signing.make_signing_pki(tmp_path / "other")
    sig = signing.sign_with_cert(bert_model, chain.leaf, chain.chain_paths, tmp_path / "cert.sig")
    repo = ocipush.unique_repo()
    ocipush.push_model(registry, repo, bert_model, signature=sig)
    uri = f"oci://{registry.host}/{repo}:v1"
    good = {"name": "corp-ca", "certificate": {"chain": chain.root.cert_path.read_text()}}
    bad = {"name": "other-ca", "certificate": {"chain": other.root.cert_path.read_text()}}
    assert (await run(uri, make_policy(good))).allowed
    decision = await run(uri, make_policy(bad))
    assert not decision.allowed
    assert decision.reason == "UntrustedSigner"
    assert "does not chain to authority 'other-ca'" in decision.message


async def test_oci_missing_repository_is_a_clear_error(run, registry, key) -> None:  # type: ignore[no-untyped-def]
    decision = await run(f"oci://{registry.host}/nothing/here:v1", make_policy(key_auth(key)))
    assert not decision.allowed
    assert decision.reason == "ManifestNotFound"
    assert "Check the repository, tag or digest" in decision.message


async def test_threshold_needs_two_authorities(
    run, registry, tmp_path, bert_model, key, signed
) -> None:  # type: ignore[no-untyped-def]
    security = signing.make_ec_key(tmp_path, "security")
    repo = ocipush.unique_repo()
    pushed = ocipush.push_model(registry, repo, bert_model, signature=signed)
    uri = f"oci://{registry.host}/{repo}:v1"
    pol = make_policy(key_auth(key), key_auth(security, "security"), require={"count": 2})
    decision = await run(uri, pol)
    assert not decision.allowed
    assert decision.reason == "ThresholdNotMet"
    second = signing.sign_with_key(bert_model, security, tmp_path / "sec.sig")
    ocipush.attach_referrer(registry, repo, pushed.descriptor, second)
    assert (await run(uri, pol)).allowed


async def test_verdicts_are_cached_by_digest_and_policy_revision(
    run, registry, tmp_path, bert_model, key, signed
) -> None:  # type: ignore[no-untyped-def]
    repo = ocipush.unique_repo()
    ocipush.push_model(registry, repo, bert_model, signature=signed)
    pol = make_policy(key_auth(key))
    uri = f"oci://{registry.host}/{repo}:v1"
    first, second = await run(uri, pol), await run(uri, pol)
    assert (first.refs[0].cached, second.refs[0].cached) == (False, True)
    newer = dataclasses.replace(pol, key=dataclasses.replace(pol.key, generation=2))
    assert (await run(uri, newer)).refs[0].cached is False
    # A key rotated in a Secret keeps the generation: the verdict must not be reused.
    rotated = make_policy(key_auth(signing.make_ec_key(tmp_path, "rotated")))
    decision = await run(uri, rotated)
    assert (decision.refs[0].cached, decision.allowed) == (False, False)


async def test_warn_mode_admits_with_a_warning(run, registry, bert_model, key) -> None:  # type: ignore[no-untyped-def]
    repo = ocipush.unique_repo()
    ocipush.push_model(registry, repo, bert_model)
    decision = await run(
        f"oci://{registry.host}/{repo}:v1", make_policy(key_auth(key), mode="warn")
    )
    assert decision.allowed
    assert len(decision.warnings) == 1
    assert "no signature was found" in decision.warnings[0]


# --- HTTPS --------------------------------------------------------------------------------


def publish(server: HttpsServer, model: pathlib.Path, name: str, sig: pathlib.Path | None) -> str:
    server.root.mkdir(parents=True, exist_ok=True)
    if name.endswith(".zip"):
        models.make_zip(model, server.root / name)
    elif name.endswith((".tar.gz", ".tgz")):
        models.make_tar(model, server.root / name, gzip=True)
    elif name.endswith(".tar"):
        models.make_tar(model, server.root / name)
    else:
        shutil.copy(model, server.root / name)
    if sig is not None:
        shutil.copy(sig, server.root / f"{name}.sig")
    return f"{server.url}/{name}"


@pytest.mark.parametrize("name", ["bert.tar.gz", "bert.tar", "bert.zip"])
async def test_https_archive_signed_admitted(
    run, https_server, bert_model, key, signed, name
) -> None:  # type: ignore[no-untyped-def]
    uri = publish(https_server, bert_model, name, signed)
    decision = await run(uri, make_policy(key_auth(key)))
    assert decision.allowed, decision.message
    digest = decision.refs[0].digest
    assert digest is not None
    assert digest.startswith("sha256:")


async def test_https_single_file(run, tmp_path, https_server, single_file_model, key) -> None:  # type: ignore[no-untyped-def]
    sig = signing.sign_with_key(single_file_model, key, tmp_path / "single.sig")
    uri = publish(https_server, single_file_model, "tiny.safetensors", sig)
    assert (await run(uri, make_policy(key_auth(key)))).allowed


async def test_https_unsigned_tampered_and_wrong_signer(
    run, tmp_path, https_server, bert_model, key, signed
) -> None:  # type: ignore[no-untyped-def]
    pol = make_policy(key_auth(key))
    unsigned = await run(publish(https_server, bert_model, "u.tar.gz", None), pol)
    assert unsigned.reason == "SignatureMissing"
    tampered = models.tampered_copy(bert_model, tmp_path / "t", "config.json")
    bad = await run(publish(https_server, tampered, "t.tar.gz", signed), pol)
    assert bad.reason == "DigestMismatch"
    assert "file 'config.json' digest differs" in bad.message
    other = signing.sign_with_key(
        bert_model, signing.make_ec_key(tmp_path, "x"), tmp_path / "x.sig"
    )
    wrong = await run(publish(https_server, bert_model, "w.tar.gz", other), pol)
    assert wrong.reason == "UntrustedSigner"


async def test_https_server_with_an_untrusted_certificate_is_denied(
    tmp_path, https_server, bert_model, key, signed
) -> None:  # type: ignore[no-untyped-def]
    uri = publish(https_server, bert_model, "b.tar.gz", signed)
    settings = make_settings(work_dir=tmp_path / "w")
    async with admit.running(settings) as admitter:
        decision = await admitter.admit(decode.from_object(isvc(uri)), [make_policy(key_auth(key))])
    assert not decision.allowed
    assert decision.reason == "UntrustedServer"


async def test_https_missing_model_is_not_found(run, https_server, key) -> None:  # type: ignore[no-untyped-def]
    decision = await run(f"{https_server.url}/missing.tar.gz", make_policy(key_auth(key)))
    assert decision.reason == "NotFound"


async def test_unsupported_scheme_is_unverifiable(run, key) -> None:  # type: ignore[no-untyped-def]
    decision = await run("oss://bucket/model", make_policy(key_auth(key)))
    assert not decision.allowed
    assert decision.reason == "Unverifiable"
    assert "scheme oss:// cannot be resolved and verified" in decision.message


# --- hostile bundles ----------------------------------------------------------------------


async def test_a_valid_bundle_for_another_model_does_not_verify_this_one(  # type: ignore[no-untyped-def]
    run, tmp_path, https_server, bert_model, key
) -> None:
    other = models.make_single_file(tmp_path / "other")
    for_other = signing.sign_with_key(other, key, tmp_path / "other.sig")
    decision = await run(
        publish(https_server, bert_model, "swapped.tar.gz", for_other), make_policy(key_auth(key))
    )
    assert not decision.allowed
    (ref,) = decision.refs
    (result,) = ref.results
    assert result.reason == "DigestMismatch", result


async def test_an_oversized_bundle_is_refused_at_the_limit(  # type: ignore[no-untyped-def]
    run, tmp_path, https_server, bert_model, key, signed
) -> None:
    uri = publish(https_server, bert_model, "huge.tar.gz", None)
    huge = https_server.root / "huge.tar.gz.sig"
    with huge.open("wb") as out:  # a real bundle followed by 5 MiB of padding
        shutil.copyfileobj(signed.open("rb"), out)
        out.write(b" " * (5 * 1024 * 1024))
    decision = await run(uri, make_policy(key_auth(key)))
    assert not decision.allowed
    (ref,) = decision.refs
    assert ref.error is not None, ref
    reason, message = ref.error
    assert reason == "ArtifactTooLarge", ref.error
    assert "4194304" in message


async def test_a_redirect_loop_is_denied(run, https_server, bert_model, key, signed) -> None:  # type: ignore[no-untyped-def]
    uri = publish(https_server, bert_model, "loop.tar.gz", signed)
    https_server.override("/loop.tar.gz", https.redirect("/loop.tar.gz"))
    decision = await run(uri, make_policy(key_auth(key)))
    assert not decision.allowed
    (ref,) = decision.refs
    assert ref.error is not None, ref
    assert "redirect" in ref.error[1].lower(), ref.error


async def test_a_referrer_of_another_artifact_type_is_not_a_signature(  # type: ignore[no-untyped-def]
    run, registry, bert_model, key, signed
) -> None:
    """A valid bundle published under a media type that says it is something else (an SBOM,
    say) is not taken as the model's signature."""
    repo = ocipush.unique_repo()
    pushed = ocipush.push_model(registry, repo, bert_model)
    ocipush.attach_referrer(
        registry, repo, pushed.descriptor, signed, artifact_type="application/spdx+json"
    )
    decision = await run(
        f"oci://{registry.host}/{repo}@{pushed.digest}", make_policy(key_auth(key))
    )
    assert not decision.allowed
    assert decision.reason == "SignatureMissing", decision.message
