"""The pipeline's extraction entry point across kinds, table-driven; negatives produce no
reference. Per-project fields are tested in tests/extractors/."""

from __future__ import annotations

from typing import Any

import pytest

from modelward.extractors import fields
from modelward.pipeline import extract


def pod_spec(**extra: Any) -> dict[str, Any]:
    return {"containers": [{"name": "server", "image": "registry.example/org/server:1"}], **extra}


def meta(annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"name": "x", "namespace": "ml", **({"annotations": annotations} if annotations else {})}


IMAGE_VOLUME = {
    "volumes": [{"name": "m", "image": {"reference": "reg.example:5000/models/bert:v1"}}]
}
STORAGE_INIT = {
    "initContainers": [{"name": "storage-initializer", "args": ["s3://bucket/bert", "/mnt/models"]}]
}


def workload(kind: str, api: str, spec: dict[str, Any]) -> dict[str, Any]:
    template = {"metadata": {}, "spec": spec}
    body = (
        {"jobTemplate": {"spec": {"template": template}}}
        if kind == "CronJob"
        else {"template": template}
    )
    return {"apiVersion": api, "kind": kind, "metadata": meta(), "spec": body}


CASES = [
    pytest.param(
        {"apiVersion": "v1", "kind": "Pod", "metadata": meta(), "spec": pod_spec(**IMAGE_VOLUME)},
        [("oci://reg.example:5000/models/bert:v1", "spec.volumes[0].image.reference")],
        id="pod-image-volume",
    ),
    pytest.param(
        {"apiVersion": "v1", "kind": "Pod", "metadata": meta(), "spec": pod_spec(**STORAGE_INIT)},
        [("s3://bucket/bert", "spec.initContainers[0].args[0]")],
        id="pod-storage-initializer",
    ),
    pytest.param(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": meta({"serving.kserve.io/storage-initializer-sourceuri": "gs://b/m"}),
            "spec": pod_spec(),
        },
        [("gs://b/m", "metadata.annotations['serving.kserve.io/storage-initializer-sourceuri']")],
        id="pod-kserve-annotation",
    ),
    pytest.param(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": meta({"modelward.io/models": "oci://r/a:1, https://h/m.bin ,"}),
            "spec": pod_spec(),
        },
        [
            ("oci://r/a:1", "metadata.annotations['modelward.io/models']"),
            ("https://h/m.bin", "metadata.annotations['modelward.io/models']"),
        ],
        id="pod-modelward-annotation",
    ),
    pytest.param(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": meta(),
            "spec": {"volumes": [{"name": "m", "image": {"reference": "bert:v1"}}]},
        },
        [("oci://docker.io/library/bert:v1", "spec.volumes[0].image.reference")],
        id="pod-image-volume-docker-hub",
    ),
    *[
        pytest.param(
            workload(kind, api, pod_spec(**IMAGE_VOLUME)),
            [
                (
                    "oci://reg.example:5000/models/bert:v1",
                    f"{prefix}.spec.volumes[0].image.reference",
                )
            ],
            id=f"{kind.lower()}-template",
        )
        for kind, api, prefix in [
            ("Deployment", "apps/v1", "spec.template"),
            ("StatefulSet", "apps/v1", "spec.template"),
            ("DaemonSet", "apps/v1", "spec.template"),
            ("ReplicaSet", "apps/v1", "spec.template"),
            ("Job", "batch/v1", "spec.template"),
            ("CronJob", "batch/v1", "spec.jobTemplate.spec.template"),
        ]
    ],
    pytest.param(
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": meta(),
            "spec": {
                "predictor": {
                    "model": {"modelFormat": {"name": "onnx"}, "storageUri": "OCI://r/m:1"}
                }
            },
        },
        [("oci://r/m:1", "spec.predictor.model.storageUri")],
        id="isvc-model-storageUri",
    ),
    pytest.param(
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": meta(),
            "spec": {
                "predictor": {
                    "model": {
                        "storageUris": [{"uri": "oci://r/a:1", "mountPath": "/a"}, "oci://r/b:1"]
                    }
                }
            },
        },
        [
            ("oci://r/a:1", "spec.predictor.model.storageUris[0].uri"),
            ("oci://r/b:1", "spec.predictor.model.storageUris[1]"),
        ],
        id="isvc-storageUris",
    ),
    *[
        pytest.param(
            {
                "apiVersion": "serving.kserve.io/v1beta1",
                "kind": "InferenceService",
                "metadata": meta(),
                "spec": {"predictor": {framework: {"storageUri": f"https://h/{framework}.bin"}}},
            },
            [(f"https://h/{framework}.bin", f"spec.predictor.{framework}.storageUri")],
            id=f"isvc-{framework}",
        )
        for framework in (
            "sklearn",
            "xgboost",
            "tensorflow",
            "pytorch",
            "onnx",
            "triton",
            "lightgbm",
            "paddle",
            "pmml",
            "huggingface",
        )
    ],
    pytest.param(
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": meta(),
            "spec": {
                "predictor": {"model": {"storageUri": "oci://r/m:1"}},
                "transformer": {
                    "containers": [
                        {"name": "t", "env": [{"name": "STORAGE_URI", "value": "oci://r/t:1"}]}
                    ]
                },
                "explainer": {"art": {"storageUri": "oci://r/e:1"}},
            },
        },
        [
            ("oci://r/m:1", "spec.predictor.model.storageUri"),
            ("oci://r/t:1", "spec.transformer.containers[0].env[0].value"),
            ("oci://r/e:1", "spec.explainer.art.storageUri"),
        ],
        id="isvc-transformer-explainer",
    ),
    pytest.param(
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": meta(),
            "spec": {"predictor": {"model": {"storageUri": ""}}},
        },
        [("", "spec.predictor.model.storageUri")],
        id="isvc-empty-storageUri-is-reported",
    ),
    pytest.param(
        {
            "apiVersion": "serving.kserve.io/v1alpha1",
            "kind": "LLMInferenceService",
            "metadata": meta(),
            "spec": {"model": {"uri": "hf://org/llm"}},
        },
        [("hf://org/llm", "spec.model.uri")],
        id="llmisvc",
    ),
]


