"""Pods and every pod controller: image volumes, storage-initializer containers, STORAGE_URI,
and the annotations that name models."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from modelward.extractors import base, fields
from modelward.structs import refs

MODELS_ANNOTATION = "modelward.io/models"
KSERVE_SOURCE_ANNOTATION = "serving.kserve.io/storage-initializer-sourceuri"
STORAGE_INITIALIZER = "storage-initializer"

# The fields of a pod spec, relative to it.
POD_FIELDS_RELATIVE = (
    "volumes[*].image.reference",
    "initContainers[name=storage-initializer].args[0]",
    "containers[name=storage-initializer].args[0]",
    "initContainers[*].env[name=STORAGE_URI].value",
    "containers[*].env[name=STORAGE_URI].value",
)
POD_FIELDS = tuple(f"spec.{f}" for f in POD_FIELDS_RELATIVE)
# Read on every object, whatever its kind.
ANNOTATION_FIELDS = (
    f"metadata.annotations['{MODELS_ANNOTATION}']",
    f"metadata.annotations['{KSERVE_SOURCE_ANNOTATION}']",
)


def metadata_annotations(metadata: Mapping[str, Any], prefix: str) -> Iterator[refs.ModelRef]:
    """`modelward.io/models` (comma-separated) and KServe's storage-initializer source URI.
    Read on every object, whatever its kind."""
    found = fields.mapping(metadata.get("annotations"))
    listed = found.get(MODELS_ANNOTATION)
    if isinstance(listed, str):
        path = f"{prefix}.annotations['{MODELS_ANNOTATION}']"
        for item in listed.split(","):
            if item.strip():
                yield refs.ModelRef(fields.normalize_uri(item), path)
    source = found.get(KSERVE_SOURCE_ANNOTATION)
    if isinstance(source, str):
        yield refs.ModelRef(
            fields.normalize_uri(source), f"{prefix}.annotations['{KSERVE_SOURCE_ANNOTATION}']"
        )


def pod_spec(spec: Mapping[str, Any], prefix: str) -> Iterator[refs.ModelRef]:
    """Image volumes, a `storage-initializer` container's first argument, `env[STORAGE_URI]`."""
    for i, volume in enumerate(fields.items(spec.get("volumes"))):
        image = fields.mapping(fields.mapping(volume).get("image"))
        reference = image.get("reference")
        if isinstance(reference, str) and reference.strip():
            yield refs.ModelRef(
                fields.normalize_image(reference), f"{prefix}.volumes[{i}].image.reference"
            )
    for field in ("initContainers", "containers"):
        for i, container in enumerate(fields.items(spec.get(field))):
            container = fields.mapping(container)
            path = f"{prefix}.{field}[{i}]"
            if container.get("name") == STORAGE_INITIALIZER:
                args = fields.items(container.get("args"))
                if args and isinstance(args[0], str):
                    yield refs.ModelRef(fields.normalize_uri(args[0]), f"{path}.args[0]")
            yield from fields.storage_env(container, path)


def _pod(obj: Mapping[str, Any]) -> Iterator[refs.ModelRef]:
    yield from pod_spec(fields.mapping(obj.get("spec")), "spec")


def _templated(path: tuple[str, ...]) -> base.ExtractFn:
    prefix = ".".join(path)

    def extract(obj: Mapping[str, Any]) -> Iterator[refs.ModelRef]:
        template = fields.dig(obj, path)
        yield from metadata_annotations(
            fields.mapping(template.get("metadata")), f"{prefix}.metadata"
        )
        yield from pod_spec(fields.mapping(template.get("spec")), f"{prefix}.spec")

    return extract


def _controller(group: str, kind: str, path: tuple[str, ...]) -> base.Extractor:
    # `<pod>`: the Pod's fields and metadata annotations, under the template.
    return base.Extractor(group, kind, (f"{'.'.join(path)}.<pod>",), _templated(path))


TEMPLATE = ("spec", "template")
EXTRACTORS = (
    base.Extractor("", "Pod", POD_FIELDS, _pod),
    _controller("apps", "Deployment", TEMPLATE),
    _controller("apps", "StatefulSet", TEMPLATE),
    _controller("apps", "DaemonSet", TEMPLATE),
    _controller("apps", "ReplicaSet", TEMPLATE),
    _controller("", "ReplicationController", TEMPLATE),
    _controller("batch", "Job", TEMPLATE),
    _controller("batch", "CronJob", ("spec", "jobTemplate", "spec", "template")),
)
