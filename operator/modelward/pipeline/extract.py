"""Find every model reference in a Kubernetes object, with the field path it came from."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from modelward.structs import refs

MODELS_ANNOTATION = "modelward.io/models"
KSERVE_SOURCE_ANNOTATION = "serving.kserve.io/storage-initializer-sourceuri"
STORAGE_INITIALIZER = "storage-initializer"
STORAGE_URI_ENV = "STORAGE_URI"

KSERVE_GROUP = "serving.kserve.io"
KSERVE_COMPONENTS = ("predictor", "transformer", "explainer")
# Every per-framework key of KServe's v1beta1 component specs that carries a storageUri.
KSERVE_FRAMEWORKS = (
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

# Where each pod controller keeps its pod template.
POD_TEMPLATE_PATHS: Mapping[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


def extract_refs(obj: Mapping[str, Any]) -> list[refs.ModelRef]:
    """Return the model references of `obj`, in document order, without exact duplicates."""
    kind = str(obj.get("kind", ""))
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    found: list[refs.ModelRef] = list(_annotations(_mapping(obj.get("metadata")), "metadata"))
    if kind == "Pod" and group == "":
        found += _pod_spec(_mapping(obj.get("spec")), "spec")
    elif kind in POD_TEMPLATE_PATHS:
        path = POD_TEMPLATE_PATHS[kind]
        template = _dig(obj, path)
        prefix = ".".join(path)
        found += _annotations(_mapping(template.get("metadata")), f"{prefix}.metadata")
        found += _pod_spec(_mapping(template.get("spec")), f"{prefix}.spec")
    elif group == KSERVE_GROUP and kind == "InferenceService":
        found += _inference_service(_mapping(obj.get("spec")))
    elif group == KSERVE_GROUP and kind == "LLMInferenceService":
        found += _string(_dig(obj, ("spec", "model")).get("uri"), "spec.model.uri")
    unique: dict[tuple[str, str], refs.ModelRef] = {}
    for ref in found:
        unique.setdefault((ref.uri, ref.field_path), ref)
    return list(unique.values())


def normalize_image(reference: str) -> str:
    """Turn a container image reference into an `oci://` URI with an explicit registry."""
    reference = reference.strip()
    if "://" in reference:
        return reference
    first, sep, _ = reference.partition("/")
    has_registry = sep and ("." in first or ":" in first or first == "localhost")
    if not has_registry:
        reference = f"docker.io/{reference}" if sep else f"docker.io/library/{reference}"
    return f"oci://{reference}"


def normalize_uri(uri: str) -> str:
    """Trim a storage URI and lower-case its scheme; keep everything else as written."""
    uri = uri.strip()
    scheme, sep, rest = uri.partition("://")
    return f"{scheme.lower()}://{rest}" if sep else uri


def _annotations(metadata: Mapping[str, Any], prefix: str) -> Iterator[refs.ModelRef]:
    annotations = _mapping(metadata.get("annotations"))
    listed = annotations.get(MODELS_ANNOTATION)
    if isinstance(listed, str):
        path = f"{prefix}.annotations['{MODELS_ANNOTATION}']"
        for item in listed.split(","):
            if item.strip():
                yield refs.ModelRef(normalize_uri(item), path)
    source = annotations.get(KSERVE_SOURCE_ANNOTATION)
    if isinstance(source, str):
        yield refs.ModelRef(
            normalize_uri(source), f"{prefix}.annotations['{KSERVE_SOURCE_ANNOTATION}']"
        )


def _pod_spec(spec: Mapping[str, Any], prefix: str) -> Iterator[refs.ModelRef]:
    for i, volume in enumerate(_list(spec.get("volumes"))):
        image = _mapping(_mapping(volume).get("image"))
        reference = image.get("reference")
        if isinstance(reference, str) and reference.strip():
            yield refs.ModelRef(
                normalize_image(reference), f"{prefix}.volumes[{i}].image.reference"
            )
    for field in ("initContainers", "containers"):
        for i, container in enumerate(_list(spec.get(field))):
            container = _mapping(container)
            path = f"{prefix}.{field}[{i}]"
            if container.get("name") == STORAGE_INITIALIZER:
                args = _list(container.get("args"))
                if args and isinstance(args[0], str):
                    yield refs.ModelRef(normalize_uri(args[0]), f"{path}.args[0]")
            yield from _storage_env(container, path)


def _storage_env(container: Mapping[str, Any], path: str) -> Iterator[refs.ModelRef]:
    for j, env in enumerate(_list(container.get("env"))):
        env = _mapping(env)
        value = env.get("value")
        if env.get("name") == STORAGE_URI_ENV and isinstance(value, str) and value.strip():
            yield refs.ModelRef(normalize_uri(value), f"{path}.env[{j}].value")


def _inference_service(spec: Mapping[str, Any]) -> Iterator[refs.ModelRef]:
    for component in KSERVE_COMPONENTS:
        comp = _mapping(spec.get(component))
        prefix = f"spec.{component}"
        yield from _storage_fields(comp, prefix)
        for framework in KSERVE_FRAMEWORKS:
            yield from _storage_fields(_mapping(comp.get(framework)), f"{prefix}.{framework}")
        for i, container in enumerate(_list(comp.get("containers"))):
            yield from _storage_env(_mapping(container), f"{prefix}.containers[{i}]")


def _storage_fields(spec: Mapping[str, Any], prefix: str) -> Iterator[refs.ModelRef]:
    yield from _string(spec.get("storageUri"), f"{prefix}.storageUri")
    for i, item in enumerate(_list(spec.get("storageUris"))):
        if isinstance(item, Mapping):
            yield from _string(item.get("uri"), f"{prefix}.storageUris[{i}].uri")
        else:
            yield from _string(item, f"{prefix}.storageUris[{i}]")
    storage = _mapping(spec.get("storage"))
    if storage and "storageUri" not in spec:
        # The storage-spec form names a Secret key and a path, not a URI: it is reported
        # so that it is denied as unverifiable rather than silently admitted.
        key, path = storage.get("key", ""), storage.get("path", "")
        yield refs.ModelRef(f"kserve-storage://{key}/{path}", f"{prefix}.storage")


def _string(value: Any, path: str) -> Iterator[refs.ModelRef]:
    if isinstance(value, str):
        # An empty storageUri is reported too: it cannot be verified and must not slip past.
        yield refs.ModelRef(normalize_uri(value), path)


def _dig(obj: Mapping[str, Any], path: tuple[str, ...]) -> Mapping[str, Any]:
    current: Mapping[str, Any] = obj
    for key in path:
        current = _mapping(current.get(key))
    return current


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
