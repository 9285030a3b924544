"""Every reference modelward cannot resolve and verify is denied with its field path, through
the whole offline pipeline; a `static` authority allows or denies it explicitly."""

from __future__ import annotations

from typing import Any

import pytest

from modelward import settings as settings_
from modelward.adapters import cli
from tests.fixtures import signing
from tests.fixtures.settings import make_settings

ISVC = "serving.kserve.io/v1beta1"


def isvc(model: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": ISVC,
        "kind": "InferenceService",
        "metadata": {"name": "m", "namespace": "ml"},
        "spec": {"predictor": {"model": {"modelFormat": {"name": "huggingface"}, **model}}},
    }


def kubeai(url: str) -> dict[str, Any]:
    return {
        "apiVersion": "kubeai.org/v1",
        "kind": "Model",
        "metadata": {"name": "m", "namespace": "ml"},
        "spec": {"engine": "VLLM", "url": url},
    }


def seldon(uri: str) -> dict[str, Any]:
    return {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Model",
        "metadata": {"name": "m", "namespace": "ml"},
        "spec": {"storageUri": uri},
    }


URI_FIELD = "spec.predictor.model.storageUri"
UNVERIFIABLE = [
    pytest.param(kubeai("ollama://qwen2:0.5b"), "spec.url", "ollama://**", id="ollama"),
    pytest.param(kubeai("oss://bucket/llama"), "spec.url", "oss://**", id="oss"),
    pytest.param(kubeai("pvc://models/llama"), "spec.url", "pvc://**", id="pvc"),
    pytest.param(isvc({"storageUri": "hdfs://nn/models/x"}), URI_FIELD, "hdfs://**", id="hdfs"),
    pytest.param(seldon("minio:models/iris"), "spec.storageUri", "minio:**", id="rclone-remote"),
    pytest.param(isvc({"storageUri": "${PVC_NAME}"}), URI_FIELD, "${PVC_NAME}", id="templated"),
    pytest.param(isvc({"storageUri": "/models/llama"}), URI_FIELD, "/models/**", id="local-path"),
    pytest.param(isvc({"storageUri": ""}), URI_FIELD, "**", id="empty"),
    pytest.param(
        isvc({"storage": {"key": "localMinIO", "path": "sk"}}),
        "spec.predictor.model.storage",
        "kserve-storage://**",
        id="kserve-storage-offline",
    ),
]


def key_policy(key: signing.KeyPair, glob: str = "**") -> dict[str, Any]:
    return {
        "apiVersion": "modelward.io/v1alpha1",
        "kind": "ClusterModelPolicy",
        "metadata": {"name": "require-signed"},
        "spec": {
            "models": [{"glob": glob}],
            "authorities": [{"name": "ml-release", "key": {"data": key.public_pem.decode()}}],
        },
    }


def static_policy(glob: str, action: str, message: str = "") -> dict[str, Any]:
    authority: dict[str, Any] = {"action": action, **({"message": message} if message else {})}
    return {
        "apiVersion": "modelward.io/v1alpha1",
        "kind": "ClusterModelPolicy",
        "metadata": {"name": f"static-{action}"},
        "spec": {"models": [{"glob": glob}], "authorities": [{"name": "s", "static": authority}]},
    }


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> signing.KeyPair:
    return signing.make_ec_key(tmp_path_factory.mktemp("key"), "ml-release")


async def decide(obj: dict[str, Any], *policies: dict[str, Any], **settings: Any) -> Any:
    loaded = cli.load_policies_from_objects(list(policies), "modelward")
    ((_, decision),) = await cli.check([obj], loaded, make_settings(**settings))
    return decision


@pytest.mark.parametrize(("obj", "field", "glob"), UNVERIFIABLE)
async def test_denied_with_field_path_when_governed(obj, field, glob, key) -> None:  # type: ignore[no-untyped-def]
    decision = await decide(obj, key_policy(key))
    assert decision.allowed is False
    assert decision.reason == "Unverifiable"
    (ref,) = decision.refs
    assert ref.ref.field_path == field
    assert f"({field})" in decision.message


@pytest.mark.parametrize(("obj", "field", "glob"), UNVERIFIABLE)
async def test_static_pass_allows_what_its_glob_governs(obj, field, glob, key) -> None:  # type: ignore[no-untyped-def]
    decision = await decide(obj, static_policy(glob, "pass"), key_policy(key, "oci://**"))
    assert decision.allowed is True, decision.message
    (ref,) = decision.refs
    assert [(r.reason, r.passed) for r in ref.results] == [("StaticPass", True)]


@pytest.mark.parametrize(("obj", "field", "glob"), UNVERIFIABLE)
async def test_static_fail_denies_with_its_message(obj, field, glob) -> None:  # type: ignore[no-untyped-def]
    decision = await decide(obj, static_policy(glob, "fail", "not from this cluster"))
    assert decision.allowed is False
    assert decision.reason == "StaticFail"
    assert f"({field}): not from this cluster (policy static-fail, authority s)" in (
        decision.message
    )


async def test_static_pass_does_not_cover_a_keyed_policy(key) -> None:  # type: ignore[no-untyped-def]
    """A reference governed by a static pass and a keyed policy must still pass the keyed one."""
    decision = await decide(
        kubeai("pvc://models/llama"), static_policy("pvc://**", "pass"), key_policy(key)
    )
    assert decision.allowed is False
    assert decision.reason == "Unverifiable"


async def test_unresolvable_is_denied_even_when_ungoverned() -> None:
    """No default admits a reference that names no model, not even `noMatch: allow`."""
    decision = await decide(
        isvc({"storage": {"key": "k", "path": "p"}}),
        static_policy("oci://**", "pass"),
        no_match=settings_.NoMatchAction.ALLOW,
    )
    assert decision.allowed is False
    assert decision.reason == "Unverifiable"
    assert "KServe's storage form names no URI" in decision.message
