"""Writes ModelVerification records through the API: read, merge, write with the version read,
and again on a conflict, so that replicas writing the same record lose nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import kubernetes

from modelward.adapters import kube
from modelward.record import metrics, verification_index, verifications
from modelward.structs import evidence, policy, refs

logger = logging.getLogger(__name__)

G, V, P = verifications.GROUP, verifications.VERSION, verifications.PLURAL
ATTEMPTS = 10
QUEUE_SIZE = 1024


@dataclasses.dataclass(frozen=True, slots=True)
class Write:
    """What to change in one record."""

    name: str
    digest: str | None
    pinned: refs.PinnedRef | None
    entries: tuple[verifications.Entry, ...] = ()
    drop: tuple[tuple[str, str | None, str], ...] = ()
    # Create the record when missing (an admission's pass); else only update an existing one.
    create: bool = False
    generation: int | None = None
    error: tuple[str, str] | None = None


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def write(item: Write, *, now: Callable[[], datetime.datetime] = _now) -> dict[str, Any] | None:
    """Apply one write; returns the record's new status, or None when there was nothing to
    write to. Blocking: call it from a thread."""
    for attempt in range(ATTEMPTS):
        if attempt:
            # Jitter, so that writers who collided do not collide again in lockstep.
            time.sleep(random.uniform(0, 0.02 * attempt))  # noqa: S311 (not for security)
        body = kube.get_object(G, V, P, item.name)
        if body is None:
            if not item.create or item.digest is None:
                return None
            try:
                kube.create_object(G, V, P, _new_record(item))
            except kubernetes.client.ApiException as e:
                if e.status != 409:  # another replica made it first: read theirs
                    raise
            continue
        previous = body.get("status") if isinstance(body.get("status"), dict) else {}
        entries = verifications.merge(
            verifications.entries_of(previous), item.entries, drop=item.drop
        )
        status = verifications.status(
            previous=previous,
            digest=item.digest,
            pinned=item.pinned,
            entries=entries,
            now=now(),
            generation=item.generation,
            error=item.error,
        )
        try:
            kube.patch_status(
                G,
                V,
                P,
                None,
                item.name,
                status,
                resource_version=str(body["metadata"].get("resourceVersion", "")),
            )
        except kubernetes.client.ApiException as e:
            if e.status == 409:
                metrics.record_write("conflict")
                continue
            raise
        metrics.record_write("written")
        return status
    raise RuntimeError(f"ModelVerification {item.name}: {ATTEMPTS} conflicting writes in a row")


def _new_record(item: Write) -> dict[str, Any]:
    return {
        "apiVersion": f"{G}/{V}",
        "kind": verifications.KIND,
        "metadata": {
            "name": item.name,
            "labels": {
                verifications.ORIGIN_LABEL: "admission",
                "app.kubernetes.io/managed-by": "modelward",
            },
        },
        "spec": {"digest": item.digest},
    }


class Writer:
    """The admission path's recorder: takes fresh verdicts without waiting and writes them from
    a background task. A full queue drops the write (the verdict is still cached here)."""

    def __init__(
        self,
        index: verification_index.RecordIndex,
        *,
        ttl: datetime.timedelta,
        now: Callable[[], datetime.datetime] = _now,
    ) -> None:
        self._index = index
        self._ttl = ttl
        self._now = now
        self._queue: asyncio.Queue[Write] = asyncio.Queue(QUEUE_SIZE)
        # The verdicts waiting in the queue, so that a burst of admissions writes each once.
        self._queued: set[tuple[str, tuple[object, ...]]] = set()

    def submit(
        self,
        pinned: refs.PinnedRef,
        results: Sequence[tuple[policy.Policy, evidence.PolicyResult]],
    ) -> None:
        name = verifications.record_name(pinned.digest)
        record = self._index.get(name)
        # Only passes make a record: denials of unsigned models would otherwise let anyone
        # fill the cluster with records. A failure updates a record that exists.
        if not any(r.passed for _, r in results) and record is None:
            return
        now = self._now()
        entries = [
            verifications.entry_of(pol, result, now=now, ttl=self._ttl) for pol, result in results
        ]
        entries = [e for e in self._news(record, entries, now) if _key(name, e) not in self._queued]
        if not entries:
            return
        item = Write(
            name=name, digest=pinned.digest, pinned=pinned, entries=tuple(entries), create=True
        )
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            metrics.record_write("error")
            logger.warning("record queue full; not recorded", extra={"record": name})
            return
        self._queued.update(_key(name, e) for e in entries)

    def _news(
        self,
        record: verification_index.Record | None,
        entries: Sequence[verifications.Entry],
        now: datetime.datetime,
    ) -> list[verifications.Entry]:
        """The entries that change the record: a verdict it already holds, and that is not
        past half its life, is not written again (a model denied on every admission would
        otherwise cost a write each time)."""
        if record is None:
            return list(entries)
        held = {_verdict(e): e for e in record.entries}
        return [
            e
            for e in entries
            if (old := held.get(_verdict(e))) is None or old.expires_at - now < self._ttl / 2
        ]

    async def run(self) -> None:
        """Write what is submitted, one at a time, until cancelled."""
        while True:
            item = await self._queue.get()
            try:
                await apply(item, self._index)
            finally:
                self._queued.difference_update(_key(item.name, e) for e in item.entries)
                self._queue.task_done()

    async def drain(self) -> None:
        """Wait until everything submitted so far is written (for orderly shutdown and tests)."""
        await self._queue.join()


def _verdict(entry: verifications.Entry) -> tuple[object, ...]:
    return (entry.policy_id, entry.uid, entry.revision, entry.passed, entry.reason)


def _key(name: str, entry: verifications.Entry) -> tuple[str, tuple[object, ...]]:
    return (name, _verdict(entry))


async def apply(item: Write, index: verification_index.RecordIndex) -> dict[str, Any] | None:
    """Write one record from a thread; failures are logged and counted, never raised."""
    try:
        status = await asyncio.to_thread(write, item)
    except Exception as e:  # an API outage must not stop later writes
        metrics.record_write("error")
        logger.warning(
            "recording the verification failed", extra={"record": item.name, "error": str(e)}
        )
        return None
    if status is not None:
        current = index.get(item.name)
        if current is not None:
            # The watch event follows; meanwhile this replica answers from what it wrote.
            index.put({**current.body, "status": status})
    return status


def delete(names: Iterable[str]) -> None:
    """Delete records (blocking)."""
    for name in names:
        kube.delete_cluster_object(G, V, P, name)
