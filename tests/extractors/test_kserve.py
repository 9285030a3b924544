"""KServe kinds in the shapes of KServe's CRDs and documented examples; negatives yield nothing."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from modelward.extractors import kserve, registry
from modelward.structs import refs

V1BETA1 = "serving.kserve.io/v1beta1"
V1ALPHA1 = "serving.kserve.io/v1alpha1"


def isvc(spec: dict[str, Any]) -> dict[str, Any]:
    meta = {"name": "m", "namespace": "ml"}
    return {"apiVersion": V1BETA1, "kind": "InferenceService", "metadata": meta, "spec": spec}


def found(obj: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r.uri, r.field_path) for r in registry.extract_refs(obj)]


CASES = [
    pytest.param(
        isvc(
            {"predictor": {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "gs://b/m"}}}
        ),
        [("gs://b/m", "spec.predictor.model.storageUri")],
        id="model-storageUri",
    ),
    *[
        pytest.param(
            isvc({component: {framework: {"storageUri": f"s3://b/{framework}"}}}),
            [(f"s3://b/{framework}", f"spec.{component}.{framework}.storageUri")],
            id=f"{component}-{framework}",
        )
        for component in kserve.COMPONENTS
        for framework in kserve.FRAMEWORKS
    ],
    pytest.param(
        isvc(
            {
                "predictor": {
                    "model": {
                        "modelFormat": {"name": "huggingface"},
                        "storageUris": [
                            {"uri": "hf://org/base", "mountPath": "/mnt/models/base"},
                            {"uri": "s3://b/lora", "mountPath": "/mnt/models/lora"},
                        ],
                    }
                }
            }
        ),
        [
            ("hf://org/base", "spec.predictor.model.storageUris[0].uri"),
            ("s3://b/lora", "spec.predictor.model.storageUris[1].uri"),
        ],
        id="storageUris",
    ),
    pytest.param(
        isvc(
            {
                "predictor": {
                    "model": {
                        "modelFormat": {"name": "huggingface"},
                        "args": ["--model_name=llama3", "--model_id=meta-llama/Llama-3-8B"],
                    }
                }
            }
        ),
        [("hf://meta-llama/Llama-3-8B", "spec.predictor.model.args[1]")],
        id="huggingface-model-id-arg",
    ),
    pytest.param(
        isvc(
            {
                "predictor": {
                    "containers": [
                        {
                            "name": "kserve-container",
                            "image": "vllm/vllm-openai:latest",
                            "args": ["--model-id", "org/chat", "--port", "8080"],
                            "env": [{"name": "STORAGE_URI", "value": "oci://r/custom:1"}],
                        }
                    ]
                }
            }
        ),
        [
            ("oci://r/custom:1", "spec.predictor.containers[0].env[0].value"),
            ("hf://org/chat", "spec.predictor.containers[0].args[1]"),
        ],
        id="custom-container",
    ),
    pytest.param(
        isvc({"predictor": {"model": {"storageUri": ""}}}),
        [("", "spec.predictor.model.storageUri")],
        id="empty-storageUri",
    ),
    pytest.param(
        isvc({"predictor": {"model": {"storage": {"key": "localMinIO", "path": "/sk/model"}}}}),
        [("kserve-storage://localMinIO/sk/model", "spec.predictor.model.storage")],
        id="storage-key-form",
    ),
    pytest.param(
        {
            "apiVersion": V1ALPHA1,
            "kind": "TrainedModel",
            "metadata": {"name": "t"},
            "spec": {
                "inferenceService": "sklearn-mms",
                "model": {"framework": "sklearn", "storageUri": "gs://b/tm", "memory": "256Mi"},
            },
        },
        [("gs://b/tm", "spec.model.storageUri")],
        id="trainedmodel",
    ),
    pytest.param(
        {
            "apiVersion": V1ALPHA1,
            "kind": "LocalModelCache",
            "metadata": {"name": "c"},
            "spec": {
                "sourceModelUri": "hf://meta-llama/Llama-3-8B",
                "modelSize": "20Gi",
                "nodeGroups": ["gpu"],
            },
        },
        [("hf://meta-llama/Llama-3-8B", "spec.sourceModelUri")],
        id="localmodelcache",
    ),
    pytest.param(
        {
            "apiVersion": V1ALPHA1,
            "kind": "LLMInferenceService",
            "metadata": {"name": "l"},
            "spec": {"model": {"uri": "hf://org/llm", "name": "org/llm"}},
        },
        [("hf://org/llm", "spec.model.uri")],
        id="llminferenceservice",
    ),
]


@pytest.mark.parametrize(("obj", "expected"), CASES)
def test_fields(obj: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert found(obj) == expected


def test_storage_key_form_carries_key_path_and_parameters() -> None:
    obj = isvc(
        {
            "predictor": {
                "model": {
                    "storage": {
                        "path": "sklearn/model.joblib",
                        "parameters": {"bucket": "other", "type": "s3"},
                    }
                }
            }
        }
    )
    (ref,) = registry.extract_refs(obj)
    assert ref.storage == refs.StorageKey(
        key="default", path="sklearn/model.joblib", parameters=(("bucket", "other"), ("type", "s3"))
    )


NEGATIVES = """
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: llm
  annotations:
    serving.kserve.io/deploymentMode: RawDeployment
spec:
  predictor:
    # storageUri: s3://commented/out
    model:
      modelFormat: {name: huggingface}
      runtime: kserve-huggingfaceserver
      args:
        - --model_name=meta-llama/Llama-3-8B
        - --model_dir=/mnt/models
        - --model_id=/mnt/models
        - --served-model-name
        - org/served-name
        - --predictor_host=http://predictor.ml.svc.cluster.local
      env:
        - {name: HF_HOME, value: /mnt/models}
    containers:
      - name: kserve-container
        image: kserve/huggingfaceserver:v0.14.0
        volumeMounts: [{name: models, mountPath: /mnt/models}]
  transformer:
    containers:
      - name: transformer
        image: registry.example/org/transformer:1
        args: ["--predictor_host", "llm-predictor.ml.svc.cluster.local:80"]
"""


def test_negatives_yield_nothing() -> None:
    assert found(yaml.safe_load(NEGATIVES)) == []


def test_same_kind_other_group_is_not_kserve() -> None:
    obj = isvc({"predictor": {"model": {"storageUri": "oci://r/x"}}})
    obj["apiVersion"] = "other.example/v1"
    assert found(obj) == []
