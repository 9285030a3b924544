"""The ModelVerification records a replica has seen, by digest: the second tier of the verdict
cache, shared by every replica through the API and kept across restarts."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from modelward.record import metrics, verifications
from modelward.structs import evidence, policy


@dataclasses.dataclass(frozen=True, slots=True)
class Record:
    """One record as last seen: its name, digest, spec and entries."""

    name: str
    digest: str | None
    generation: int
    observed_generation: int | None
    spec_ref: str | None
    spec_digest: str | None
    spec_policies: tuple[str, ...]
    pinned_ref: str | None
    operator_made: bool
    entries: tuple[verifications.Entry, ...]
    body: Mapping[str, Any]

    @property
    def spec_changed(self) -> bool:
        """A pre-verification the operator has not answered for this spec yet."""
        return self.spec_ref is not None and self.observed_generation != self.generation


def parse(body: Mapping[str, Any]) -> Record | None:
    """A record from its object, or None for an object without a name."""
    meta = body.get("metadata")
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str):
        return None
    spec = body.get("spec") if isinstance(body.get("spec"), Mapping) else {}
    status = body.get("status") if isinstance(body.get("status"), Mapping) else {}
    assert isinstance(spec, Mapping)
    assert isinstance(status, Mapping)
    labels = meta.get("labels") if isinstance(meta.get("labels"), Mapping) else {}
    assert isinstance(labels, Mapping)
    observed = status.get("observedGeneration")
    ref, digest, pinned = spec.get("ref"), spec.get("digest"), status.get("pinnedRef")
    names = spec.get("policies")
    return Record(
        name=meta["name"],
        digest=verifications.record_digest(body),
        generation=int(meta.get("generation") or 0),
        observed_generation=observed if isinstance(observed, int) else None,
        spec_ref=ref if isinstance(ref, str) and ref else None,
        spec_digest=digest if isinstance(digest, str) and digest else None,
        spec_policies=tuple(n for n in names if isinstance(n, str))
        if isinstance(names, list)
        else (),
        pinned_ref=pinned if isinstance(pinned, str) else None,
        operator_made=labels.get(verifications.ORIGIN_LABEL) == "admission",
        entries=tuple(verifications.entries_of(status)),
        body=body,
    )


class RecordIndex:
    """Records by name, and the names holding each digest."""

    def __init__(
        self, clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC)
    ) -> None:
        self._clock = clock
        self._records: dict[str, Record] = {}
        self._by_digest: dict[str, set[str]] = {}
        self.hits = 0

    def put(self, body: Mapping[str, Any]) -> Record | None:
        record = parse(body)
        if record is None:
            return None
        self.remove(record.name)
        self._records[record.name] = record
        if record.digest:
            self._by_digest.setdefault(record.digest, set()).add(record.name)
        return record

    def remove(self, name: str) -> None:
        old = self._records.pop(name, None)
        if old is not None and old.digest:
            names = self._by_digest.get(old.digest, set())
            names.discard(name)
            if not names:
                self._by_digest.pop(old.digest, None)

    def get(self, name: str) -> Record | None:
        return self._records.get(name)

    def lookup(self, digest: str, pol: policy.Policy) -> evidence.PolicyResult | None:
        """A passing verdict of `pol` on `digest` that a record holds and that still stands."""
        now = self._clock()
        for name in self._by_digest.get(digest, ()):
            for entry in self._records[name].entries:
                if entry.passed and entry.answers(pol, now):
                    self.hits += 1
                    metrics.record_lookup(hit=True)
                    return entry.result(pol)
        metrics.record_lookup(hit=False)
        return None

    def __iter__(self) -> Iterator[Record]:
        return iter(list(self._records.values()))

    def __len__(self) -> int:
        return len(self._records)
