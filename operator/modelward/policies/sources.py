"""`spec.sources`: egress allowances and source endpoints of a policy."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

from modelward import errors, netrules
from modelward.structs import policy


def parse_sources(raw: Any, *, namespaced: bool) -> policy.SourceRules:
    """Parse `spec.sources`; a PolicyError names the bad field.

    Only a ClusterModelPolicy may open addresses that modelward refuses by default: a
    namespace's own ModelPolicy could otherwise point modelward at the node's metadata service.
    """
    if raw is None:
        return policy.SourceRules()
    if not isinstance(raw, Mapping):
        raise errors.PolicyError("sources must be an object", reason="InvalidSpec")
    entries = raw.get("allow") or []
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        raise errors.PolicyError(
            "sources.allow must be a list of CIDRs or host names", reason="InvalidSpec"
        )
    if entries and namespaced:
        raise errors.PolicyError(
            "sources.allow is only honoured in a ClusterModelPolicy",
            reason="InvalidSpec",
            hint="Ask a cluster administrator to allow the address in a ClusterModelPolicy",
        )
    try:
        allow = netrules.parse_allowance(entries, what="sources.allow")
    except errors.InputError as e:
        raise errors.PolicyError(e.message, reason="InvalidSpec") from None
    return policy.SourceRules(allow=allow, hf_endpoint=_hf_endpoint(raw.get("hf")))


def _hf_endpoint(raw: Any) -> str | None:
    if raw is None:
        return None
    endpoint = raw.get("endpoint") if isinstance(raw, Mapping) else None
    if endpoint is None:
        return None
    parsed = urllib.parse.urlsplit(endpoint) if isinstance(endpoint, str) else None
    if (
        parsed is None
        or parsed.scheme not in ("https", "http")
        or not parsed.hostname
        or parsed.query
        or parsed.fragment
    ):
        raise errors.PolicyError(
            f"sources.hf.endpoint {endpoint!r} must be an http(s) URL without query",
            reason="InvalidSpec",
        )
    return str(endpoint).rstrip("/")
