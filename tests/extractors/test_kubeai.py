"""KubeAI Model URLs in every scheme KubeAI documents; told apart from Seldon's Model by group."""

from __future__ import annotations

from typing import Any

import pytest

from modelward.extractors import registry


def model(url: str, group: str = "kubeai.org") -> dict[str, Any]:
    return {
        "apiVersion": f"{group}/v1",
        "kind": "Model",
        "metadata": {"name": "m", "namespace": "kubeai"},
        "spec": {
            "features": ["TextGeneration"],
            "engine": "VLLM",
            "resourceProfile": "nvidia-gpu-l4:1",
            "args": ["--served-model-name", "org/served"],
            "url": url,
        },
    }


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("hf://meta-llama/Llama-3.1-8B-Instruct", "hf"),
        ("s3://bucket/llama", "s3"),
        ("gs://bucket/llama", "gs"),
        ("oss://bucket/llama", "oss"),
        ("ollama://qwen2:0.5b", "ollama"),
        ("pvc://models/llama?model=qwen2", "pvc"),
    ],
)
def test_url(url: str, scheme: str) -> None:
    (ref,) = registry.extract_refs(model(url))
    assert (ref.uri, ref.field_path, ref.scheme) == (url, "spec.url", scheme)


def test_adapters() -> None:
    obj = model("hf://org/base")
    obj["spec"]["adapters"] = [{"name": "a", "url": "hf://org/lora"}]
    assert [(r.uri, r.field_path) for r in registry.extract_refs(obj)] == [
        ("hf://org/base", "spec.url"),
        ("hf://org/lora", "spec.adapters[0].url"),
    ]


def test_seldon_model_is_read_by_its_own_fields() -> None:
    obj = model("hf://org/base", group="mlops.seldon.io")
    obj["spec"]["storageUri"] = "gs://b/iris"
    assert [(r.uri, r.field_path) for r in registry.extract_refs(obj)] == [
        ("gs://b/iris", "spec.storageUri")
    ]
