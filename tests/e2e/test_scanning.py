"""Scanning in the admission pipeline, against a real registry and a real HTTPS server:
signed-but-malicious models are denied, benign ones admitted; thresholds, exceptions,
known-bad digests and signed scan attestations."""

from __future__ import annotations

import datetime
import hashlib
import pathlib
import pickle
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest

from modelward.pipeline import admit, decode
from modelward.policies import parse
from modelward.scanners import dispatch
from modelward.structs import evidence, policy
from modelward.trust import attestation
from tests.fixtures import models, ocipush, signing
from tests.fixtures.https import HttpsServer
from tests.fixtures.registry import Registry
from tests.fixtures.settings import make_settings
from tests.scanners import corpus


def make_policy(key: signing.KeyPair, **spec: Any) -> policy.Policy:
    obj = {
        "kind": "ClusterModelPolicy",
        "metadata": {"name": "scanned", "uid": "u", "generation": 1},
        "spec": {
            "models": [{"glob": "**"}],
            "authorities": [{"name": "ml-release", "key": {"data": key.public_path.read_text()}}],
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
        "metadata": {"name": "m", "namespace": "ml"},
        "spec": {"predictor": {"model": {"storageUri": uri}}},
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
            return await admitter.admit(decode.from_object(isvc(uri)), policies)

        yield decide
    work = tmp_path / "work"
    assert not (work.exists() and any(work.iterdir())), "work directories must be cleaned up"


@pytest.fixture
def key(tmp_path: pathlib.Path) -> signing.KeyPair:
    return signing.make_ec_key(tmp_path, "ml-release")


def model_with(base: pathlib.Path, name: str, checkpoint: Any) -> pathlib.Path:
    """A BERT-like directory plus a PyTorch-style checkpoint `pytorch_model.bin`."""
    model = models.make_bert(base, name)
    with corpus.stand_in_modules():
        corpus.torch_zip(model / "pytorch_model.bin", checkpoint)
    return model


@pytest.fixture
def evil_model(tmp_path: pathlib.Path) -> pathlib.Path:
    return model_with(
        tmp_path / "models", "evil", {"model": corpus.state_dict(), "x": corpus.Getcwd()}
    )


@pytest.fixture
def good_model(tmp_path: pathlib.Path) -> pathlib.Path:
    return model_with(tmp_path / "models", "good", corpus.checkpoint())


def push_signed(
    registry: Registry, model: pathlib.Path, key: signing.KeyPair, tmp: pathlib.Path
) -> tuple[str, ocipush.Pushed]:
    sig = signing.sign_with_key(model, key, tmp / f"{model.name}.sig")
    repo = ocipush.unique_repo()
    pushed = ocipush.push_model(registry, repo, model, signature=sig)
    return repo, pushed


async def test_signed_but_malicious_model_is_denied_with_rule_and_location(
    run, registry, tmp_path, evil_model, key
) -> None:  # type: ignore[no-untyped-def]
    repo, _ = push_signed(registry, evil_model, key, tmp_path)
    uri = f"oci://{registry.host}/{repo}:v1"
    assert (await run(uri, make_policy(key))).allowed  # the signature alone is fine
    decision = await run(uri, make_policy(key, scan={}))
    assert not decision.allowed
    assert decision.reason == "ScanFinding"
    assert "pickle.dangerous-global" in decision.message
    assert "pytorch_model.bin!archive/data.pkl" in decision.message
    assert "posix.getcwd" in decision.message


async def test_signed_benign_checkpoint_is_admitted(
    run, registry, tmp_path, good_model, key
) -> None:  # type: ignore[no-untyped-def]
    repo, _ = push_signed(registry, good_model, key, tmp_path)
    decision = await run(f"oci://{registry.host}/{repo}:v1", make_policy(key, scan={}))
    assert decision.allowed, decision.message
    assert "no finding at or above high" in decision.refs[0].results[0].message


async def test_https_single_file_is_scanned(run, tmp_path, https_server, key) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "m" / "model.pkl"
    path.parent.mkdir()
    path.write_bytes(pickle.dumps(corpus.Getuser(), protocol=4))
    sig = signing.sign_with_key(path, key, tmp_path / "m.sig")
    shutil.copy(path, https_server.root / "model.pkl")
    shutil.copy(sig, https_server.root / "model.pkl.sig")
    decision = await run(f"{https_server.url}/model.pkl", make_policy(key, scan={}))
    assert decision.reason == "ScanFinding"
    assert "pickle.unsafe-global" in decision.message
    assert "getpass.getuser" in decision.message


async def test_fail_on_and_exceptions(run, registry, tmp_path, key) -> None:  # type: ignore[no-untyped-def]
    model = models.make_bert(tmp_path / "models", "k")
    corpus.keras_file(model / "model.keras", [corpus.DENSE, corpus.CUSTOM])
    repo, pushed = push_signed(registry, model, key, tmp_path)
    uri = f"oci://{registry.host}/{repo}:v1"
    assert (await run(uri, make_policy(key, scan={"failOn": "high"}))).allowed
    medium = await run(uri, make_policy(key, scan={"failOn": "medium"}))
    assert medium.reason == "ScanFinding"
    assert "keras.custom-object" in medium.message
    file_digest = "sha256:" + hashlib.sha256((model / "model.keras").read_bytes()).hexdigest()
    for digest in (pushed.digest, file_digest):
        excepted = make_policy(
            key,
            scan={
                "failOn": "medium",
                "exceptions": [{"rule": "keras.custom-object", "digest": digest, "reason": "ours"}],
            },
        )
        assert (await run(uri, excepted)).allowed
    other_rule = make_policy(
        key,
        scan={
            "failOn": "medium",
            "exceptions": [{"rule": "keras.lambda-layer", "digest": pushed.digest, "reason": "x"}],
        },
    )
    assert not (await run(uri, other_rule)).allowed


async def test_known_bad_digests_are_denied_with_the_reason(
    run, registry, tmp_path, good_model, key
) -> None:  # type: ignore[no-untyped-def]
    repo, pushed = push_signed(registry, good_model, key, tmp_path)
    uri = f"oci://{registry.host}/{repo}:v1"
    listed = make_policy(key, knownBad={"digests": [{"digest": pushed.digest, "reason": "CVE-1"}]})
    decision = await run(uri, listed)
    assert decision.reason == "KnownBad"
    assert "CVE-1" in decision.message
    file_digest = (
        "sha256:" + hashlib.sha256((good_model / "pytorch_model.bin").read_bytes()).hexdigest()
    )
    by_file = make_policy(key, knownBad={"digests": [{"digest": file_digest, "reason": "leaked"}]})
    decision = await run(uri, by_file)
    assert decision.reason == "KnownBad"
    assert "pytorch_model.bin" in decision.message
    assert "leaked" in decision.message


def attest(
    model: pathlib.Path,
    signer: signing.KeyPair,
    out: pathlib.Path,
    *,
    digest: str,
    age_hours: float = 0,
) -> pathlib.Path:
    """A scan attestation that reports the model clean (what a compromised scanner would say)."""
    files = {
        name: hashlib.sha256(p.read_bytes()).hexdigest() for p, name in dispatch.iter_files(model)
    }
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=age_hours)
    stmt = attestation.build_statement([], files, name=model.name, digest=digest, now=now)
    attestation.sign(stmt, signer.private_path, out)
    return out


@pytest.mark.parametrize(
    ("case", "admitted"),
    [("trusted", True), ("untrusted", False), ("other-digest", False), ("too-old", False)],
)
async def test_scan_attestations(run, registry, tmp_path, evil_model, key, case, admitted) -> None:  # type: ignore[no-untyped-def]
    scanner_key = signing.make_ec_key(tmp_path, "ci-scanner")
    repo, pushed = push_signed(registry, evil_model, key, tmp_path)
    signer = signing.make_ec_key(tmp_path, "rogue") if case == "untrusted" else scanner_key
    digest = "sha256:" + "0" * 64 if case == "other-digest" else pushed.digest
    age = 800 if case == "too-old" else 0
    bundle = attest(evil_model, signer, tmp_path / "scan.json", digest=digest, age_hours=age)
    ocipush.attach_referrer(registry, repo, pushed.descriptor, bundle)
    pol = make_policy(
        key,
        scan={
            "attestations": {
                "authorities": [
                    {"name": "ci", "key": {"data": scanner_key.public_path.read_text()}}
                ],
                "maxAge": "720h",
            }
        },
    )
    decision = await run(f"oci://{registry.host}/{repo}:v1", pol)
    assert decision.allowed is admitted, decision.message
    # Only a trusted attestation is recorded as verified (and listed in `modelward bom`).
    expected = (attestation.PREDICATE_TYPE,) if admitted else ()
    assert decision.refs[0].results[0].attestations == expected
    if admitted:
        assert "the scan attested by ci" in decision.refs[0].results[0].message
    else:
        assert "pickle.dangerous-global" in decision.message
