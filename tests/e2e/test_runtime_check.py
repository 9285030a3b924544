"""The runtime check end to end: the mutating webhook of the real operator adds the verifier,
then the command it injects runs, as the init container would, on a directory standing in for
the volume."""

from __future__ import annotations

import asyncio
import datetime
import os
import pathlib
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from modelward import settings as settings_
from modelward.pipeline import claimrecords, local
from modelward.policies import parse
from modelward.record import verifications
from modelward.structs import evidence
from tests.e2e.test_operator import apply_policy, cluster_policy, response
from tests.e2e.test_pinning import patched
from tests.fixtures import models, ocipush, signing
from tests.fixtures.kube import OperatorHandle
from tests.fixtures.registry import Registry

OPERATOR_DIR = pathlib.Path(__file__).resolve().parents[2] / "operator"
VERIFIER = "reg.example/modelward:1"


@pytest.fixture
def operator_settings(registry: Registry) -> dict[str, Any]:
    return {"insecure_registries": frozenset({registry.host}), "verifier_image": VERIFIER}


@pytest.fixture
def key(tmp_path: pathlib.Path) -> signing.KeyPair:
    return signing.make_ec_key(tmp_path, "ml-release")


@pytest.fixture
def signed(
    tmp_path: pathlib.Path, registry: Registry, bert_model: pathlib.Path, key: signing.KeyPair
) -> ocipush.Pushed:
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    return ocipush.push_model(registry, ocipush.unique_repo("rt"), bert_model, signature=sig)


def run_verifier(
    init: Mapping[str, Any], mount: str, volume: pathlib.Path
) -> subprocess.CompletedProcess[str]:
    """Run the init container's command as a process, the volume's mount path swapped for
    a local directory, with only the environment the container is given."""
    args = [str(volume) + a.removeprefix(mount) if a.startswith(mount) else a for a in init["args"]]
    env = {e["name"]: e["value"] for e in init.get("env", [])}
    env |= {"PATH": os.environ["PATH"], "PYTHONPATH": str(OPERATOR_DIR)}
    return subprocess.run(
        [sys.executable, "-m", "modelward", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def extra_file(model: pathlib.Path, where: pathlib.Path) -> pathlib.Path:
    copy = models.copy_model(model, where)
    (copy / "backdoor.pkl").write_bytes(b"\x80\x04K\x01.")
    return copy


def missing_file(model: pathlib.Path, where: pathlib.Path) -> pathlib.Path:
    copy = models.copy_model(model, where)
    (copy / "config.json").unlink()
    return copy


BAD_VOLUMES: list[tuple[str, Callable[[pathlib.Path, pathlib.Path], pathlib.Path], str]] = [
    ("tampered", models.tampered_copy, "differs from the signed one"),
    ("extra", extra_file, "'backdoor.pkl' is not covered by the signature"),
    ("missing", missing_file, "signed file 'config.json' is not mounted"),
]


def kserve_pod(uri: str) -> dict[str, Any]:
    """The predictor pod KServe creates for an InferenceService, storage initializer injected."""
    download = {"name": "kserve-provision-location", "mountPath": "/mnt/models"}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "bert-predictor-0",
            "namespace": "ml",
            "labels": {"serving.kserve.io/inferenceservice": "bert"},
            "annotations": {"serving.kserve.io/storage-initializer-sourceuri": uri},
        },
        "spec": {
            "initContainers": [
                {
                    "name": "storage-initializer",
                    "image": "kserve/storage-initializer:v0.15.0",
                    "args": [uri, "/mnt/models"],
                    "volumeMounts": [download],
                }
            ],
            "containers": [
                {
                    "name": "kserve-container",
                    "image": "kserve/huggingfaceserver:v0.15.0",
                    "volumeMounts": [download | {"readOnly": True}],
                }
            ],
            "volumes": [{"name": "kserve-provision-location", "emptyDir": {}}],
        },
    }


