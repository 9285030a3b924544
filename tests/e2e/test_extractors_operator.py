"""The running operator and the new extraction: a ModelExtractor takes effect without a restart
and reports its status; KServe's storage form resolves through the namespace's storage-config
Secret; Seldon and KubeAI kinds are validated; static authorities decide without fetching."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest

from tests.fixtures.kube import Kind, KubeApi, OperatorHandle, register_resources, wait_condition

API = "modelward.io/v1alpha1"
SERVING_JOB = Kind("ml.example.com", "v1", "servingjobs", "ServingJob", status=True)


@pytest.fixture
def custom_kind(kube_api: KubeApi) -> Kind:
    """A home-grown serving kind, served before the operator starts (its CRD is installed)."""
    kube_api.in_emulator(lambda e: register_resources(e, (SERVING_JOB,)))
    return SERVING_JOB


def static_policy(name: str, globs: list[str], action: str = "pass", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "ClusterModelPolicy",
        "metadata": {"name": name},
        "spec": {
            "models": [{"glob": g} for g in globs],
            "authorities": [{"name": "platform", "static": {"action": action}}],
            **spec,
        },
    }


def serving_job(uri: str) -> dict[str, Any]:
    return {
        "apiVersion": "ml.example.com/v1",
        "kind": "ServingJob",
        "metadata": {"name": "chat", "namespace": "ml"},
        "spec": {"server": {"args": ["--port=8080", f"--model={uri}"]}},
    }


def extractor(name: str, regex: str) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "ModelExtractor",
        "metadata": {"name": name},
        "spec": {
            "group": "ml.example.com",
            "kind": "ServingJob",
            "paths": [{"path": "spec.server.args[*]", "regex": regex}],
        },
    }


async def apply(operator: OperatorHandle, obj: dict[str, Any]) -> None:
    await asyncio.to_thread(operator.api.create, obj)


async def answer(operator: OperatorHandle, obj: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return (await operator.review(obj, **kw))["response"]  # type: ignore[no-any-return]


async def test_model_extractor_takes_effect_without_restart(custom_kind, operator) -> None:  # type: ignore[no-untyped-def]
    await apply(operator, static_policy("no-s3", ["s3://**"], action="fail"))
    await operator.wait_policy_ready("no-s3")
    job = serving_job("s3://b/chat")
    # Before any declaration the kind names no model modelward can see.
    assert (await answer(operator, job, kind=custom_kind))["allowed"] is True

    await apply(operator, extractor("bad", "(unclosed"))
    bad = await wait_condition(operator.api, API, "ModelExtractor", "bad", status="False")
    (condition,) = bad["status"]["conditions"]
    assert condition["reason"] == "InvalidRegex"
    assert "does not compile" in condition["message"]

    await apply(operator, extractor("servingjobs", "--model=(?P<uri>\\S+)"))
    good = await wait_condition(operator.api, API, "ModelExtractor", "servingjobs", status="True")
    assert good["status"]["conditions"][0]["message"] == "1 paths read on ml.example.com/ServingJob"
    denied = await answer(operator, job, kind=custom_kind)
    assert denied["allowed"] is False
    message = denied["status"]["message"]
    assert "model s3://b/chat (spec.server.args[1]): denied by a static authority" in message

    await asyncio.to_thread(operator.api.delete, API, "ModelExtractor", "servingjobs")
    for _ in range(100):
        if (await answer(operator, job, kind=custom_kind))["allowed"]:
            break
        await asyncio.sleep(0.05)
    assert (await answer(operator, job, kind=custom_kind))["allowed"] is True


def isvc_with_storage(key: str) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "sk", "namespace": "ml"},
        "spec": {
            "predictor": {
                "model": {"modelFormat": {"name": "sklearn"}, "storage": {"key": key, "path": "sk"}}
            }
        },
    }


async def test_storage_form_resolves_through_the_namespace_secret(operator) -> None:  # type: ignore[no-untyped-def]
    config = {"type": "s3", "bucket": "models", "access_key_id": "a", "secret_access_key": "x"}
    for ns in ("ml", "other"):
        await apply(operator, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    await apply(
        operator,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "storage-config", "namespace": "other"},
            "data": {"localMinIO": base64.b64encode(json.dumps(config).encode()).decode()},
        },
    )
    await apply(operator, static_policy("team-bucket", ["s3://models/**"]))
    await operator.wait_policy_ready("team-bucket")
    # The key lives in another namespace: never read across namespaces.
    missing = await answer(operator, isvc_with_storage("localMinIO"))
    assert missing["allowed"] is False
    assert (
        "(spec.predictor.model.storage): KServe's storage form names no URI"
        in (missing["status"]["message"])
    )
    assert "Secret ml/storage-config does not exist" in missing["status"]["message"]
    await apply(
        operator,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "storage-config", "namespace": "ml"},
            "data": {"localMinIO": base64.b64encode(json.dumps(config).encode()).decode()},
        },
    )
    resolved = await answer(operator, isvc_with_storage("localMinIO"))
    assert resolved["allowed"] is True, resolved.get("status")


@pytest.mark.parametrize(
    ("obj", "field"),
    [
        (
            {
                "apiVersion": "kubeai.org/v1",
                "kind": "Model",
                "metadata": {"name": "q", "namespace": "ml"},
                "spec": {"engine": "OLlama", "url": "ollama://qwen2:0.5b"},
            },
            "spec.url",
        ),
        (
            {
                "apiVersion": "mlops.seldon.io/v1alpha1",
                "kind": "Model",
                "metadata": {"name": "iris", "namespace": "ml"},
                "spec": {"storageUri": "ollama://not-really"},
            },
            "spec.storageUri",
        ),
        (
            {
                "apiVersion": "machinelearning.seldon.io/v1",
                "kind": "SeldonDeployment",
                "metadata": {"name": "sd", "namespace": "ml"},
                "spec": {
                    "predictors": [
                        {
                            "name": "p",
                            "graph": {
                                "name": "a",
                                "children": [{"name": "b", "modelUri": "ollama://deep"}],
                            },
                        }
                    ]
                },
            },
            "spec.predictors[0].graph.children[0].modelUri",
        ),
        (
            {
                "apiVersion": "serving.kserve.io/v1alpha1",
                "kind": "LocalModelCache",
                "metadata": {"name": "c"},
                "spec": {"sourceModelUri": "ollama://cached", "modelSize": "1Gi"},
            },
            "spec.sourceModelUri",
        ),
    ],
)
async def test_other_projects_kinds_are_validated(operator, obj, field) -> None:  # type: ignore[no-untyped-def]
    await apply(operator, static_policy("no-ollama", ["ollama://**"], action="fail"))
    await operator.wait_policy_ready("no-ollama")
    res = await answer(operator, obj)
    assert res["allowed"] is False
    assert f"({field}): denied by a static authority (policy no-ollama" in res["status"]["message"]


CRDS = Kind(
    "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False
)


@pytest.fixture
def crds_served(kube_api: KubeApi) -> Kind:
    """CustomResourceDefinitions in discovery before the operator starts, so that Kopf watches
    them and rescans a group when one of its CRDs appears."""
    kube_api.in_emulator(lambda e: register_resources(e, (CRDS,)))
    return CRDS


async def test_a_kind_installed_after_start_is_validated(crds_served, operator) -> None:  # type: ignore[no-untyped-def]
    await apply(operator, static_policy("no-s3", ["s3://**"], action="fail"))
    await operator.wait_policy_ready("no-s3")
    await apply(operator, extractor("servingjobs", "--model=(?P<uri>\\S+)"))
    await wait_condition(operator.api, API, "ModelExtractor", "servingjobs", status="True")
    job = serving_job("s3://b/chat")
    with pytest.raises(AssertionError, match="HTTP 404"):
        await answer(operator, job, kind=SERVING_JOB)  # Kopf has not discovered the kind

    # The CRD is installed: the API serves the kind and the CRD watch tells Kopf to rescan.
    operator.api.in_emulator(lambda e: register_resources(e, (SERVING_JOB,)))
    await apply(
        operator,
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "servingjobs.ml.example.com"},
            "spec": {
                "group": "ml.example.com",
                "scope": "Namespaced",
                "names": {"kind": "ServingJob", "plural": "servingjobs"},
                "versions": [{"name": "v1", "served": True, "storage": True}],
            },
        },
    )
    res: dict[str, Any] | None = None
    for _ in range(100):
        try:
            res = await answer(operator, job, kind=SERVING_JOB)
            break
        except AssertionError:  # 404 until Kopf's rescan lands
            await asyncio.sleep(0.05)
    assert res is not None, "the kind was never discovered"
    assert res["allowed"] is False
    assert "(spec.server.args[1]): denied by a static authority" in res["status"]["message"]
