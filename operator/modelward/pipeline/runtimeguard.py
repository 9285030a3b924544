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
        writer = _writer_after(obj, injection)
        if writer:
            return (
                f"init container {writer} can write volume "
                f"{injection.container['volumeMounts'][0]['name']} after {name} verified the "
                "model on it; mount the volume read-only there"
            )
    return None


def _writer_after(obj: Mapping[str, Any], injection: runtimecheck.Injection) -> str | None:
    """An init container that runs after the verifier, or beside it (a sidecar), and mounts
    the verified volume writable."""
    spec = runtimetargets.get(obj, injection.spec_path)
    containers = spec.get("initContainers") if isinstance(spec, Mapping) else None
    items = (
        [c for c in containers if isinstance(c, Mapping)] if isinstance(containers, list) else []
    )
    name = injection.container["name"]
    volume = injection.container["volumeMounts"][0]["name"]
    at = next(i for i, c in enumerate(items) if c.get("name") == name)
    for i, container in enumerate(items):
        if i < at and container.get("restartPolicy") != "Always":
            continue
        mounts = container.get("volumeMounts")
        for mount in mounts if isinstance(mounts, list) else []:
            if (
                i != at
                and isinstance(mount, Mapping)
                and mount.get("name") == volume
                and not mount.get("readOnly")
            ):
                return str(container.get("name"))
    return None