async def test_storage_initializer_output_is_verified(  # type: ignore[no-untyped-def]
    operator: OperatorHandle, registry, signed, key, bert_model, tmp_path
) -> None:
    await apply_policy(operator, cluster_policy("signed", key, runtimeCheck=True))
    obj = kserve_pod(f"oci://{registry.host}/{signed.repo}@{signed.digest}")
    after = patched(obj, response(await operator.review(obj, path="/pin")), ("add",))
    initializer, init = after["spec"]["initContainers"]
    assert initializer["name"] == "storage-initializer"
    assert init["name"] == "modelward-verify-storage-0"
    assert init["image"] == VERIFIER
    mount = "/modelward/models/storage-0"
    assert init["volumeMounts"] == [
        {"name": "kserve-provision-location", "mountPath": mount, "readOnly": True}
    ]
    assert init["args"] == ["verify", mount, "--expected-env", "MODELWARD_EXPECTED"]

    # What the storage initializer downloaded, model.sig included, passes.
    download = tmp_path / "emptydir"
    models.copy_model(bert_model, download)
    shutil.copy(tmp_path / "model.sig", download / "model.sig")
    ok = run_verifier(init, mount, download)
    assert ok.returncode == 0, ok.stderr
    assert "files match the signed model" in ok.stdout
    for name, make, message in BAD_VOLUMES:
        bad = run_verifier(init, mount, make(bert_model, tmp_path / name))
        assert bad.returncode == 1, (name, bad.stdout)
        assert message in bad.stderr, (name, bad.stderr)

    # Reinvoked, the webhook adds nothing more; the validating webhook admits the pod.
    assert "patch" not in response(await operator.review(after, path="/pin"))
    assert response(await operator.review(after))["allowed"] is True


def claim_pod(uri: str) -> dict[str, Any]:
    """A pod that loads a model from a claim and names it for modelward."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "server",
            "namespace": "ml",
            "annotations": {"modelward.io/models": uri},
        },
        "spec": {
            "containers": [
                {
                    "name": "server",
                    "image": "server:1",
                    "volumeMounts": [{"name": "weights", "mountPath": "/models", "readOnly": True}],
                }
            ],
            "volumes": [
                {"name": "weights", "persistentVolumeClaim": {"claimName": "models"}},
            ],
        },
    }


def signed_on_volume(model: pathlib.Path, key: signing.KeyPair, root: pathlib.Path) -> pathlib.Path:
    """A claim's root with the model at bert/v1 and its signature next to it, as model.sig."""
    where = models.copy_model(model, root / "bert" / "v1")
    signing.sign_with_key(where, key, where / "model.sig")
    return root


async def test_claim_model_is_verified_from_the_signature_on_the_volume(  # type: ignore[no-untyped-def]
    operator: OperatorHandle, key, bert_model, tmp_path
) -> None:
    await apply_policy(operator, cluster_policy("signed", key, runtimeCheck=True))
    obj = claim_pod("pvc://models/bert/v1")
    # Without the verifier, the validating webhook refuses what it cannot read.
    denied = response(await operator.review(obj))
    assert denied["allowed"] is False
    assert "modelward-verify-pvc-0 is missing" in denied["status"]["message"]

    after = patched(obj, response(await operator.review(obj, path="/pin")), ("add",))
    (init,) = after["spec"]["initContainers"]
    mount = "/modelward/models/pvc-0"
    assert init["volumeMounts"] == [{"name": "weights", "mountPath": mount, "readOnly": True}]
    assert init["args"] == [
        "verify",
        f"{mount}/bert/v1",
        "--authorities-env",
        "MODELWARD_AUTHORITIES",
    ]
    assert response(await operator.review(after))["allowed"] is True

    ok = run_verifier(init, mount, signed_on_volume(bert_model, key, tmp_path / "claim"))
    assert ok.returncode == 0, ok.stderr
    assert "policy signed, signed by ml-release" in ok.stdout

    signature = (tmp_path / "claim" / "bert" / "v1" / "model.sig").read_bytes()
    other = signing.make_ec_key(tmp_path, "someone-else")
    volumes = {
        "wrong-signer": (signed_on_volume(bert_model, other, tmp_path / "w"), "UntrustedSigner"),
        "unsigned": (models.copy_model(bert_model, tmp_path / "u" / "bert" / "v1"), "Signature"),
    }
    for name, make, _ in BAD_VOLUMES:
        bad = make(bert_model, tmp_path / name / "bert" / "v1")
        (bad / "model.sig").write_bytes(signature)
        volumes[name] = (bad, "DigestMismatch")
    for name, (where, reason) in volumes.items():
        root = where if where.name != "v1" else where.parents[1]
        bad = run_verifier(init, mount, root)
        assert bad.returncode == 1, (name, bad.stdout, bad.stderr)
        assert f"failed verification ({reason}" in bad.stderr, (name, bad.stderr)


