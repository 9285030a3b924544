"""Required attestations through the real operator: the policy and its ConfigMap allowlist
created through the API, the model and its attestations in a real registry, the decision
answered by the webhook over HTTPS."""

from __future__ import annotations

import asyncio
import pathlib
import time
from typing import Any

import pytest

from tests.e2e.test_attestations import APPROVED, DATA, SLSA, provenance, training_data
from tests.fixtures import ocipush, signing
from tests.fixtures.kube import OperatorHandle
from tests.fixtures.registry import Registry

API = "modelward.io/v1alpha1"


@pytest.fixture
def operator_settings(registry: Registry) -> dict[str, Any]:
    return {"insecure_registries": frozenset({registry.host})}


def attested_policy(ml: signing.KeyPair, ci: signing.KeyPair) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "ClusterModelPolicy",
        "metadata": {"name": "attested"},
        "spec": {
            "models": [{"glob": "**"}],
            "authorities": [
                {"name": "ml", "key": {"data": ml.public_pem.decode()}},
                {"name": "ci", "key": {"data": ci.public_pem.decode()}},
            ],
            "attestations": [
                {"name": "provenance", "predicateType": SLSA, "authorities": ["ci"]},
                {
                    "name": "training-data",
                    "predicateType": DATA,
                    "authorities": ["ci"],
                    "conditions": [
                        {
                            "path": "datasets[*].digest.sha256",
                            "inConfigMap": {"name": "datasets", "key": "approved"},
                        }
                    ],
                },
            ],
        },
    }


def publish(
    registry: Registry,
    model: pathlib.Path,
    ml: signing.KeyPair,
    ci: signing.KeyPair,
    tmp: pathlib.Path,
    datasets: list[str],
) -> tuple[str, str]:
    tmp.mkdir(parents=True, exist_ok=True)
    sig = signing.sign_with_key(model, ml, tmp / "model.sig")
    repo = ocipush.unique_repo("attested")
    pushed = ocipush.push_model(registry, repo, model, signature=sig)
    for i, (kind, predicate) in enumerate([(SLSA, provenance()), (DATA, training_data(*datasets))]):
        stmt = signing.in_toto_statement(kind, predicate, digest=pushed.digest)
        bundle = signing.sign_statement(stmt, ci, tmp / f"att-{i}.json")
        ocipush.attach_referrer(registry, repo, pushed.descriptor, bundle)
    return f"oci://{registry.host}/{repo}:v1", pushed.digest


def isvc(uri: str) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "bert", "namespace": "ml"},
        "spec": {"predictor": {"model": {"storageUri": uri}}},
    }


async def record_status(operator: OperatorHandle, digest: str) -> dict[str, Any]:
    name = digest.replace(":", "-")
    deadline = time.monotonic() + 15
    while True:
        found = await asyncio.to_thread(operator.api.get, API, "ModelVerification", name)
        status: dict[str, Any] = (found or {}).get("status") or {}
        if status.get("verdict") == "Verified":
            return status
        assert time.monotonic() < deadline, f"record {name} never verified: {status}"
        await asyncio.sleep(0.05)


async def test_attestations_through_the_webhook(  # type: ignore[no-untyped-def]
    operator: OperatorHandle, registry, tmp_path, bert_model
) -> None:
    ml = signing.make_ec_key(tmp_path / "keys", "ml")
    ci = signing.make_ec_key(tmp_path / "keys", "ci")
    for obj in (
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "modelward"}},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "datasets", "namespace": "modelward"},
            "data": {"approved": "\n".join(APPROVED) + "\n"},
        },
        attested_policy(ml, ci),
    ):
        await asyncio.to_thread(operator.api.create, obj)
    await operator.wait_policy_ready("attested")
    approved, digest = publish(registry, bert_model, ml, ci, tmp_path / "ok", APPROVED)
    answer = (await operator.review(isvc(approved)))["response"]
    assert answer["allowed"] is True, answer
    # The shared record of the model shows what was attested.
    status = await record_status(operator, digest)
    assert status["attestations"] == [SLSA, DATA]
    assert status["policies"][0]["attestations"] == [SLSA, DATA]
    unapproved, _ = publish(registry, bert_model, ml, ci, tmp_path / "bad", ["d4" * 32])
    answer = (await operator.review(isvc(unapproved)))["response"]
    assert answer["allowed"] is False
    message = answer["status"]["message"]
    assert f"attestation 'training-data' ({DATA}): datasets[0].digest.sha256" in message
    assert "not in the allowlist in ConfigMap modelward/datasets key approved" in message
