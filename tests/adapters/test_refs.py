"""`modelward refs`: every object and its references, offline, without policies; and
`check --output json` lists the same references."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest
import yaml

from modelward.adapters import cli

MANIFEST = """
apiVersion: v1
kind: Namespace
metadata: {name: ml}
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: bert, namespace: ml}
spec:
  predictor:
    # storageUri: oci://commented.example/out:1
    model:
      modelFormat: {name: huggingface}
      storageUri: oci://registry.example/models/bert:v1
      args: ["--model_name=org/served", "--model_dir=/mnt/models"]
  transformer:
    containers:
      - name: t
        image: registry.example/org/transformer:1
        env: [{name: STORAGE_URI, value: "s3://b/tokenizer"}]
---
apiVersion: kubeai.org/v1
kind: Model
metadata: {name: qwen, namespace: ml}
spec: {engine: OLlama, url: "ollama://qwen2:0.5b"}
---
apiVersion: mlops.seldon.io/v1alpha1
kind: Model
metadata: {name: iris, namespace: ml}
spec: {storageUri: "gs://seldon-models/iris"}
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: keyed}
spec:
  predictor:
    model: {storage: {key: localMinIO, path: sk}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: ml}
data: {storageUri: "oci://not.a/model:1"}
"""

EXPECTED = [
    (
        "serving.kserve.io/InferenceService",
        "ml",
        "bert",
        [
            (
                "oci://registry.example/models/bert:v1",
                "spec.predictor.model.storageUri",
                "oci",
                True,
            ),
            ("s3://b/tokenizer", "spec.transformer.containers[0].env[0].value", "s3", True),
        ],
    ),
    ("kubeai.org/Model", "ml", "qwen", [("ollama://qwen2:0.5b", "spec.url", "ollama", False)]),
    (
        "mlops.seldon.io/Model",
        "ml",
        "iris",
        [("gs://seldon-models/iris", "spec.storageUri", "gs", True)],
    ),
    (
        "serving.kserve.io/InferenceService",
        "default",
        "keyed",
        [
            (
                "kserve-storage://localMinIO/sk",
                "spec.predictor.model.storage",
                "kserve-storage",
                False,
            )
        ],
    ),
    ("ConfigMap", "ml", "cfg", []),
]


@pytest.fixture
def manifest(tmp_path: pathlib.Path) -> str:
    path = tmp_path / "m.yaml"
    path.write_text(MANIFEST)
    return str(path)


def test_refs_json(manifest: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["refs", "-f", manifest, "--output", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    got = [
        (
            o["kind"],
            o["namespace"],
            o["name"],
            [(r["uri"], r["fieldPath"], r["scheme"], r["verifiable"]) for r in o["references"]],
        )
        for o in out["objects"]
    ]
    assert got == EXPECTED
    keyed = out["objects"][3]["references"][0]
    assert "cannot be read offline" in keyed["problem"]


def test_refs_text(manifest: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["refs", "-f", manifest]) == 0
    out = capsys.readouterr().out
    assert "InferenceService ml/bert (serving.kserve.io/InferenceService)" in out
    assert "spec.url: ollama://qwen2:0.5b [ollama unverifiable]" in out
    assert "spec.predictor.model.storageUri: oci://registry.example/models/bert:v1 [oci]" in out
    assert "ConfigMap ml/cfg (ConfigMap)\n      no model references" in out
    assert "commented" not in out


@pytest.mark.parametrize(
    "args", [["refs", "-f", "/nonexistent.yaml"], ["refs"], ["refs", "-f", "x", "-o", "xml"]]
)
def test_refs_usage_errors_exit_2(args: list[str]) -> None:
    assert cli.main(args) == 2


def test_check_json_lists_the_same_references(
    manifest: str, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "modelward.io/v1alpha1",
                "kind": "ClusterModelPolicy",
                "metadata": {"name": "allow-all"},
                "spec": {
                    "models": [{"glob": "**"}],
                    "authorities": [{"name": "any", "static": {"action": "pass"}}],
                },
            }
        )
    )
    assert cli.main(["refs", "-f", manifest, "-o", "json"]) == 0
    seen = json.loads(capsys.readouterr().out)
    assert cli.main(["check", "-f", manifest, "--policy", str(policy), "-o", "json"]) == 0
    checked = json.loads(capsys.readouterr().out)

    def shape(objects: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [
            (
                o["kind"],
                o["namespace"],
                o["name"],
                *((r["uri"], r["fieldPath"], r["scheme"]) for r in o["references"]),
            )
            for o in objects
        ]

    assert shape(seen["objects"]) == shape(checked["objects"])


DECLARED = """
apiVersion: modelward.io/v1alpha1
kind: ModelExtractor
metadata: {name: servingjobs}
spec:
  group: ml.example.com
  kind: ServingJob
  paths: [{path: "spec.models[*].uri"}]
---
apiVersion: ml.example.com/v1
kind: ServingJob
metadata: {name: chat, namespace: ml}
spec:
  models: [{uri: "pvc://cache/chat"}]
"""


def test_model_extractors_in_the_manifests_apply_offline(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "declared.yaml"
    path.write_text(DECLARED)
    assert cli.main(["refs", "-f", str(path), "-o", "json"]) == 0
    (obj,) = json.loads(capsys.readouterr().out)["objects"]
    assert (obj["kind"], obj["references"][0]["fieldPath"]) == (
        "ml.example.com/ServingJob",
        "spec.models[0].uri",
    )
    policy = tmp_path / "p.yaml"
    policy.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "modelward.io/v1alpha1",
                "kind": "ClusterModelPolicy",
                "metadata": {"name": "no-pvc"},
                "spec": {
                    "models": [{"glob": "pvc://**"}],
                    "authorities": [{"name": "s", "static": {"action": "fail"}}],
                },
            }
        )
    )
    assert cli.main(["check", "-f", str(path), "--policy", str(policy)]) == 1
    assert "(spec.models[0].uri): denied by a static authority" in capsys.readouterr().out


def test_invalid_model_extractor_offline_is_an_input_error(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "declared.yaml"
    path.write_text(DECLARED.replace("spec.models[*].uri", "spec..models"))
    assert cli.main(["refs", "-f", str(path)]) == 2
    assert "ModelExtractor servingjobs: spec.paths[0]: path 'spec..models'" in (
        capsys.readouterr().err
    )
