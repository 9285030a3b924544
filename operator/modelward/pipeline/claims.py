"""`pvc://` models under a runtime check: admitted on the condition that the pod verifies them.

Admission cannot read a volume. A policy with `runtimeCheck: true` admits a `pvc://` reference
on a condition instead: every pod spec that mounts the claim carries modelward's verifier init
container, which verifies the signature stored next to the model on the volume (`model.sig`)
with the policy's own keys or certificate chains, then hashes the files it covers. The bytes
the containers load are then the bytes that were signed, whoever wrote the volume.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from modelward import errors
from modelward.sources import pvc
from modelward.structs import evidence, policy, refs

RUNTIME_CHECK = "RuntimeCheck"
AUTHORITIES_ENV = "MODELWARD_AUTHORITIES"
# The authorities a verifier in the pod can check offline, from PEM alone.
_OFFLINE = (policy.AuthorityType.KEY, policy.AuthorityType.CERTIFICATE)


def decide(
    ref: refs.ModelRef, verifying: Sequence[policy.Policy], *, verifier_image: str
) -> evidence.RefResult:
    """The verdict on a `pvc://` reference: a conditional pass when every verifying policy
    asks for a runtime check that can be run; otherwise the unverifiable denial."""
    checked = [p for p in verifying if p.runtime_check]
    problem = ""
    if not checked or len(checked) != len(verifying):
        problem = pvc.unverifiable(ref).user_message()
    elif not verifier_image:
        problem = (
            "unverifiable at admission, and the runtime check its policy asks for is off: "
            "install the mutating webhook with webhook.mutate.runtimeChecks=true"
        )
    else:
        try:
            pvc.parse_uri(ref.uri)
        except errors.InputError as e:
            return evidence.RefResult(ref=ref, error=(e.reason, e.user_message()))
        online = [(p, a) for p in checked for a in p.authorities if a.type not in _OFFLINE]
        if online:
            pol, authority = online[0]
            problem = (
                f"policy {pol.name}: authority {authority.name!r} is {authority.type}; the "
                "runtime check of a volume verifies keys and certificate chains only"
            )
    if problem:
        return evidence.RefResult(ref=ref, error=("Unverifiable", problem))
    return evidence.RefResult(
        ref=ref,
        results=tuple(
            evidence.PolicyResult(
                policy=p.key,
                mode=p.mode,
                passed=True,
                reason=RUNTIME_CHECK,
                message="admitted on condition that the pod verifies the signed model on the "
                "volume before its containers start",
            )
            for p in checked
        ),
    )


def authorities_json(policies: Sequence[policy.Policy]) -> str:
    """What the verifier checks a volume's `model.sig` against: each policy's authorities and
    count, as policy spec fields, so the verifier parses them as a policy is parsed."""
    return json.dumps(
        [
            {
                "name": p.name,
                "require": {"count": p.require_count},
                "authorities": [_spec(a) for a in p.authorities],
            }
            for p in policies
        ],
        separators=(",", ":"),
        sort_keys=True,
    )


def _spec(authority: policy.Authority) -> dict[str, Any]:
    pem = authority.pem.decode()
    if authority.type is policy.AuthorityType.KEY:
        return {"name": authority.name, "key": {"data": pem}}
    return {"name": authority.name, "certificate": {"chain": pem}}
