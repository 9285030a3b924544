"""Kopf handlers and background work for ModelVerification records.

Every replica watches the records into its index (the shared second tier of its verdict
cache) and writes the verdicts it makes. The replica holding the Lease also verifies records
ahead of deployments (spec.ref), verifies again those whose policy changed or that near their
expiry, and drops what no longer stands. That loop is a task rather than a Kopf timer: timers
put a finalizer on every object, and records must stay deletable with the operator down.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import kopf
import kubernetes

from modelward.adapters import kube, leader, records
from modelward.pipeline import reverify
from modelward.record import verification_index, verifications
from modelward.structs import evidence, refs

if TYPE_CHECKING:
    from modelward.adapters.kopf_app import State

logger = logging.getLogger(__name__)

G, V, P = verifications.GROUP, verifications.VERSION, verifications.PLURAL
LEASE_NAME = "modelward-leader"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def register(registry: kopf.OperatorRegistry, state: State) -> None:
    """Add the record handlers and background tasks to `registry`."""
    if not state.settings.records:
        return
    ttl = datetime.timedelta(seconds=state.settings.record_ttl_seconds)
    state.records = verification_index.RecordIndex()
    state.writer = records.Writer(state.records, ttl=ttl)
    state.leadership = leader.Leadership(
        state.settings.namespace, LEASE_NAME, duration=state.settings.lease_seconds
    )
    wake = asyncio.Event()

    @kopf.on.startup(registry=registry)
    async def load_records(**_: Any) -> None:
        # Before the replica is ready, so that a restart answers from the records at once.
        try:
            found = await asyncio.to_thread(kube.list_objects, G, V, P)
        except kubernetes.client.ApiException as e:
            hint = (
                ": is the modelverifications.modelward.io CRD installed? (or set "
                "MODELWARD_RECORDS=false, Helm value records.enabled=false)"
                if e.status == 404
                else ""
            )
            raise kopf.TemporaryError(
                f"cannot list ModelVerification records (HTTP {e.status}){hint}", delay=5
            ) from e
        index, writer, leadership = state.records, state.writer, state.leadership
        assert index is not None
        assert writer is not None
        assert leadership is not None
        for body in found:
            index.put(body)
        for coro in (writer.run(), leadership.run(), _reverifying(state, wake)):
            state.tasks.append(asyncio.create_task(coro))

    @kopf.on.cleanup(registry=registry)
    async def stop_records(**_: Any) -> None:
        for task in state.tasks:
            task.cancel()
        for task in state.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def event(event: Mapping[str, Any], body: kopf.Body, **_: Any) -> None:
        assert state.records is not None
        if event.get("type") == "DELETED":
            state.records.remove(body.metadata.name)
            return
        record = state.records.put(dict(body))
        if record is not None and record.spec_changed:
            wake.set()

    kopf.on.event(G, V, P, registry=registry)(cast(Any, event))


async def _reverifying(state: State, wake: asyncio.Event) -> None:
    """While leading: verify what the records need, on every wake-up and interval."""
    interval = state.settings.recheck_interval_seconds
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=interval)
        wake.clear()
        if state.leadership is None or not state.leadership.leading:
            continue
        try:
            await recheck(state)
        except Exception:  # the next round tries again; one bad record must not stop them
            logger.exception("re-verifying records failed")


async def recheck(state: State) -> int:
    """One round over every record; returns how many were worked on."""
    assert state.records is not None
    if state.admitter is None:
        return 0
    policies = state.policies.snapshot()
    ttl = state.settings.record_ttl_seconds
    refresh_before = datetime.timedelta(seconds=min(ttl / 10, 3600.0))
    done = 0
    for record in state.records:
        work = reverify.plan(record, policies, now=_now(), refresh_before=refresh_before)
        if work is not None:
            logger.info("re-verifying record", extra={"record": record.name, "why": work.why})
            await _perform(state, work)
            done += 1
    return done


async def _perform(state: State, work: reverify.Work) -> None:
    assert state.records is not None
    assert state.admitter is not None
    record = work.record
    ttl = datetime.timedelta(seconds=state.settings.record_ttl_seconds)
    generation = record.generation if record.spec_ref is not None else None
    write: records.Write
    if not work.policies:
        error = None
        if record.spec_changed:
            error = (
                "NoPolicy",
                f"no ClusterModelPolicy governs {record.spec_ref}: name one in spec.policies, or "
                "add the reference to a policy's models",
            )
        write = records.Write(
            name=record.name,
            digest=record.digest,
            pinned=None,
            drop=work.drop,
            generation=generation,
            error=error,
        )
    else:
        assert work.uri is not None
        result = await state.admitter.verify_ref(work.uri, work.policies)
        write = _outcome(record, work, result, generation, ttl)
    status = await records.apply(write, state.records)
    if status is not None and record.operator_made and not status.get("policies"):
        # Nothing stands in it any more: the next admission verifies afresh.
        await asyncio.to_thread(records.delete, [record.name])


def _outcome(
    record: verification_index.Record,
    work: reverify.Work,
    result: evidence.RefResult,
    generation: int | None,
    ttl: datetime.timedelta,
) -> records.Write:
    """What to write after verifying `work`."""
    by_key = {p.key: p for p in work.policies}
    dropped = work.drop + tuple((p.key.kind, p.key.namespace, p.key.name) for p in work.policies)
    error = result.error
    if error is None and record.spec_digest and result.digest != record.spec_digest:
        error = (
            "DigestMismatch",
            f"{work.uri} resolved to {result.digest}, not to spec.digest {record.spec_digest}",
        )
    if error is None and record.operator_made and result.digest != record.digest:
        error = ("DigestMismatch", f"{work.uri} no longer resolves to {record.digest}")
    if error is not None or result.digest is None:
        reason = error or ("Unresolved", f"{work.uri} did not resolve to a digest")
        # A pre-verification says why it failed; an admission's record loses what could not be
        # checked again (the next admission verifies with the workload's own credentials).
        return records.Write(
            name=record.name,
            digest=record.digest,
            pinned=None,
            drop=dropped,
            generation=generation,
            error=reason if record.spec_ref is not None else None,
        )
    now = _now()
    entries = tuple(
        verifications.entry_of(by_key[r.policy], r, now=now, ttl=ttl)
        for r in result.results
        if r.policy in by_key
    )
    pinned = refs.PinnedRef(
        ref=result.ref,
        digest=result.digest,
        pinned_uri=result.pinned_uri or result.ref.uri,
        mutable=result.mutable,
    )
    return records.Write(
        name=record.name,
        digest=result.digest,
        pinned=pinned,
        entries=entries,
        drop=work.drop,
        generation=generation,
    )
