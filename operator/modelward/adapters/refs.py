"""`modelward refs`: what modelward sees in manifests, offline and without policies."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from modelward.extractors import declared
from modelward.pipeline import admit, decode, extract, storage
from modelward.structs import context, refs


@dataclasses.dataclass(frozen=True, slots=True)
class Found:
    """One object and the references found in it."""

    ctx: context.AdmissionContext
    refs: tuple[refs.ModelRef, ...]


def collect(objects: Iterable[Mapping[str, Any]]) -> list[Found]:
    """Every object but Namespaces and ModelExtractors, with its references as the webhook
    would extract them (ModelExtractors among the objects declare the fields of other kinds);
    KServe's storage form stays unresolved (no Secret is read offline)."""
    index, rest = declared.split_declarations(objects)
    out = []
    for obj in rest:
        if obj.get("kind") == "Namespace" and obj.get("apiVersion") == "v1":
            continue
        ctx = decode.from_object(
            obj, namespace=str((obj.get("metadata") or {}).get("namespace") or "default")
        )
        extracted = extract.extract_refs(obj, index)
        found = tuple(storage.resolve(r, ctx.namespace, None) for r in extracted)
        out.append(Found(ctx, found))
    return out


def _verifiable(ref: refs.ModelRef, schemes: frozenset[str]) -> bool:
    return not ref.problem and ref.scheme in schemes


def _schemes() -> frozenset[str]:
    return frozenset(s for source in admit.default_sources() for s in source.schemes)


def to_json(found: Sequence[Found]) -> dict[str, Any]:
    """`{"objects": [{kind, namespace, name, references: [{uri, fieldPath, scheme, ...}]}]}`."""
    schemes = _schemes()
    return {
        "objects": [
            {
                "kind": f.ctx.qualified_kind,
                "namespace": f.ctx.namespace,
                "name": f.ctx.name,
                "references": [
                    {
                        "uri": r.uri,
                        "fieldPath": r.field_path,
                        "scheme": r.scheme,
                        "verifiable": _verifiable(r, schemes),
                        "problem": r.problem or None,
                    }
                    for r in f.refs
                ],
            }
            for f in found
        ]
    }


def to_text(found: Sequence[Found]) -> str:
    """One line per object, then one per reference: field path, URI, scheme."""
    schemes = _schemes()
    lines = []
    for f in found:
        lines.append(f"{f.ctx.display} ({f.ctx.qualified_kind})")
        if not f.refs:
            lines.append("      no model references")
        for r in f.refs:
            scheme = r.scheme or "no scheme"
            note = "" if _verifiable(r, schemes) else " unverifiable"
            lines.append(f"      {r.field_path}: {r.uri or '(empty)'} [{scheme}{note}]")
            if r.problem:
                lines.append(f"        {r.problem}")
    return "\n".join(lines)
