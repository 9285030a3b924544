"""The real Kopf operator against the Kubernetes API emulator, its webhook over HTTPS:
policies are created through the API and admissions answered as kube-apiserver would see."""

from __future__ import annotations

import asyncio
import base64
import json
import pathlib
import time
from typing import Any

import pytest

from modelward.pipeline import decode
from tests.fixtures import models, ocipush, signing
from tests.fixtures.kube import OperatorHandle, build_review, wait_condition
from tests.fixtures.registry import Registry

API = "modelward.io/v1alpha1"


@pytest.fixture
def operator_settings(registry: Registry) -> dict[str, Any]:
    return {"insecure_registries": frozenset({registry.host})}


@pytest.fixture
def key(tmp_path: pathlib.Path) -> signing.KeyPair:
    return signing.make_ec_key(tmp_path, "ml-release")


@pytest.fixture
def images(
    tmp_path: pathlib.Path, registry: Registry, bert_model: pathlib.Path, key: signing.KeyPair
) -> dict[str, str]:
    """oci:// references: signed, unsigned, tampered, wrong signer."""
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    other = signing.sign_with_key(
        bert_model, signing.make_ec_key(tmp_path, "x"), tmp_path / "x.sig"
    )
    tampered = models.tampered_copy(bert_model, tmp_path / "tampered")
    refs = {}
    for name, model, signature in [
        ("signed", bert_model, sig),
        ("unsigned", bert_model, None),
        ("tampered", tampered, sig),
        ("wrong-signer", bert_model, other),
    ]:
        repo = ocipush.unique_repo(name)
        ocipush.push_model(registry, repo, model, signature=signature)
        refs[name] = f"oci://{registry.host}/{repo}:v1"
    return refs


def cluster_policy(
    name: str, key: signing.KeyPair, glob: str = "**", **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "ClusterModelPolicy",
        "metadata": {"name": name},
        "spec": {
            "models": [{"glob": glob}],
            "authorities": [{"name": "ml-release", "key": {"data": key.public_pem.decode()}}],
            **spec,
        },
    }


def isvc(name: str, uri: str, namespace: str = "ml") -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "predictor": {"model": {"modelFormat": {"name": "huggingface"}, "storageUri": uri}}
        },
    }


def pod_spec(uri: str) -> dict[str, Any]:
    image = uri.removeprefix("oci://")
    return {
        "containers": [
            {
                "name": "server",
                "image": "server:1",
                "volumeMounts": [{"name": "model", "mountPath": "/models"}],
            }
        ],
        "volumes": [{"name": "model", "image": {"reference": image}}],
    }


def workload(kind: str, uri: str, namespace: str = "ml") -> dict[str, Any]:
    api = {"Pod": "v1", "Job": "batch/v1", "CronJob": "batch/v1"}.get(kind, "apps/v1")
    metadata = {"name": f"w-{kind.lower()}", "namespace": namespace}
    if kind == "Pod":
        return {"apiVersion": api, "kind": kind, "metadata": metadata, "spec": pod_spec(uri)}
    template = {"metadata": {"labels": {"app": "x"}}, "spec": pod_spec(uri)}
    spec: dict[str, Any] = {"template": template}
    if kind == "CronJob":
        spec = {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}
    elif kind not in ("Job",):
        spec["selector"] = {"matchLabels": {"app": "x"}}
    return {"apiVersion": api, "kind": kind, "metadata": metadata, "spec": spec}


