"""Runtime checks: an init container that verifies the model files actually mounted in a pod.

For each image volume, KServe storage-initializer download or `pvc://` claim whose model
passed a policy with `runtimeCheck: true`, the mutating webhook adds an init container to the
pod spec: right after the storage initializer for a download, first of all otherwise. It
mounts the volume read-only and runs `modelward verify`, which hashes every mounted file and
compares it with the files the signature covered (handed over in an environment variable) or,
for a claim, verifies the signature stored on it with the policy's authorities (see claims).
The pod's containers start only if the bytes that will load are the bytes that were signed.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

from modelward import errors
from modelward.pipeline import claimrecords, claims, pin, runtimetargets
from modelward.structs import evidence, policy, refs

EXPECTED_ENV = "MODELWARD_EXPECTED"
MOUNT_ROOT = "/modelward/models"
CONTAINER_PREFIX = "modelward-verify-"
# The env var travels in the pod object, which the API server bounds to ~1.5 MiB.
MAX_EXPECTED_BYTES = 256 * 1024

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
    """Add `container` to the initContainers of the pod spec at `spec_path`, right after the
    one named `after` (first of all if None)."""

    spec_path: tuple[pin.PathPart, ...]
    container: Mapping[str, Any]
    after: str | None = None


def expected_json(result: evidence.PolicyResult | claimrecords.Recorded) -> str:
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
    recorded: Mapping[str, claimrecords.Recorded] | None = None,
) -> list[Injection]:
    """The verifier init containers an allowed object still lacks; raises
    UnsupportedReference when a model is too large to hand over."""
    needed = required(obj, decision, policies, image=image, recorded=recorded)
    return [i for i in needed if not present(obj, i)]


def required(
    obj: Mapping[str, Any],
    decision: evidence.Decision,
    policies: Sequence[policy.Policy],
    *,
    image: str,
    recorded: Mapping[str, claimrecords.Recorded] | None = None,
) -> list[Injection]:
    """Every verifier init container an allowed object must carry, present or not. A claim
    is checked against the `recorded` files of the digest it names, if any, else against the
    signature on it."""
    wanted = {p.key: p for p in policies if p.runtime_check}
    if not decision.allowed or not wanted or not image:
        return []
    out: list[Injection] = []
    for result in decision.refs:
        passed = [r for r in result.results if r.policy in wanted and r.passed]
        checked = [r for r in passed if r.files]
        on_volume = [wanted[r.policy] for r in passed if r.reason == claims.RUNTIME_CHECK]
        if checked and (target := _target(obj, result.ref)) is not None:
            expected = _bounded(expected_json(checked[0]), result.pinned_uri)
            out.append(_injection(target, image, "--expected-env", EXPECTED_ENV, expected))
        if on_volume:
            record = (recorded or {}).get(result.ref.uri)
            flag, env, value = (
                ("--expected-env", EXPECTED_ENV, expected_json(record))
                if record is not None
                else (
                    "--authorities-env",
                    claims.AUTHORITIES_ENV,
                    claims.authorities_json(on_volume),
                )
            )
            _bounded(value, result.ref.uri)
            for target in runtimetargets.claim_volumes(obj, result.ref):
                out.append(_injection(target, image, flag, env, value))
    return out


def present(obj: Mapping[str, Any], injection: Injection) -> Mapping[str, Any] | None:
    """The init container of the injection's name, if the pod spec has one already (a
    reinvoked webhook must not add it twice)."""
    spec = runtimetargets.get(obj, injection.spec_path)
    containers = spec.get("initContainers") if isinstance(spec, Mapping) else None
    name = injection.container["name"]
    for container in containers if isinstance(containers, list) else []:
        if isinstance(container, Mapping) and container.get("name") == name:
            return container
    return None


def _bounded(value: str, ref: str | None) -> str:
    if len(value) > MAX_EXPECTED_BYTES:
        raise errors.UnsupportedReference(
            f"the model has too many files or authorities for a runtime check ({len(value)} "
            "bytes to hand over)",
            ref=ref,
        )
    return value


def _target(obj: Mapping[str, Any], ref: refs.ModelRef) -> runtimetargets.Target | None:
    return runtimetargets.image_volume(obj, ref) or runtimetargets.storage_initializer(obj, ref)


def _injection(
    target: runtimetargets.Target, image: str, flag: str, env: str, value: str
) -> Injection:
    """The verifier for `target`, handed what it checks against in the variable `env`."""
    mount = f"{MOUNT_ROOT}/{target.name}"
    model = f"{mount}/{target.model_dir}" if target.model_dir else mount
    volume_mount: dict[str, Any] = {"name": target.volume, "mountPath": mount, "readOnly": True}
    if target.sub_path:
        volume_mount["subPath"] = target.sub_path
    return Injection(
        spec_path=target.spec_path,
        after=target.after,
        container={
            "name": f"{CONTAINER_PREFIX}{target.name}",
            "image": image,
            "args": ["verify", model, flag, env],
            "env": [{"name": env, "value": value}],
            "volumeMounts": [volume_mount],
            "securityContext": dict(SECURITY_CONTEXT),
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
        },
    )


def apply(body: MutableMapping[str, Any], changes: Sequence[Injection]) -> None:
    """Append each init container to its pod spec, in place."""
    for change in changes:
        spec: Any = body
        for part in change.spec_path:
            spec = spec[part]
        containers = spec.setdefault("initContainers", [])
        # Right after the container that writes the model, or first: before anything reads it.
        at = [i for i, c in enumerate(containers) if c.get("name") == change.after]
        position = (at[-1] + 1 if at else len(containers)) if change.after else 0
        containers.insert(position, dict(change.container))