async def test_claim_without_a_runtime_check_is_denied(  # type: ignore[no-untyped-def]
    operator: OperatorHandle, key
) -> None:
    await apply_policy(operator, cluster_policy("signed", key))
    obj = claim_pod("pvc://models/bert/v1")
    assert "patch" not in response(await operator.review(obj, path="/pin"))
    denied = response(await operator.review(obj))
    assert denied["allowed"] is False
    assert "unverifiable at admission" in denied["status"]["message"]


@pytest.mark.parametrize(
    "operator", [{"records": True}, {"records": False}], indirect=True, ids=["index", "api"]
)
async def test_claim_naming_a_verified_digest_is_checked_against_the_record(  # type: ignore[no-untyped-def]
    operator: OperatorHandle, key, bert_model, tmp_path
) -> None:
    await apply_policy(operator, cluster_policy("signed", key, runtimeCheck=True))
    stored = operator.api.get("modelward.io/v1alpha1", "ClusterModelPolicy", "signed")
    assert stored is not None
    # Parsed here as the operator parsed it: the same uid and revision.
    pol = parse.parse_policy(stored, secrets=lambda *a: b"", home_namespace="")
    files = tuple(sorted(local.hash_tree(bert_model, settings_.Limits()).items()))
    verdict = evidence.PolicyResult(pol.key, pol.mode, True, "Verified", "", files=files)
    digest = "sha256:" + "5e" * 32
    entry = verifications.entry_of(
        pol, verdict, now=datetime.datetime.now(datetime.UTC), ttl=datetime.timedelta(hours=1)
    )
    operator.api.create(
        {
            "apiVersion": "modelward.io/v1alpha1",
            "kind": "ModelVerification",
            "metadata": {"name": verifications.record_name(digest)},
            "spec": {"digest": digest},
            "status": {"digest": digest, "policies": [verifications.entry_json(entry)]},
        }
    )
    operator.api.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {
                "name": "models",
                "namespace": "ml",
                "annotations": {claimrecords.DIGEST_ANNOTATION: digest},
            },
            "spec": {
                "accessModes": ["ReadOnlyMany"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }
    )
    obj = claim_pod("pvc://models/bert/v1")
    # The replica's index sees the record through its watch: wait (bounded) for it.
    deadline = time.monotonic() + 10
    while True:
        after = patched(obj, response(await operator.review(obj, path="/pin")), ("add",))
        if "--expected-env" in after["spec"]["initContainers"][0]["args"]:
            break
        assert time.monotonic() < deadline, "the record never reached the operator"
        await asyncio.sleep(0.2)
    (init,) = after["spec"]["initContainers"]
    mount = "/modelward/models/pvc-0"
    assert init["args"] == ["verify", f"{mount}/bert/v1", "--expected-env", "MODELWARD_EXPECTED"]
    assert response(await operator.review(after))["allowed"] is True

    # No signature on the volume: the record's files are what the model is checked against.
    ok = run_verifier(init, mount, tmp_path / "claim")
    assert ok.returncode == 2  # nothing at the path yet: a usage error, never a pass
    models.copy_model(bert_model, tmp_path / "claim" / "bert" / "v1")
    ok = run_verifier(init, mount, tmp_path / "claim")
    assert ok.returncode == 0, ok.stderr
    for name, make, message in BAD_VOLUMES:
        make(bert_model, tmp_path / name / "bert" / "v1")
        bad = run_verifier(init, mount, tmp_path / name)
        assert bad.returncode == 1, (name, bad.stdout)
        assert message in bad.stderr, (name, bad.stderr)
