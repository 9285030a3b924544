"""Pin verified tags: rewrite each mutable `oci://` reference to the digest that was verified.

The mutating webhook applies these rewrites so that what runs is what was verified: a tag
moved after admission cannot swap the model. Field paths are the ones `extract` reports.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

from modelward.extractors import fields, pods
from modelward.structs import evidence, refs

PathPart = str | int
_TOKEN = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\['([^']*)'\]")


@dataclasses.dataclass(frozen=True, slots=True)
class Rewrite:
    """Replace the string at `path` (`old` as written) with `new`."""

    path: tuple[PathPart, ...]
    old: str
    new: str


def field_path(text: str) -> tuple[PathPart, ...] | None:
    """`spec.volumes[0].image.reference` -> ("spec", "volumes", 0, "image", "reference")."""
    parts: list[PathPart] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            return None
        name, index, key = m.groups()
        parts.append(name if name is not None else int(index) if index is not None else key)
        pos = m.end()
    return tuple(parts) or None


def pinnable(ref: refs.ModelRef) -> bool:
    """Whether the mutating webhook can rewrite this reference to a digest."""
    return ref.scheme == "oci" and field_path(ref.field_path) is not None


def rewrites(obj: Mapping[str, Any], decision: evidence.Decision) -> list[Rewrite]:
    """The rewrites that pin every verified, mutable `oci://` reference of an allowed object."""
    if not decision.allowed:
        return []
    out: list[Rewrite] = []
    for result in decision.refs:
        if not _verified(result) or not pinnable(result.ref) or result.pinned_uri is None:
            continue
        path = field_path(result.ref.field_path)
        assert path is not None  # pinnable() checked it
        current = _get(obj, path)
        if not isinstance(current, str):
            continue
        new = _pinned_value(current, path, result.ref.uri, result.pinned_uri)
        if new != current:
            out.append(Rewrite(path=path, old=current, new=new))
    return out


def apply(body: MutableMapping[str, Any], changes: Sequence[Rewrite]) -> None:
    """Apply rewrites in place; a value that changed since it was read is left alone."""
    for change in changes:
        parent: Any = body
        for part in change.path[:-1]:
            parent = parent[part]
        if parent[change.path[-1]] == change.old:
            parent[change.path[-1]] = change.new


def _verified(result: evidence.RefResult) -> bool:
    return (
        result.mutable
        and result.error is None
        and not result.unmatched
        and bool(result.results)
        and all(r.passed for r in result.results)
    )


def _pinned_value(current: str, path: tuple[PathPart, ...], uri: str, pinned: str) -> str:
    if path[-1] == pods.MODELS_ANNOTATION:
        # A comma-separated list: only the item that named this reference changes.
        items = current.split(",")
        return ",".join(pinned if fields.normalize_uri(item) == uri else item for item in items)
    if path[-2:] == ("image", "reference"):
        # Image volumes name images, not URIs.
        return pinned.removeprefix("oci://") if fields.normalize_image(current) == uri else current
    return pinned if fields.normalize_uri(current) == uri else current


def _get(obj: Any, path: tuple[PathPart, ...]) -> Any:
    for part in path:
        if isinstance(part, int):
            if not isinstance(obj, list) or part >= len(obj):
                return None
        elif not isinstance(obj, Mapping) or part not in obj:
            return None
        obj = obj[part]
    return obj
