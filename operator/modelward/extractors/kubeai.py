"""KubeAI `Model` (kubeai.org): the model URL and the URLs of its LoRA adapters."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from modelward.extractors import base, fields
from modelward.structs import refs

GROUP = "kubeai.org"


def _model(obj: Mapping[str, Any]) -> Iterator[refs.ModelRef]:
    spec = fields.dig(obj, ("spec",))
    yield from fields.uri_field(spec.get("url"), "spec.url")
    for i, adapter in enumerate(fields.items(spec.get("adapters"))):
        yield from fields.uri_field(fields.mapping(adapter).get("url"), f"spec.adapters[{i}].url")


EXTRACTORS = (base.Extractor(GROUP, "Model", ("spec.url", "spec.adapters[*].url"), _model),)
