"""Runtime checks: an init container that verifies the model files actually mounted in a pod.

For each image volume whose model passed a policy with `runtimeCheck: true`, the mutating
webhook appends an init container to the pod spec. It mounts the volume read-only and runs
`modelward verify`, which hashes every mounted file and compares it with the files the
signature covered (handed over in an environment variable). The pod's containers start only
if the bytes that will load are the bytes that were signed.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

from modelward import errors
from modelward.pipeline import pin
from modelward.structs import evidence, policy

EXPECTED_ENV = "MODELWARD_EXPECTED"
MOUNT_ROOT = "/modelward/models"
CONTAINER_PREFIX = "modelward-verify-"
# The env var travels in the pod object, which the API server bounds to ~1.5 MiB.
MAX_EXPECTED_BYTES = 256 * 1024
_VOLUME = re.compile(r"^(?P<spec>.*)\.volumes\[(?P<index>\d+)\]\.image\.reference$")

# Pod Security Standards "restricted": the verifier reads files and nothing else.
SECURITY_CONTEXT: Mapping[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "runAsGroup": 65532,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


@dataclasses.dataclass(frozen=True, slots=True)
class Injection:
    """Append `container` to the initContainers of the pod spec at `spec_path`."""

    spec_path: tuple[pin.PathPart, ...]
    container: Mapping[str, Any]


def expected_json(result: evidence.PolicyResult) -> str:
    """What `modelward verify` compares the mounted files with."""
    return json.dumps(
        {"files": dict(result.files), "ignore": list(result.ignored)},
        separators=(",", ":"),
        sort_keys=True,
    )


def injections(
    obj: Mapping[str, Any],
    decision: evidence.Decision,
    policies: Sequence[policy.Policy],
    *,
    image: str,
) -> list[Injection]:
    """The verifier init containers an allowed object needs; raises UnsupportedReference
    when a model is too large to hand over."""
    wanted = {p.key for p in policies if p.runtime_check}
    if not decision.allowed or not wanted or not image:
        return []
    out: list[Injection] = []
    for result in decision.refs:
        found = _VOLUME.match(result.ref.field_path)
        checked = [r for r in result.results if r.policy in wanted and r.passed and r.files]
        if found is None or not checked:
            continue
        spec_path = pin.field_path(found["spec"])
        index = int(found["index"])
        volume = _volume(obj, spec_path, index)
        if spec_path is None or volume is None or _present(obj, spec_path, index):
            continue
        expected = expected_json(checked[0])
        if len(expected) > MAX_EXPECTED_BYTES:
            raise errors.UnsupportedReference(
                f"the model has too many files for a runtime check ({len(expected)} bytes of "
                "digests)",
                ref=result.pinned_uri,
            )
        mount = f"{MOUNT_ROOT}/{index}"
        out.append(
            Injection(
                spec_path=spec_path,
                container={
                    "name": f"{CONTAINER_PREFIX}{index}",
                    "image": image,
                    "args": ["verify", mount, "--expected-env", EXPECTED_ENV],
                    "env": [{"name": EXPECTED_ENV, "value": expected}],
                    "volumeMounts": [{"name": volume, "mountPath": mount, "readOnly": True}],
                    "securityContext": dict(SECURITY_CONTEXT),
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                },
            )
        )
    return out


def apply(body: MutableMapping[str, Any], changes: Sequence[Injection]) -> None:
    """Append each init container to its pod spec, in place."""
    for change in changes:
        spec: Any = body
        for part in change.spec_path:
            spec = spec[part]
        spec.setdefault("initContainers", []).append(dict(change.container))


def _volume(
    obj: Mapping[str, Any], spec_path: tuple[pin.PathPart, ...] | None, index: int
) -> str | None:
    spec = _get(obj, spec_path)
    volumes = spec.get("volumes") if isinstance(spec, Mapping) else None
    if not isinstance(volumes, list) or index >= len(volumes):
        return None
    name = volumes[index].get("name") if isinstance(volumes[index], Mapping) else None
    return name if isinstance(name, str) and name else None


def _present(obj: Mapping[str, Any], spec_path: tuple[pin.PathPart, ...], index: int) -> bool:
    """Whether the verifier is already there (a reinvoked webhook must not add it twice)."""
    spec = _get(obj, spec_path)
    containers = spec.get("initContainers") if isinstance(spec, Mapping) else None
    return isinstance(containers, list) and any(
        isinstance(c, Mapping) and c.get("name") == f"{CONTAINER_PREFIX}{index}" for c in containers
    )


def _get(obj: Any, path: tuple[pin.PathPart, ...] | None) -> Any:
    if path is None:
        return None
    for part in path:
        if isinstance(part, int):
            obj = obj[part] if isinstance(obj, list) and part < len(obj) else None
        else:
            obj = obj.get(part) if isinstance(obj, Mapping) else None
    return obj
