"""Seldon Core v2 Model and v1 SeldonDeployment graphs, children at any depth."""

from __future__ import annotations

from typing import Any

import yaml

from modelward.extractors import registry, seldon

V1 = """
apiVersion: machinelearning.seldon.io/v1
kind: SeldonDeployment
metadata: {name: pipeline, namespace: ml}
spec:
  name: pipeline
  predictors:
    - name: default
      replicas: 1
      componentSpecs:
        - spec:
            containers:
              - name: classifier
                image: seldonio/sklearnserver:1.18.0
      graph:
        name: transformer
        type: TRANSFORMER
        endpoint: {type: REST, service_host: localhost, service_port: 9000}
        children:
          - name: classifier
            implementation: SKLEARN_SERVER
            modelUri: gs://seldon-models/sklearn/iris
            children:
              - name: outlier
                implementation: TRITON_SERVER
                modelUri: s3://b/outlier
    - name: canary
      graph:
        name: clf
        implementation: MLFLOW_SERVER
        modelUri: pvc://models-pvc/mlflow
"""

V2 = """
apiVersion: mlops.seldon.io/v1alpha1
kind: Model
metadata: {name: iris, namespace: seldon-mesh}
spec:
  storageUri: gs://seldon-models/scv2/samples/mlserver_1.3.5/iris-sklearn
  requirements: [sklearn]
  memory: 100Ki
"""


def found(obj: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r.uri, r.field_path) for r in registry.extract_refs(obj)]


def test_seldon_deployment_graph_and_children() -> None:
    assert found(yaml.safe_load(V1)) == [
        ("gs://seldon-models/sklearn/iris", "spec.predictors[0].graph.children[0].modelUri"),
        ("s3://b/outlier", "spec.predictors[0].graph.children[0].children[0].modelUri"),
        ("pvc://models-pvc/mlflow", "spec.predictors[1].graph.modelUri"),
    ]


def test_v2_model() -> None:
    assert found(yaml.safe_load(V2)) == [
        (
            "gs://seldon-models/scv2/samples/mlserver_1.3.5/iris-sklearn",
            "spec.storageUri",
        )
    ]


def test_rclone_remote_is_kept_as_written() -> None:
    obj = yaml.safe_load(V2)
    obj["spec"]["storageUri"] = "minio:models/iris"
    (ref,) = registry.extract_refs(obj)
    assert (ref.uri, ref.scheme) == ("minio:models/iris", "")


def test_too_deep_graph_is_reported_not_skipped() -> None:
    node: dict[str, Any] = {"name": "leaf", "modelUri": "s3://b/deep"}
    for _ in range(seldon.MAX_GRAPH_DEPTH + 5):
        node = {"name": "n", "children": [node]}
    obj = yaml.safe_load(V1)
    obj["spec"]["predictors"] = [{"name": "p", "graph": node}]
    (ref,) = registry.extract_refs(obj)
    assert ref.problem.startswith("the graph is nested deeper than")
