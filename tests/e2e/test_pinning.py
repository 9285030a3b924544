"""The mutating webhook pins verified tags: real HTTPS AdmissionReviews to the Kopf operator."""

from __future__ import annotations

import base64
import copy
import json
import pathlib
from typing import Any

import jsonpatch  # type: ignore[import-untyped]
import pytest

from modelward.adapters import cli
from tests.e2e.test_operator import apply_policy, cluster_policy, isvc, response, workload
from tests.fixtures import models, ocipush, signing
from tests.fixtures.kube import OperatorHandle
from tests.fixtures.registry import Registry


@pytest.fixture
def operator_settings(registry: Registry) -> dict[str, Any]:
    return {"insecure_registries": frozenset({registry.host}), "pin_digests": True}


@pytest.fixture
def key(tmp_path: pathlib.Path) -> signing.KeyPair:
    return signing.make_ec_key(tmp_path, "ml-release")


@pytest.fixture
def signed(
    tmp_path: pathlib.Path, registry: Registry, bert_model: pathlib.Path, key: signing.KeyPair
) -> ocipush.Pushed:
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    return ocipush.push_model(registry, ocipush.unique_repo("pin"), bert_model, signature=sig)


def patched(
    obj: dict[str, Any], res: dict[str, Any], allowed_ops: tuple[str, ...] = ("replace",)
) -> dict[str, Any]:
    assert res["patchType"] == "JSONPatch"
    ops = json.loads(base64.b64decode(res["patch"]))
    assert all(op["op"] in allowed_ops for op in ops), ops
    result: dict[str, Any] = jsonpatch.apply_patch(copy.deepcopy(obj), ops)
    return result


async def test_storage_uri_tag_is_pinned_to_the_verified_digest(  # type: ignore[no-untyped-def]
    operator: OperatorHandle, registry, signed, key
) -> None:
    await apply_policy(operator, cluster_policy("signed", key))
    obj = isvc("bert", f"oci://{registry.host}/{signed.repo}:v1")
    res = response(await operator.review(obj, path="/pin"))
    assert res["allowed"] is True
    after = patched(obj, res)
    pinned = f"oci://{registry.host}/{signed.repo}@{signed.digest}"
    assert after["spec"]["predictor"]["model"]["storageUri"] == pinned
    # The validating webhook then sees the pinned object, and admits it.
    assert response(await operator.review(after))["allowed"] is True


@pytest.mark.parametrize("kind", ["Pod", "Deployment"])
async def test_image_volume_reference_is_pinned(  # type: ignore[no-untyped-def]
    operator: OperatorHandle, registry, signed, key, kind
) -> None:
    await apply_policy(operator, cluster_policy("signed", key))
    obj = workload(kind, f"oci://{registry.host}/{signed.repo}:v1")
    res = response(await operator.review(obj, path="/pin"))
    after = patched(obj, res)
    spec = after["spec"] if kind == "Pod" else after["spec"]["template"]["spec"]
    assert spec["volumes"][0]["image"]["reference"] == (
        f"{registry.host}/{signed.repo}@{signed.digest}"
    )


async def test_digest_reference_and_unsigned_model_get_no_patch(  # type: ignore[no-untyped-def]
    operator: OperatorHandle, registry, signed, key, bert_model
) -> None:
    await apply_policy(operator, cluster_policy("signed", key))
    by_digest = isvc("bert", f"oci://{registry.host}/{signed.repo}@{signed.digest}")
    res = response(await operator.review(by_digest, path="/pin"))
    assert res["allowed"] is True
    assert "patch" not in res
    unsigned = ocipush.push_model(registry, ocipush.unique_repo("pin"), bert_model)
    obj = isvc("bert", f"oci://{registry.host}/{unsigned.repo}:v1")
    res = response(await operator.review(obj, path="/pin"))
    # Pinning never denies; the validating webhook does.
    assert res["allowed"] is True
    assert "patch" not in res
    assert response(await operator.review(obj))["allowed"] is False


async def test_require_digest_is_met_by_pinning(  # type: ignore[no-untyped-def]
    operator: OperatorHandle, registry, signed, key
) -> None:
    await apply_policy(operator, cluster_policy("signed", key, requireDigest=True))
    obj = isvc("bert", f"oci://{registry.host}/{signed.repo}:v1")
    denied = response(await operator.review(obj))
    assert denied["allowed"] is False
    assert (
        f"reference oci://{registry.host}/{signed.repo}@{signed.digest} instead"
        in (denied["status"]["message"])
    )
    after = patched(obj, response(await operator.review(obj, path="/pin")))
    assert response(await operator.review(after))["allowed"] is True


@pytest.mark.parametrize("operator", [{"verifier_image": "reg.example/modelward:1"}], indirect=True)
async def test_runtime_check_adds_a_verifier_init_container(  # type: ignore[no-untyped-def]
    operator: OperatorHandle, registry, signed, key, bert_model, tmp_path, monkeypatch
) -> None:
    await apply_policy(operator, cluster_policy("signed", key, runtimeCheck=True))
    obj = workload("Pod", f"oci://{registry.host}/{signed.repo}:v1")
    res = response(await operator.review(obj, path="/pin"))
    after = patched(obj, res, ("replace", "add"))
    (init,) = after["spec"]["initContainers"]
    assert init["name"] == "modelward-verify-0"
    assert init["image"] == "reg.example/modelward:1"
    assert init["args"] == ["verify", "/modelward/models/0", "--expected-env", "MODELWARD_EXPECTED"]
    assert init["volumeMounts"] == [
        {"name": "model", "mountPath": "/modelward/models/0", "readOnly": True}
    ]
    security = init["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    # The pinned reference and the check travel together.
    assert after["spec"]["volumes"][0]["image"]["reference"].endswith(signed.digest)

    # What the init container runs, on the model as it would be mounted.
    (variable,) = init["env"]
    monkeypatch.setenv(variable["name"], variable["value"])
    command, _, *options = init["args"]  # the mount path swapped for the model's directory
    assert cli.main([command, str(bert_model), *options]) == cli.EXIT_ADMITTED
    tampered = models.tampered_copy(bert_model, tmp_path / "tampered")
    assert cli.main([command, str(tampered), *options]) == cli.EXIT_DENIED

    # A reinvoked webhook does not add it twice; the validating webhook admits the result.
    again = response(await operator.review(after, path="/pin"))
    assert "patch" not in again
    assert response(await operator.review(after))["allowed"] is True


@pytest.mark.parametrize("operator", [{"verifier_image": "reg.example/modelward:1"}], indirect=True)
async def test_no_runtime_check_unless_the_policy_asks(  # type: ignore[no-untyped-def]
    operator: OperatorHandle, registry, signed, key
) -> None:
    await apply_policy(operator, cluster_policy("signed", key))
    obj = workload("Pod", f"oci://{registry.host}/{signed.repo}:v1")
    after = patched(obj, response(await operator.review(obj, path="/pin")))
    assert "initContainers" not in after["spec"]
