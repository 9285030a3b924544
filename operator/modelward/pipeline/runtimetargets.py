"""Where a runtime check finds the model files of a reference inside a pod spec.

Three places hold a model the pod loads: an image volume (`spec.volumes[N].image`), the
directory KServe's `storage-initializer` init container downloads into (an emptyDir at
`/mnt/models`), and a PersistentVolumeClaim the pod mounts (`pvc://CLAIM/PATH`). For each, a
`Target` names the volume to mount read-only into the verifier, the directory under that
mount that holds the model, and the init container the verifier must run after.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from collections.abc import Mapping
from typing import Any

from modelward import errors
from modelward.extractors import pods
from modelward.pipeline import pin
from modelward.sources import pvc
from modelward.structs import refs

# Where KServe's storage initializer writes when its arguments name no directory.
KSERVE_MODEL_DIR = "/mnt/models"
_IMAGE_VOLUME = re.compile(r"^(?P<spec>.*)\.volumes\[(?P<index>\d+)\]\.image\.reference$")
_INITIALIZER = re.compile(r"^(?P<spec>.*)\.initContainers\[(?P<index>\d+)\]\.args\[0\]$")
# A reference read from a pod spec's containers, volumes or annotations: its pod spec.
_IN_SPEC = re.compile(r"^(?P<spec>.*?)\.(?:initContainers|containers|volumes)\[")
_IN_TEMPLATE = re.compile(r"^(?P<template>.+)\.metadata\.annotations\[")
# A Pod's spec, a controller's pod template, a CronJob's: where an object's pods are described.
_POD_SPECS: tuple[tuple[pin.PathPart, ...], ...] = (
    ("spec", "template", "spec"),
    ("spec", "jobTemplate", "spec", "template", "spec"),
)


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """Mount `volume` (at `sub_path` of it) read-only and verify `model_dir` below the mount;
    the verifier goes right after the init container named `after` (None: before all)."""

    spec_path: tuple[pin.PathPart, ...]
    name: str
    volume: str
    sub_path: str = ""
    model_dir: str = ""
    after: str | None = None


def image_volume(obj: Mapping[str, Any], ref: refs.ModelRef) -> Target | None:
    """An image volume the reference was read from."""
    found = _IMAGE_VOLUME.match(ref.field_path)
    spec_path = pin.field_path(found["spec"]) if found else None
    if found is None or spec_path is None:
        return None
    index = int(found["index"])
    volume = _named(_list(get(obj, spec_path), "volumes"), index)
    return Target(spec_path, str(index), volume) if volume else None


def storage_initializer(obj: Mapping[str, Any], ref: refs.ModelRef) -> Target | None:
    """The directory KServe's storage initializer downloads the reference into.

    KServe gives it `[uri, dir, uri, dir, ...]` (one directory, `/mnt/models`, by default)
    and mounts the download volume at that directory or one of its parents.
    """
    found = _INITIALIZER.match(ref.field_path)
    spec_path = pin.field_path(found["spec"]) if found else None
    if found is None or spec_path is None:
        return None
    index = int(found["index"])
    containers = _list(get(obj, spec_path), "initContainers")
    container = containers[index] if index < len(containers) else None
    if not isinstance(container, Mapping) or container.get("name") != pods.STORAGE_INITIALIZER:
        return None
    args = container.get("args")
    dest = args[1] if isinstance(args, list) and len(args) > 1 else KSERVE_MODEL_DIR
    if not isinstance(dest, str) or not dest.startswith("/"):
        return None
    dest = posixpath.normpath(dest)
    best: tuple[int, Mapping[str, Any]] | None = None
    for mount in _list(container, "volumeMounts"):
        path = mount.get("mountPath") if isinstance(mount, Mapping) else None
        if not isinstance(path, str) or not isinstance(mount.get("name"), str):
            continue
        path = posixpath.normpath(path)
        inside = dest == path or dest.startswith(path.rstrip("/") + "/")
        if inside and (best is None or len(path) > best[0]):
            best = (len(path), mount)
    if best is None:
        return None
    length, mount = best
    sub_path = mount.get("subPath")
    return Target(
        spec_path,
        f"storage-{index}",
        mount["name"],
        sub_path=sub_path if isinstance(sub_path, str) else "",
        model_dir=dest[length:].strip("/"),
        after=pods.STORAGE_INITIALIZER,
    )


def claim_volumes(obj: Mapping[str, Any], ref: refs.ModelRef) -> list[Target]:
    """Every volume of the reference's pod spec that mounts its claim, with the model's
    directory inside it; none when the object has no pod spec (the pods it makes have)."""
    try:
        claim = pvc.parse_uri(ref.uri)
    except errors.InputError:
        return []
    spec_path = pod_spec_path(obj, ref)
    if spec_path is None:
        return []
    out = []
    for i, volume in enumerate(_list(get(obj, spec_path), "volumes")):
        volume = volume if isinstance(volume, Mapping) else {}
        source, name = volume.get("persistentVolumeClaim"), volume.get("name")
        mounts = isinstance(source, Mapping) and source.get("claimName") == claim.name
        if mounts and isinstance(name, str) and name:
            out.append(Target(spec_path, f"pvc-{i}", name, model_dir=claim.path))
    return out


def get(obj: Any, path: tuple[pin.PathPart, ...] | None) -> Any:
    """The value at `path`, or None where the object has nothing there."""
    if path is None:
        return None
    for part in path:
        if isinstance(part, int):
            obj = obj[part] if isinstance(obj, list) and part < len(obj) else None
        else:
            obj = obj.get(part) if isinstance(obj, Mapping) else None
    return obj


def pod_spec_path(obj: Mapping[str, Any], ref: refs.ModelRef) -> tuple[pin.PathPart, ...] | None:
    """The pod spec a reference belongs to: the one whose container, volume or (template)
    annotation named it; an object's own annotations belong to its pod template (a Pod's to
    its `spec`); None when the object describes no pod."""
    if ref.field_path.startswith("metadata."):
        # The object's own annotations name the model of the pods it runs.
        if obj.get("kind") == "Pod":
            return ("spec",)
        return next((p for p in _POD_SPECS if isinstance(get(obj, p), Mapping)), None)
    found = _IN_SPEC.match(ref.field_path)
    if found:
        return pin.field_path(found["spec"])
    template = _IN_TEMPLATE.match(ref.field_path)
    prefix = pin.field_path(template["template"]) if template else None
    return (*prefix, "spec") if prefix else None


def _list(spec: Any, key: str) -> list[Any]:
    found = spec.get(key) if isinstance(spec, Mapping) else None
    return found if isinstance(found, list) else []


def _named(items: list[Any], index: int) -> str | None:
    item = items[index] if index < len(items) else None
    name = item.get("name") if isinstance(item, Mapping) else None
    return name if isinstance(name, str) and name else None