def response(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["apiVersion"] == "admission.k8s.io/v1"
    assert answer["kind"] == "AdmissionReview"
    return answer["response"]  # type: ignore[no-any-return]


async def apply_policy(operator: OperatorHandle, obj: dict[str, Any]) -> dict[str, Any]:
    await asyncio.to_thread(operator.api.create, obj)
    return await operator.wait_policy_ready(
        obj["metadata"]["name"], namespace=obj["metadata"].get("namespace")
    )


async def test_policy_status_and_signed_isvc_admitted(operator, images, key) -> None:  # type: ignore[no-untyped-def]
    ready = await apply_policy(operator, cluster_policy("require-signed", key))
    condition = ready["status"]["conditions"][0]
    assert (condition["reason"], condition["message"]) == (
        "Loaded",
        "1 authorities, 1 model globs, mode enforce",
    )
    assert ready["status"]["observedGeneration"] == ready["metadata"]["generation"]
    answer = await operator.review(isvc("bert", images["signed"]))
    res = response(answer)
    assert res["allowed"] is True
    assert res["uid"] == answer["response"]["uid"]


@pytest.mark.parametrize(
    ("case", "reason_text"),
    [
        ("unsigned", "no signature was found for the model (policy require-signed)"),
        (
            "tampered",
            "file 'model.safetensors' digest differs from the signed manifest "
            "(policy require-signed, authority ml-release)",
        ),
        (
            "wrong-signer",
            "the signature was made with a key that authority 'ml-release' does not hold",
        ),
    ],
)
async def test_bad_models_are_denied_with_the_reason(
    operator, images, key, case, reason_text
) -> None:  # type: ignore[no-untyped-def]
    await apply_policy(operator, cluster_policy("require-signed", key))
    res = response(await operator.review(isvc("bert", images[case])))
    assert res["allowed"] is False
    assert res["status"]["code"] == 403
    message = res["status"]["message"]
    assert message.startswith("InferenceService ml/bert was denied by modelward: model oci://")
    assert "(spec.predictor.model.storageUri)" in message
    assert reason_text in message


async def test_uid_is_echoed(operator, images, key) -> None:  # type: ignore[no-untyped-def]
    await apply_policy(operator, cluster_policy("require-signed", key))
    review = build_review(
        isvc("bert", images["signed"]),
        kind=operator.api.kind("serving.kserve.io/v1beta1", "InferenceService"),
    )
    status, body = await operator.post(review)
    assert status == 200
    assert json.loads(body)["response"]["uid"] == review["request"]["uid"]


async def test_each_review_is_decoded_once(operator, images, key, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The handler builds on the server's decoding of the review instead of repeating it."""
    await apply_policy(operator, cluster_policy("require-signed", key))
    decoded: list[str] = []
    real = decode.from_object

    def counting(obj, **kwargs):  # type: ignore[no-untyped-def]
        decoded.append(kwargs.get("uid", ""))
        return real(obj, **kwargs)

    monkeypatch.setattr(decode, "from_object", counting)
    review = build_review(
        isvc("bert", images["signed"]),
        kind=operator.api.kind("serving.kserve.io/v1beta1", "InferenceService"),
    )
    status, body = await operator.post(review)
    assert status == 200
    assert json.loads(body)["response"]["allowed"] is True
    assert decoded == [review["request"]["uid"]]


@pytest.mark.parametrize(
    "kind", ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"]
)
async def test_every_pod_controller_is_gated(operator, images, key, kind) -> None:  # type: ignore[no-untyped-def]
    await apply_policy(operator, cluster_policy("require-signed", key))
    assert response(await operator.review(workload(kind, images["signed"])))["allowed"] is True
    denied = response(await operator.review(workload(kind, images["unsigned"])))
    assert denied["allowed"] is False
    assert "volumes[0].image.reference" in denied["status"]["message"]


async def test_unmatched_reference_is_denied_by_default(operator, images, key) -> None:  # type: ignore[no-untyped-def]
    await apply_policy(
        operator, cluster_policy("only-other", key, glob="oci://elsewhere.example/**")
    )
    res = response(await operator.review(isvc("bert", images["signed"])))
    assert res["allowed"] is False
    assert "no ModelPolicy or ClusterModelPolicy governs this reference" in res["status"]["message"]


async def test_warn_and_audit_modes(operator, images, key) -> None:  # type: ignore[no-untyped-def]
    await apply_policy(operator, cluster_policy("warn", key, mode="warn"))
    res = response(await operator.review(isvc("bert", images["unsigned"])))
    assert res["allowed"] is True
    assert any("no signature was found" in w for w in res["warnings"])
    await asyncio.to_thread(
        operator.api.patch, API, "ClusterModelPolicy", "warn", {"spec": {"mode": "audit"}}
    )
    await _wait_generation(operator, "warn", 2)
    res = response(await operator.review(isvc("bert", images["unsigned"])))
    assert res["allowed"] is True
    assert not res.get("warnings")


async def _wait_generation(operator: OperatorHandle, name: str, generation: int) -> None:
    for _ in range(100):
        obj = await asyncio.to_thread(operator.api.get, API, "ClusterModelPolicy", name)
        if obj and (obj.get("status") or {}).get("observedGeneration") == generation:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{name} never observed generation {generation}")


async def test_several_policies_must_all_pass(operator, images, key, tmp_path) -> None:  # type: ignore[no-untyped-def]
    await apply_policy(operator, cluster_policy("ml", key))
    await apply_policy(
        operator, cluster_policy("security", signing.make_ec_key(tmp_path, "security"))
    )
    res = response(await operator.review(isvc("bert", images["signed"])))
    assert res["allowed"] is False
    assert "(policy security)" in res["status"]["message"]
    assert "(policy ml" not in res["status"]["message"]


async def test_namespaced_policy_does_not_leak(operator, images, key) -> None:  # type: ignore[no-untyped-def]
    for ns in ("team-a", "team-b"):
        await asyncio.to_thread(
            operator.api.create, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
        )
    policy = cluster_policy("team-a-models", key)
    policy["kind"] = "ModelPolicy"
    policy["metadata"]["namespace"] = "team-a"
    await apply_policy(operator, policy)
    assert (
        response(await operator.review(isvc("bert", images["signed"], "team-a")))["allowed"] is True
    )
    other = response(await operator.review(isvc("bert", images["signed"], "team-b")))
    assert other["allowed"] is False
    assert "no ModelPolicy or ClusterModelPolicy governs" in other["status"]["message"]


async def test_namespace_selector_uses_namespace_labels(operator, images, key) -> None:  # type: ignore[no-untyped-def]
    await asyncio.to_thread(
        operator.api.create,
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "ml", "labels": {"team": "ml"}},
        },
    )
    await asyncio.to_thread(
        operator.api.create, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}}
    )
    await apply_policy(
        operator,
        cluster_policy(
            "ml-only", key, match={"namespaceSelector": {"matchLabels": {"team": "ml"}}}
        ),
    )
    await asyncio.sleep(0.2)  # the namespace watch feeds the label index
    assert (
        response(await operator.review(isvc("bert", images["unsigned"], "ml")))["allowed"] is False
    )
    web = response(await operator.review(isvc("bert", images["unsigned"], "web")))
    assert "no ModelPolicy or ClusterModelPolicy governs" in web["status"]["message"]


