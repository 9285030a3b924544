"""Find every model reference in a Kubernetes object, with the field path it came from.

The pipeline's entry point to `modelward.extractors`: built-in extractors per (group, kind),
plus those declared at run time by ModelExtractor objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelward.extractors import registry
from modelward.structs import refs


def extract_refs(
    obj: Mapping[str, Any], declared: registry.Lookup | None = None
) -> list[refs.ModelRef]:
    """Return the model references of `obj`, in document order, without exact duplicates."""
    return registry.extract_refs(obj, declared)
