"""A claim that names its model's digest: the runtime check compares with a verified record.

A PersistentVolumeClaim annotated `modelward.io/model-digest: sha256:<hex>` points at the
artifact whose copy it holds. When a ModelVerification record says that every policy governing
the reference verified that digest (same policy uid and revision, not expired), the verifier is
handed the files that record's signature covers, as for an image volume, instead of verifying
a signature on the volume. The annotation is only a pointer: whoever wrote it, the files on the
volume must be the files of a model the policies verified.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence

from modelward import errors
from modelward.pipeline import claims
from modelward.sources import pvc
from modelward.structs import evidence, policy

DIGEST_ANNOTATION = "modelward.io/model-digest"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclasses.dataclass(frozen=True, slots=True)
class Recorded:
    """The files a verified signature covers, (path, sha256 hex), and the paths it leaves out."""

    files: tuple[tuple[str, str], ...]
    ignored: tuple[str, ...] = ()


# The annotations of a claim (None: no such claim), by namespace and name.
ReadClaim = Callable[[str, str], Awaitable[Mapping[str, str] | None]]
# The files every one of the policies verified for a digest, or None.
Lookup = Callable[[str, Sequence[policy.Policy]], Awaitable[Recorded | None]]


async def recorded(
    namespace: str,
    decision: evidence.Decision,
    policies: Sequence[policy.Policy],
    *,
    read_claim: ReadClaim,
    lookup: Lookup,
) -> dict[str, Recorded]:
    """By `pvc://` reference: the verified files of the digest its claim names, where a record
    has them; the other claims are verified from the signature on the volume."""
    by_key = {p.key: p for p in policies}
    found: dict[str, Recorded] = {}
    for result in decision.refs:
        checking = [
            by_key[r.policy]
            for r in result.results
            if r.passed and r.reason == claims.RUNTIME_CHECK and r.policy in by_key
        ]
        if not checking or not namespace or result.ref.uri in found:
            continue
        try:
            claim = pvc.parse_uri(result.ref.uri)
        except errors.InputError:
            continue
        annotations = await read_claim(namespace, claim.name)
        digest = (annotations or {}).get(DIGEST_ANNOTATION, "")
        if _DIGEST.match(digest):
            files = await lookup(digest, checking)
            if files is not None:
                found[result.ref.uri] = files
    return found


def from_results(results: Sequence[evidence.PolicyResult | None]) -> Recorded | None:
    """The files the records' verdicts hold, when every policy has a passing one with files."""
    if not results or not all(r is not None and r.passed and r.files for r in results):
        return None
    first = results[0]
    assert first is not None  # checked above
    return Recorded(files=first.files, ignored=first.ignored)
