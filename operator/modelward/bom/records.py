"""Models from a cluster's ModelVerification records and the workloads that reference them
(`modelward bom --cluster`): nothing is downloaded, a record is what was verified.

A workload's reference names a record when it is one of the record's `status.references`,
its `status.pinnedRef` or `spec.ref`, or carries the record's digest (`…@sha256:<hex>`).
References no record names are listed as unverified.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from modelward.bom import inventory, results
from modelward.extractors import registry
from modelward.pipeline import decode, extract, storage
from modelward.record import verifications
from modelward.structs import refs

IN_URI = re.compile(r"@(sha256:[0-9a-f]{64})$")
# The CRD's bounds; a record beyond them was not written by the operator and is cut.
MAX_ITEMS = 32
MAX_POLICIES = 64
MAX_FILES = 4096
MAX_TEXT = 4096


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _texts(value: Any, limit: int = MAX_ITEMS) -> tuple[str, ...]:
    items = value if isinstance(value, list) else []
    return tuple(dict.fromkeys(_text(v) for v in items[:limit] if isinstance(v, str) and v))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _verdict(value: Any) -> inventory.Verdict:
    try:
        verdict = inventory.Verdict(value)
    except ValueError:
        return inventory.Verdict.PENDING
    # `Unverified` is the BOM's own word, never a record's.
    return inventory.Verdict.PENDING if verdict is inventory.Verdict.UNVERIFIED else verdict


def _policy(entry: verifications.Entry) -> inventory.PolicyVerdict:
    where = f"{entry.namespace}/{entry.name}" if entry.namespace else entry.name
    return inventory.PolicyVerdict(
        f"{entry.kind}/{where}", entry.passed, entry.reason, entry.message[:MAX_TEXT]
    )


def _files(entries: Sequence[verifications.Entry]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({f for e in entries if e.passed for f in e.files[:MAX_FILES]}))


def record_facts(record: Mapping[str, Any]) -> inventory.Facts:
    """What one ModelVerification says, read defensively: fields of the wrong type are left
    out, lists are cut at the CRD's bounds."""
    status = _mapping(record.get("status"))
    spec = _mapping(record.get("spec"))
    # Entries are parsed as the operator reads them back: a malformed one is left out.
    entries = verifications.entries_of(status)[:MAX_POLICIES]
    scan = _mapping(status.get("scan"))
    digest = verifications.record_digest(record)
    return inventory.Facts(
        digest=digest,
        pinned_uri=_text(status.get("pinnedRef"), 2048) or _text(spec.get("ref"), 2048) or None,
        verdict=_verdict(status.get("verdict")),
        reason=_text(status.get("reason"), 256),
        message=_text(status.get("message")),
        signers=_texts(status.get("signers")),
        attestations=_texts(status.get("attestations")),
        scan=inventory.Scan(
            scanned=scan.get("scanned") is True,
            passed=scan.get("passed") is True,
            reason=_text(scan.get("reason"), 256),
        )
        if scan
        else None,
        policies=tuple(_policy(p) for p in entries),
        files=_files(entries),
        checked_at=_text(status.get("checkedAt"), 64),
        expires_at=_text(status.get("expiresAt"), 64),
        references=_texts(status.get("references")),
    )


class RecordIndex:
    """Records by every reference they name and by digest."""

    def __init__(self, records: Iterable[Mapping[str, Any]]) -> None:
        self.by_uri: dict[str, inventory.Facts] = {}
        self.by_digest: dict[str, inventory.Facts] = {}
        self.all: list[inventory.Facts] = []
        for record in records:
            facts = record_facts(record)
            if not facts.digest and not facts.pinned_uri:
                continue  # names no model: nothing to list or match
            self.all.append(facts)
            spec_ref = _text(_mapping(record.get("spec")).get("ref"), 2048)
            for uri in (*facts.references, facts.pinned_uri or "", spec_ref):
                if uri:
                    self.by_uri.setdefault(uri, facts)
            if facts.digest:
                self.by_digest.setdefault(facts.digest, facts)

    def find(self, ref: refs.ModelRef) -> inventory.Facts | None:
        """The record of a reference: by the URI as written, else by the digest it carries."""
        found = self.by_uri.get(ref.uri)
        if found is not None:
            return found
        pinned = IN_URI.search(ref.uri)
        return self.by_digest.get(pinned.group(1)) if pinned else None


def unverified(ref: refs.ModelRef) -> inventory.Facts:
    """A reference that no record names."""
    reason, message = (
        ("Unresolvable", ref.problem)
        if ref.problem
        else ("NoRecord", "no ModelVerification names this reference")
    )
    return inventory.Facts(
        digest=None,
        pinned_uri=None,
        verdict=inventory.Verdict.UNVERIFIED,
        reason=reason,
        message=message,
    )


def models(
    workloads: Iterable[Mapping[str, Any]],
    records: Iterable[Mapping[str, Any]],
    declared: registry.Lookup | None = None,
) -> list[inventory.Model]:
    """One Model per record (used or not) and per reference no record names, with the
    workloads that use each; `declared` are the cluster's ModelExtractors."""
    index = RecordIndex(records)
    sightings: list[tuple[inventory.Use | None, inventory.Facts]] = []
    seen: set[int] = set()
    for obj in workloads:
        metadata = _mapping(obj.get("metadata"))
        ctx = decode.from_object(obj, namespace=_text(metadata.get("namespace")) or None)
        workload = results.workload(ctx)
        for found in extract.extract_refs(obj, declared):
            ref = storage.resolve(found, ctx.namespace, None)
            facts = index.find(ref)
            if facts is not None:
                seen.add(id(facts))
            use = inventory.Use(workload, ref.field_path, ref.uri)
            sightings.append((use, facts if facts is not None else unverified(ref)))
    sightings += [(None, f) for f in index.all if id(f) not in seen]
    return inventory.group(sightings)