@pytest.mark.parametrize(("obj", "expected"), CASES)
def test_extract(obj: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert [(r.uri, r.field_path) for r in extract.extract_refs(obj)] == expected


NEGATIVES = [
    pytest.param(
        {"apiVersion": "v1", "kind": "Pod", "metadata": meta(), "spec": pod_spec()}, id="plain-pod"
    ),
    pytest.param(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": meta(),
            "spec": {
                "containers": [{"name": "srv", "args": ["--model-dir", "/mnt/models"]}],
                "volumes": [{"name": "m", "persistentVolumeClaim": {"claimName": "x"}}],
            },
        },
        id="mount-paths-and-pvc-volume",
    ),
    pytest.param(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta(),
            "data": {"storageUri": "oci://r/x"},
        },
        id="other-kind",
    ),
    pytest.param(
        {
            "apiVersion": "other.io/v1",
            "kind": "InferenceService",
            "metadata": meta(),
            "spec": {"predictor": {"model": {"storageUri": "oci://r/x"}}},
        },
        id="same-kind-other-group",
    ),
]


@pytest.mark.parametrize("obj", NEGATIVES)
def test_no_reference(obj: dict[str, Any]) -> None:
    assert extract.extract_refs(obj) == []


@pytest.mark.parametrize(
    ("image", "uri"),
    [
        ("bert", "oci://docker.io/library/bert"),
        ("org/bert:v1", "oci://docker.io/org/bert:v1"),
        ("localhost/bert", "oci://localhost/bert"),
        ("127.0.0.1:5000/m@sha256:" + "a" * 64, "oci://127.0.0.1:5000/m@sha256:" + "a" * 64),
    ],
)
def test_normalize_image(image: str, uri: str) -> None:
    assert fields.normalize_image(image) == uri
