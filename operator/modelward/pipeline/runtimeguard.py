"""The validating side of the runtime check: an object a runtime check governs is admitted
only with the verifier modelward's mutating webhook adds, unchanged, and with nothing that can
rewrite the model after it.

The mutating webhook adds a verifier once and leaves a container of that name alone when it
is there already; so a workload could bring its own "verifier" that checks nothing, or an init
container that rewrites the model once it was checked. The validating webhook, which sees the
object after every mutation, recomputes the verifiers the decision requires and denies both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from modelward.pipeline import claimrecords, runtimecheck, runtimetargets
from modelward.structs import evidence, policy

# The fields modelward sets; the API server may default others (imagePullPolicy, ...).
_COMPARED = ("image", "args", "env", "volumeMounts")


def unverified(
    obj: Mapping[str, Any],
    decision: evidence.Decision,
    policies: Sequence[policy.Policy],
    *,
    image: str,
    recorded: Mapping[str, claimrecords.Recorded] | None = None,
) -> str | None:
    """Why the object must not run as it is, or None. Raises UnsupportedReference as
    `runtimecheck.required` does."""
    for injection in runtimecheck.required(obj, decision, policies, image=image, recorded=recorded):
        name = injection.container["name"]
        found = runtimecheck.present(obj, injection)
        if found is None:
            return (
                f"the runtime check's init container {name} is missing: modelward's mutating "
                "webhook adds it (install it with webhook.mutate.runtimeChecks=true)"
            )
        if found.get("command") or any(
            found.get(k) != injection.container.get(k) for k in _COMPARED
        ):
            return (
                f"init container {name} is not the runtime check modelward adds; remove it "
                "and let the mutating webhook add it"
            )
        problem = _undermined(obj, injection)
        if problem:
            return problem
    return None


def _undermined(obj: Mapping[str, Any], injection: runtimecheck.Injection) -> str | None:
    """An init container (or sidecar) that mounts the verified volume before the verifier,
    other than the one it follows (which writes the model), or writable after it."""
    spec = runtimetargets.get(obj, injection.spec_path)
    containers = spec.get("initContainers") if isinstance(spec, Mapping) else None
    items = (
        [c for c in containers if isinstance(c, Mapping)] if isinstance(containers, list) else []
    )
    name = injection.container["name"]
    volume = injection.container["volumeMounts"][0]["name"]
    at = next(i for i, c in enumerate(items) if c.get("name") == name)
    for i, container in enumerate(items):
        mounts = container.get("volumeMounts")
        mounted = [
            m
            for m in (mounts if isinstance(mounts, list) else [])
            if isinstance(m, Mapping) and m.get("name") == volume
        ]
        other = str(container.get("name"))
        if i == at or not mounted or other == injection.after:
            continue
        if i < at:
            return (
                f"init container {other} reads volume {volume} before {name} verified the "
                "model on it; let the verifier run first"
            )
        if any(not m.get("readOnly") for m in mounted):
            return (
                f"init container {other} can write volume {volume} after {name} verified the "
                "model on it; mount the volume read-only there"
            )
    return None
