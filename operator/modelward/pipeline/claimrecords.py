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
import datetime
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from modelward import errors
from modelward.pipeline import claims
from modelward.sources import pvc
from modelward.structs import evidence, policy

DIGEST_ANNOTATION = "modelward.io/model-digest"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


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


def from_record(
    record: Mapping[str, Any] | None,
    digest: str,
    policies: Sequence[policy.Policy],
    *,
    now: datetime.datetime,
) -> Recorded | None:
    """The files of a ModelVerification record, if every policy passed `digest` in it at its
    current revision and the entries have not expired."""
    status = record.get("status") if isinstance(record, Mapping) else None
    if not isinstance(status, Mapping) or status.get("digest") != digest or not policies:
        return None
    entries = status.get("policies")
    entries = [e for e in entries if isinstance(e, Mapping)] if isinstance(entries, list) else []
    picked = [_entry(entries, p, now) for p in policies]
    if any(e is None for e in picked):
        return None
    return _files(picked[0])


def _entry(
    entries: list[Mapping[str, Any]], pol: policy.Policy, now: datetime.datetime
) -> Mapping[str, Any] | None:
    for entry in entries:
        same = (
            entry.get("kind") == pol.key.kind
            and (entry.get("namespace") or None) == pol.key.namespace
            and entry.get("name") == pol.key.name
            and entry.get("uid") == pol.key.uid
            and entry.get("revision") == pol.revision
        )
        if same and entry.get("passed") is True and not _expired(entry.get("expiresAt"), now):
            return entry
    return None


def _expired(raw: Any, now: datetime.datetime) -> bool:
    if raw is None:
        return False
    try:
        when = datetime.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return True
    return when.tzinfo is None or when <= now


def _files(entry: Mapping[str, Any] | None) -> Recorded | None:
    raw = entry.get("files") if entry is not None else None
    ignored = entry.get("ignored") if entry is not None else None
    if not isinstance(raw, list) or not raw:
        return None
    files = []
    for item in raw:
        path = item.get("path") if isinstance(item, Mapping) else None
        digest = item.get("sha256") if isinstance(item, Mapping) else None
        if not isinstance(path, str) or not isinstance(digest, str) or not _SHA256.match(digest):
            return None
        files.append((path, digest))
    ignore = tuple(i for i in ignored if isinstance(i, str)) if isinstance(ignored, list) else ()
    return Recorded(files=tuple(sorted(files)), ignored=ignore)
