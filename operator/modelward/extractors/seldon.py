"""Seldon Core: v2 `Model` (mlops.seldon.io) and v1 `SeldonDeployment`
(machinelearning.seldon.io), whose predictor graphs nest `children` to any depth."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from modelward.extractors import base, fields, pods
from modelward.structs import refs

V2_GROUP = "mlops.seldon.io"
V1_GROUP = "machinelearning.seldon.io"
# Graphs are written by people; a deeper one is an attack on the webhook, not a model graph.
MAX_GRAPH_DEPTH = 64


def _model(obj: Mapping[str, Any]) -> Iterator[refs.ModelRef]:
    yield from fields.uri_field(fields.dig(obj, ("spec",)).get("storageUri"), "spec.storageUri")


def _seldon_deployment(obj: Mapping[str, Any]) -> Iterator[refs.ModelRef]:
    for i, predictor in enumerate(fields.items(fields.dig(obj, ("spec",)).get("predictors"))):
        prefix = f"spec.predictors[{i}]"
        predictor = fields.mapping(predictor)
        yield from _graph(fields.mapping(predictor.get("graph")), f"{prefix}.graph", 0)
        for j, component in enumerate(fields.items(predictor.get("componentSpecs"))):
            spec = fields.mapping(fields.mapping(component).get("spec"))
            yield from pods.pod_spec(spec, f"{prefix}.componentSpecs[{j}].spec")


def _graph(node: Mapping[str, Any], path: str, depth: int) -> Iterator[refs.ModelRef]:
    if depth > MAX_GRAPH_DEPTH:
        # Reported, not skipped: what lies below is unseen and must not be admitted unseen.
        yield refs.ModelRef(
            "", path, problem=f"the graph is nested deeper than {MAX_GRAPH_DEPTH} levels"
        )
        return
    yield from fields.uri_field(node.get("modelUri"), f"{path}.modelUri")
    for k, child in enumerate(fields.items(node.get("children"))):
        yield from _graph(fields.mapping(child), f"{path}.children[{k}]", depth + 1)


EXTRACTORS = (
    base.Extractor(V2_GROUP, "Model", ("spec.storageUri",), _model),
    base.Extractor(
        V1_GROUP,
        "SeldonDeployment",
        (
            "spec.predictors[*].graph.modelUri",
            "spec.predictors[*].graph.children[*].modelUri",
            "spec.predictors[*].componentSpecs[*].spec.containers[*].env[name=STORAGE_URI].value",
        ),
        _seldon_deployment,
    ),
)
