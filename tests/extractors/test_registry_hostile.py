"""Every built-in and declared extractor survives hostile specs: no exception, only strings."""

from __future__ import annotations

from typing import Any

from hypothesis import given

from modelward.extractors import declared, registry
from tests.fixtures import hostile

INDEX = declared.DeclaredIndex()
INDEX.put(
    declared.parse(
        {
            "metadata": {"name": "x"},
            "spec": {
                "group": "ml.example.com",
                "kind": "ServingJob",
                "paths": [
                    {"path": "spec.models[*].uri"},
                    {"path": "spec[*][name=a].args[0]", "regex": "--model=(?P<uri>\\S+)"},
                ],
            },
        }
    )
)
KINDS = [*registry.BUILTIN, ("ml.example.com", "ServingJob")]


@given(hostile.json_values, hostile.json_values)
def test_any_spec_of_any_supported_kind(spec: Any, metadata: Any) -> None:
    for group, kind in KINDS:
        api_version = f"{group}/v1" if group else "v1"
        obj = {"apiVersion": api_version, "kind": kind, "spec": spec, "metadata": metadata}
        found = registry.extract_refs(obj, INDEX)
        assert all(isinstance(r.uri, str) and r.field_path for r in found)
        assert len({(r.uri, r.field_path) for r in found}) == len(found)
