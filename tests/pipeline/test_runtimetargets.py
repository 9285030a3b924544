"""Where a reference's model sits in a pod spec: the pod spec, the volume, the directory."""

from __future__ import annotations

from typing import Any

import pytest

from modelward.pipeline import runtimetargets
from modelward.structs import refs


@pytest.mark.parametrize(
    ("kind", "field_path", "expected"),
    [
        ("Pod", "metadata.annotations['modelward.io/models']", ("spec",)),
        ("Pod", "spec.containers[1].env[2].value", ("spec",)),
        ("Pod", "spec.initContainers[0].args[0]", ("spec",)),
        ("Deployment", "metadata.annotations['modelward.io/models']", ("spec", "template", "spec")),
        (
            "Deployment",
            "spec.template.metadata.annotations['modelward.io/models']",
            ("spec", "template", "spec"),
        ),
        (
            "Deployment",
            "spec.template.spec.volumes[0].image.reference",
            ("spec", "template", "spec"),
        ),
        (
            "CronJob",
            "metadata.annotations['modelward.io/models']",
            ("spec", "jobTemplate", "spec", "template", "spec"),
        ),
        ("InferenceService", "metadata.annotations['modelward.io/models']", None),
        ("InferenceService", "spec.predictor.model.storageUri", None),
    ],
)
def test_pod_spec_path(kind: str, field_path: str, expected: tuple[str, ...] | None) -> None:
    template = {"metadata": {}, "spec": {"containers": []}}
    spec: dict[str, Any] = {
        "Deployment": {"template": template},
        "CronJob": {"jobTemplate": {"spec": {"template": template}}},
        "InferenceService": {"predictor": {}},
    }.get(kind, {"containers": []})
    obj = {"kind": kind, "spec": spec}
    assert runtimetargets.pod_spec_path(obj, refs.ModelRef("pvc://c/m", field_path)) == expected


def test_every_volume_of_the_claim_is_a_target() -> None:
    obj = {
        "kind": "Pod",
        "spec": {
            "volumes": [
                {"name": "a", "persistentVolumeClaim": {"claimName": "models"}},
                {"name": "b", "persistentVolumeClaim": {"claimName": "other"}},
                {"name": "c", "persistentVolumeClaim": {"claimName": "models", "readOnly": True}},
                "not a volume",
            ]
        },
    }
    ref = refs.ModelRef("pvc://models/bert", "metadata.annotations['modelward.io/models']")
    found = runtimetargets.claim_volumes(obj, ref)
    assert [(t.name, t.volume, t.model_dir, t.after) for t in found] == [
        ("pvc-0", "a", "bert", None),
        ("pvc-2", "c", "bert", None),
    ]
    bad = refs.ModelRef("pvc://models/../x", ref.field_path)
    assert runtimetargets.claim_volumes(obj, bad) == []


@pytest.mark.parametrize(
    "container",
    [
        {"name": "other", "args": ["gs://b/m", "/mnt/models"]},
        {"name": "storage-initializer", "args": ["gs://b/m", 7]},
        {"name": "storage-initializer", "args": ["gs://b/m", "/mnt/models"], "volumeMounts": "x"},
    ],
)
def test_no_storage_target_without_an_initializer_writing_a_volume(
    container: dict[str, Any],
) -> None:
    obj = {"kind": "Pod", "spec": {"initContainers": [container]}}
    ref = refs.ModelRef("gs://b/m", "spec.initContainers[0].args[0]")
    assert runtimetargets.storage_initializer(obj, ref) is None
