"""KServe: InferenceService (v1beta1), TrainedModel, LocalModelCache, LLMInferenceService."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from modelward.extractors import base, fields, pods
from modelward.structs import refs

GROUP = "serving.kserve.io"
COMPONENTS = ("predictor", "transformer", "explainer")
# Every per-framework key of the v1beta1 component specs: each is a container with a storageUri.
FRAMEWORKS = (
    "model",
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
    "art",
    "alibi",
)
# KServe's default key of the storage-config Secret when `storage.key` is left out.
DEFAULT_STORAGE_KEY = "default"
STORAGE_SCHEME = "kserve-storage"

# Documented with placeholders: <component> is each of COMPONENTS, <framework> each of FRAMEWORKS.
ISVC_FIELDS = (
    "spec.<component>.storageUri",
    "spec.<component>.storageUris[*].uri",
    "spec.<component>.storage",
    "spec.<component>.<framework>.storageUri",
    "spec.<component>.<framework>.storageUris[*].uri",
    "spec.<component>.<framework>.storage",
    "spec.<component>.<framework>.env[name=STORAGE_URI].value",
    "spec.<component>.<framework>.args[--model_id]",
    *(f"spec.<component>.{f}" for f in pods.POD_FIELDS_RELATIVE),
    "spec.<component>.containers[*].args[--model_id]",
)


def _inference_service(obj: Mapping[str, Any]) -> Iterator[refs.ModelRef]:
    spec = fields.mapping(obj.get("spec"))
    for component in COMPONENTS:
        comp = fields.mapping(spec.get(component))
        prefix = f"spec.{component}"
        yield from _storage_fields(comp, prefix)
        for framework in FRAMEWORKS:
            container = fields.mapping(comp.get(framework))
            path = f"{prefix}.{framework}"
            yield from _storage_fields(container, path)
            yield from fields.storage_env(container, path)
            yield from fields.hf_model_id(container, path)
        # A component is also a pod spec: custom containers, image volumes, init containers.
        yield from pods.pod_spec(comp, prefix)
        for i, container in enumerate(fields.items(comp.get("containers"))):
            yield from fields.hf_model_id(fields.mapping(container), f"{prefix}.containers[{i}]")


def _storage_fields(spec: Mapping[str, Any], prefix: str) -> Iterator[refs.ModelRef]:
    yield from fields.uri_field(spec.get("storageUri"), f"{prefix}.storageUri")
    for i, item in enumerate(fields.items(spec.get("storageUris"))):
        if isinstance(item, Mapping):
            yield from fields.uri_field(item.get("uri"), f"{prefix}.storageUris[{i}].uri")
        else:
            yield from fields.uri_field(item, f"{prefix}.storageUris[{i}]")
    storage = spec.get("storage")
    if isinstance(storage, Mapping) and "storageUri" not in spec:
        yield storage_ref(storage, f"{prefix}.storage")


def storage_ref(storage: Mapping[str, Any], path: str) -> refs.ModelRef:
    """The storage-key form names no URI: it is reported with a `kserve-storage://KEY/PATH`
    placeholder until the storage-config Secret resolves it, and denied if it cannot be."""
    key = storage.get("key")
    key = key if isinstance(key, str) and key else DEFAULT_STORAGE_KEY
    where = storage.get("path")
    where = where.strip("/") if isinstance(where, str) else ""
    parameters = tuple(
        sorted(
            (str(k), str(v))
            for k, v in fields.mapping(storage.get("parameters")).items()
            if isinstance(v, str | int | float | bool)
        )
    )
    return refs.ModelRef(
        f"{STORAGE_SCHEME}://{key}/{where}",
        path,
        storage=refs.StorageKey(key=key, path=where, parameters=parameters),
    )


def _trained_model(obj: Mapping[str, Any]) -> Iterator[refs.ModelRef]:
    yield from fields.uri_field(fields.dig(obj, ("spec", "model")).get("storageUri"), _TM_FIELD)


def _local_model_cache(obj: Mapping[str, Any]) -> Iterator[refs.ModelRef]:
    yield from fields.uri_field(fields.dig(obj, ("spec",)).get("sourceModelUri"), _LMC_FIELD)


def _llm_inference_service(obj: Mapping[str, Any]) -> Iterator[refs.ModelRef]:
    yield from fields.uri_field(fields.dig(obj, ("spec", "model")).get("uri"), _LLM_FIELD)


_TM_FIELD = "spec.model.storageUri"
_LMC_FIELD = "spec.sourceModelUri"
_LLM_FIELD = "spec.model.uri"

EXTRACTORS = (
    base.Extractor(GROUP, "InferenceService", ISVC_FIELDS, _inference_service),
    base.Extractor(GROUP, "TrainedModel", (_TM_FIELD,), _trained_model),
    base.Extractor(GROUP, "LocalModelCache", (_LMC_FIELD,), _local_model_cache),
    base.Extractor(GROUP, "LLMInferenceService", (_LLM_FIELD,), _llm_inference_service),
)