async def test_bad_key_policy_is_not_ready_and_denies_what_it_governs(operator, images) -> None:  # type: ignore[no-untyped-def]
    broken = {
        "apiVersion": API,
        "kind": "ClusterModelPolicy",
        "metadata": {"name": "broken"},
        "spec": {
            "models": [{"glob": "**"}],
            "authorities": [{"name": "a", "key": {"data": "not a key"}}],
        },
    }
    await asyncio.to_thread(operator.api.create, broken)
    obj = (
        await operator.wait_policy_ready("broken")
        if False
        else await _wait_not_ready(operator, "broken")
    )
    condition = obj["status"]["conditions"][0]
    assert condition["reason"] == "InvalidKey"
    res = response(await operator.review(isvc("bert", images["signed"])))
    assert res["allowed"] is False
    assert (
        "the policy is not ready: authority 'a': key is not a PEM public key"
        in res["status"]["message"]
    )


async def _wait_not_ready(operator: OperatorHandle, name: str) -> dict[str, Any]:
    return await wait_condition(operator.api, API, "ClusterModelPolicy", name, status="False")


async def test_policy_from_a_secret(operator, images, key) -> None:  # type: ignore[no-untyped-def]
    await asyncio.to_thread(
        operator.api.create,
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "modelward"}},
    )
    await asyncio.to_thread(
        operator.api.create,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "keys", "namespace": "modelward"},
            "data": {"ml.pub": base64.b64encode(key.public_pem).decode()},
        },
    )
    policy = cluster_policy("from-secret", key)
    policy["spec"]["authorities"] = [
        {"name": "ml-release", "key": {"secretRef": {"name": "keys", "key": "ml.pub"}}}
    ]
    await apply_policy(operator, policy)
    assert response(await operator.review(isvc("bert", images["signed"])))["allowed"] is True


