"""The built-in extractors keyed by (group, kind), and the dispatch every object goes through."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from modelward.extractors import base, fields, kserve, kubeai, pods, seldon
from modelward.structs import refs


class Lookup(Protocol):
    """Extractors declared at run time (ModelExtractor objects)."""

    def get(self, group: str, kind: str) -> base.Extractor | None: ...


def _index(*groups: tuple[base.Extractor, ...]) -> dict[tuple[str, str], base.Extractor]:
    out: dict[tuple[str, str], base.Extractor] = {}
    for extractor in (e for group in groups for e in group):
        if extractor.key in out:
            raise ValueError(f"two built-in extractors for {extractor.key}")
        out[extractor.key] = extractor
    return out


# Same kind in different groups (kubeai.org/Model, mlops.seldon.io/Model) are different keys.
BUILTIN: Mapping[tuple[str, str], base.Extractor] = _index(
    pods.EXTRACTORS, kserve.EXTRACTORS, seldon.EXTRACTORS, kubeai.EXTRACTORS
)


def group_kind(obj: Mapping[str, Any]) -> tuple[str, str]:
    """(group, kind) of an object; the core group is ""."""
    return str(obj.get("apiVersion", "")).rpartition("/")[0], str(obj.get("kind", ""))


def supported(group: str, kind: str, declared: Lookup | None = None) -> bool:
    """Whether any extractor reads objects of this kind."""
    return (group, kind) in BUILTIN or (
        declared is not None and declared.get(group, kind) is not None
    )


def extract_refs(obj: Mapping[str, Any], declared: Lookup | None = None) -> list[refs.ModelRef]:
    """The model references of `obj`, in document order, without exact duplicates.

    The object's own annotations are read whatever its kind; then the built-in extractor and
    the declared one for its (group, kind), both when both exist.
    """
    group, kind = group_kind(obj)
    found = list(pods.metadata_annotations(fields.mapping(obj.get("metadata")), "metadata"))
    builtin = BUILTIN.get((group, kind))
    if builtin is not None:
        found += builtin.extract(obj)
    extra = declared.get(group, kind) if declared is not None else None
    if extra is not None:
        found += extra.extract(obj)
    unique: dict[tuple[str, str], refs.ModelRef] = {}
    for ref in found:
        unique.setdefault((ref.uri, ref.field_path), ref)
    return list(unique.values())
