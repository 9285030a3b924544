"""Parse a ModelPolicyException object; problems are recorded on it and it then exempts nothing."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from modelward import errors
from modelward.policies import conditions
from modelward.policies import globs as globs_
from modelward.structs import exceptions

MAX_ITEMS = 64
NEVER = datetime.datetime.min.replace(tzinfo=datetime.UTC)


def parse_exception(obj: Mapping[str, Any]) -> exceptions.PolicyException:
    """A usable exception, or one carrying its problem (and exempting nothing)."""
    metadata = obj.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    generation = metadata.get("generation")
    namespace = str(metadata.get("namespace", ""))
    name = str(metadata.get("name", ""))
    generation = generation if isinstance(generation, int) else 0
    spec = obj.get("spec")
    try:
        if not isinstance(spec, Mapping):
            raise errors.PolicyError("spec is missing or not an object", reason="InvalidSpec")
        return exceptions.PolicyException(
            namespace=namespace,
            name=name,
            generation=generation,
            policies=_names(spec.get("policies"), "policies"),
            globs=_globs(spec.get("models")),
            workloads=_workloads(spec.get("workloads")),
            owner=_text(spec.get("owner"), "owner"),
            reason=_text(spec.get("reason"), "reason"),
            expires=_expires(spec.get("expires")),
        )
    except errors.PolicyError as e:
        return exceptions.PolicyException(
            namespace=namespace,
            name=name,
            generation=generation,
            policies=(),
            globs=(),
            workloads=exceptions.Workloads(),
            owner=str(spec.get("owner", "")) if isinstance(spec, Mapping) else "",
            reason="",
            expires=NEVER,
            error_reason=e.reason,
            error_message=e.message,
        )


def _names(raw: Any, field: str, *, required: bool = True) -> tuple[str, ...]:
    if raw is None and not required:
        return ()
    if (
        not isinstance(raw, list)
        or (required and not raw)
        or len(raw) > MAX_ITEMS
        or not all(isinstance(n, str) and n for n in raw)
    ):
        raise errors.PolicyError(
            f"{field} must list 1 to {MAX_ITEMS} non-empty names", reason="InvalidSpec"
        )
    return tuple(raw)


def _globs(raw: Any) -> tuple[str, ...]:
    found = _names(raw, "models")
    for glob in found:
        globs_.pattern(glob)
    return found


def _workloads(raw: Any) -> exceptions.Workloads:
    if raw is None:
        return exceptions.Workloads()
    if not isinstance(raw, Mapping):
        raise errors.PolicyError("workloads must be an object", reason="InvalidSpec")
    selector = raw.get("selector") or {}
    labels = selector.get("matchLabels") or {} if isinstance(selector, Mapping) else None
    if not isinstance(labels, Mapping):
        raise errors.PolicyError(
            "workloads.selector.matchLabels must be a map", reason="InvalidSpec"
        )
    return exceptions.Workloads(
        kinds=_names(raw.get("kinds"), "workloads.kinds", required=False),
        names=_names(raw.get("names"), "workloads.names", required=False),
        match_labels=tuple(sorted((str(k), str(v)) for k, v in labels.items())),
    )


def _text(raw: Any, field: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise errors.PolicyError(
            f"{field} is required: say who owns the exception and why", reason="InvalidSpec"
        )
    return raw.strip()


def _expires(raw: Any) -> datetime.datetime:
    if not isinstance(raw, str):
        raise errors.PolicyError(
            "expires is required, as an RFC 3339 time such as 2026-06-30T00:00:00Z",
            reason="InvalidSpec",
        )
    try:
        when = datetime.datetime.fromisoformat(raw)
    except ValueError:
        raise errors.PolicyError(
            f"expires {raw!r} is not an RFC 3339 time such as 2026-06-30T00:00:00Z",
            reason="InvalidSpec",
        ) from None
    if when.tzinfo is None:
        raise errors.PolicyError(
            f"expires {raw!r} needs a time zone (such as Z)", reason="InvalidSpec"
        )
    return when


def ready(ex: exceptions.PolicyException, *, now: datetime.datetime) -> conditions.Ready:
    """The exception's Ready condition: Active until it expires, then Expired."""
    if not ex.valid:
        return conditions.Ready(False, ex.error_reason, ex.error_message, ex.generation)
    if not ex.active(now):
        return conditions.Ready(
            False,
            "Expired",
            f"expired at {ex.expires.isoformat()}; it no longer exempts anything",
            ex.generation,
        )
    return conditions.Ready(
        True,
        "Active",
        f"exempts {len(ex.globs)} model globs from {', '.join(ex.policies)} "
        f"until {ex.expires.isoformat()} (owner {ex.owner})",
        ex.generation,
    )