async def test_deleted_policy_stops_applying(operator, images, key) -> None:  # type: ignore[no-untyped-def]
    await apply_policy(operator, cluster_policy("temp", key, mode="warn"))
    assert response(await operator.review(isvc("bert", images["unsigned"])))["warnings"]
    await asyncio.to_thread(operator.api.delete, API, "ClusterModelPolicy", "temp")
    for _ in range(100):
        res = response(await operator.review(isvc("bert", images["unsigned"])))
        if not res["allowed"]:
            break
        await asyncio.sleep(0.05)
    assert "no ModelPolicy or ClusterModelPolicy governs" in res["status"]["message"]


async def test_update_dry_run_and_delete(operator, images, key) -> None:  # type: ignore[no-untyped-def]
    await apply_policy(operator, cluster_policy("require-signed", key))
    old, new = isvc("bert", images["signed"]), isvc("bert", images["tampered"])
    updated = response(await operator.review(new, operation="UPDATE", old=old, dry_run=True))
    assert updated["allowed"] is False
    assert "digest differs" in updated["status"]["message"]
    assert response(await operator.review(old, operation="UPDATE", old=new))["allowed"] is True
    deleted = response(await operator.review(new, operation="DELETE"))
    assert deleted["allowed"] is True


async def test_object_without_models_is_admitted(operator, key) -> None:  # type: ignore[no-untyped-def]
    await apply_policy(operator, cluster_policy("require-signed", key))
    plain = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "ml"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }
    assert response(await operator.review(plain))["allowed"] is True


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}',
        b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", '
        b'"request": {"uid": "x"}}',
    ],
)
async def test_malformed_reviews_get_400(operator, body) -> None:  # type: ignore[no-untyped-def]
    status, _ = await operator.post(body)
    assert status == 400


async def test_pods_of_controllers_without_namespace_in_metadata(operator, images, key) -> None:  # type: ignore[no-untyped-def]
    """Pods made by ReplicaSets carry generateName and may lack metadata.namespace."""
    await asyncio.to_thread(
        operator.api.create,
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}},
    )
    policy = cluster_policy("team-a-models", key)
    policy["kind"], policy["metadata"]["namespace"] = "ModelPolicy", "team-a"
    await apply_policy(operator, policy)
    pod = workload("Pod", images["signed"], "team-a")
    pod["metadata"] = {"generateName": "bert-7d9f-"}
    assert response(await operator.review(pod, namespace="team-a"))["allowed"] is True


# --- the Kubernetes API fails ------------------------------------------------------------------

OUTAGE_BUDGET = 10.0


async def test_admissions_go_on_from_the_index_when_the_api_fails(  # type: ignore[no-untyped-def]
    operator, images, key
) -> None:
    """When the API fails the reads an admission makes, admissions go on from the policy index
    the operator holds, and what needs the API (a storage-config Secret) is denied with the
    reason, within the budget."""
    await apply_policy(operator, cluster_policy("require-signed", key))
    # From here on, the API answers 503 to the read an admission needs.
    secret = "/api/v1/namespaces/ml/secrets/storage-config"
    operator.api.in_emulator(lambda emulator: emulator[secret] << 503)

    started = time.monotonic()
    signed = response(await operator.review(isvc("signed", images["signed"])))
    assert signed["allowed"] is True, signed
    unsigned = response(await operator.review(isvc("unsigned", images["unsigned"])))
    assert unsigned["allowed"] is False
    storage = isvc("by-key", images["signed"])
    storage["spec"]["predictor"]["model"] = {
        "modelFormat": {"name": "sklearn"},
        "storage": {"key": "localMinIO", "path": "models/x"},
    }
    answer = response(await operator.review(storage))
    assert answer["allowed"] is False
    assert "storage-config" in answer["status"]["message"]
    assert "cannot be read (HTTP 503)" in answer["status"]["message"]
    assert time.monotonic() - started < OUTAGE_BUDGET
