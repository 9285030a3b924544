"""TrustRoots through the real Kopf operator and the Kubernetes API emulator: a keyless policy
waits for its TrustRoot, is re-loaded when it appears, and admits what that root vouches for."""

from __future__ import annotations

import asyncio
import json
import pathlib
from typing import Any

import pytest

from tests.e2e.test_operator import API, isvc, response
from tests.fixtures import ocipush
from tests.fixtures.kube import OperatorHandle, wait_condition
from tests.fixtures.registry import Registry
from tests.fixtures.sigstore_stack import IDENTITY, ISSUER, SigstoreStack


@pytest.fixture
def operator_settings(registry: Registry) -> dict[str, Any]:
    return {"insecure_registries": frozenset({registry.host})}


def keyless_policy(name: str, root: str) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "ClusterModelPolicy",
        "metadata": {"name": name},
        "spec": {
            "models": [{"glob": "**"}],
            "authorities": [
                {
                    "name": "ci",
                    "keyless": {"issuer": ISSUER, "subject": IDENTITY, "trustRootRef": root},
                }
            ],
        },
    }


async def create(operator: OperatorHandle, obj: dict[str, Any]) -> None:
    await asyncio.to_thread(operator.api.create, obj)


async def test_keyless_policy_waits_for_its_trust_root(
    operator: OperatorHandle,
    registry: Registry,
    tmp_path: pathlib.Path,
    bert_model: pathlib.Path,
    sigstore_stack: SigstoreStack,
) -> None:
    sig = sigstore_stack.sign(bert_model, tmp_path / "model.sig")
    repo = ocipush.unique_repo("keyless")
    ocipush.push_model(registry, repo, bert_model, signature=sig)
    uri = f"oci://{registry.host}/{repo}:v1"

    await create(operator, keyless_policy("ci-signed", "private"))
    pending = await wait_condition(
        operator.api, API, "ClusterModelPolicy", "ci-signed", status="False"
    )
    assert pending["status"]["conditions"][0]["reason"] == "TrustRootNotFound"
    denied = response(await operator.review(isvc("bert", uri)))
    assert denied["allowed"] is False
    assert "TrustRoot 'private' does not exist" in denied["status"]["message"]

    await create(
        operator, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "modelward"}}
    )
    await create(
        operator,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "sigstore", "namespace": "modelward"},
            "data": {"trusted_root.json": json.dumps(sigstore_stack.trusted_root())},
        },
    )
    await create(
        operator,
        {
            "apiVersion": API,
            "kind": "TrustRoot",
            "metadata": {"name": "private"},
            "spec": {"configMapRef": {"name": "sigstore"}},
        },
    )
    root = await wait_condition(operator.api, API, "TrustRoot", "private")
    assert root["status"]["conditions"][0]["reason"] == "Loaded"
    await wait_condition(operator.api, API, "ClusterModelPolicy", "ci-signed")
    admitted = response(await operator.review(isvc("bert", uri)))
    assert admitted["allowed"] is True, admitted


async def test_broken_trust_root_reports_why(operator: OperatorHandle) -> None:
    await create(
        operator,
        {
            "apiVersion": API,
            "kind": "TrustRoot",
            "metadata": {"name": "broken"},
            "spec": {"trustedRootJSON": '{"mediaType": "nope"}'},
        },
    )
    root = await wait_condition(operator.api, API, "TrustRoot", "broken", status="False")
    condition = root["status"]["conditions"][0]
    assert condition["reason"] == "InvalidTrustRoot"
    assert "TrustRoot 'broken'" in condition["message"]


def model_exception(namespace: str, expires: str) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "ModelPolicyException",
        "metadata": {"name": "vendor", "namespace": namespace},
        "spec": {
            "policies": ["require-signed"],
            "models": ["**"],
            "owner": "ml-platform",
            "reason": "vendor model awaiting its signature",
            "expires": expires,
        },
    }


async def test_exception_through_the_api(
    operator: OperatorHandle, registry: Registry, bert_model: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    from tests.e2e.test_operator import apply_policy, cluster_policy
    from tests.fixtures import signing

    repo = ocipush.unique_repo("unsigned")
    ocipush.push_model(registry, repo, bert_model, signature=None)
    uri = f"oci://{registry.host}/{repo}:v1"
    await apply_policy(
        operator, cluster_policy("require-signed", signing.make_ec_key(tmp_path, "k"))
    )
    for namespace in ("ml", "team-b"):
        await create(
            operator, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        )
    await create(operator, model_exception("ml", "2999-01-01T00:00:00Z"))
    active = await wait_condition(operator.api, API, "ModelPolicyException", "vendor", "ml")
    assert active["status"]["conditions"][0]["reason"] == "Active"

    admitted = response(await operator.review(isvc("bert", uri, namespace="ml")))
    assert admitted["allowed"] is True
    assert any(
        "ModelPolicyException ml/vendor (owner ml-platform" in w for w in admitted["warnings"]
    )
    elsewhere = response(await operator.review(isvc("bert", uri, namespace="team-b")))
    assert elsewhere["allowed"] is False

    await create(operator, model_exception("team-b", "2001-01-01T00:00:00Z"))
    expired = await wait_condition(
        operator.api, API, "ModelPolicyException", "vendor", "team-b", status="False"
    )
    assert expired["status"]["conditions"][0]["reason"] == "Expired"
    still = response(await operator.review(isvc("bert", uri, namespace="team-b")))
    assert still["allowed"] is False
