"""Claims and ModelVerification records read through the Kubernetes API, for the runtime check
of `pvc://` models (see pipeline/claimrecords.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from modelward.adapters import kube
from modelward.pipeline import claimrecords
from modelward.record import verification_index, verifications
from modelward.structs import context, evidence, policy

GROUP, VERSION, PLURAL = "modelward.io", "v1alpha1", "modelverifications"


async def read_claim(namespace: str, name: str) -> Mapping[str, str] | None:
    """The annotations of a claim in the workload's own namespace."""
    return await asyncio.to_thread(kube.claim_annotations, namespace, name)


def lookup(index: verification_index.RecordIndex | None) -> claimrecords.Lookup:
    """Record lookups from the replica's index of records, or, with records off, from the
    record `sha256-<hex>` read for each lookup."""

    async def find(digest: str, policies: Sequence[policy.Policy]) -> claimrecords.Recorded | None:
        records = index
        if records is None:
            name = verifications.record_name(digest)
            body = await asyncio.to_thread(kube.get_object, GROUP, VERSION, PLURAL, name)
            records = verification_index.RecordIndex()
            if body is not None:
                records.put(body)
        return claimrecords.from_results([records.lookup(digest, p) for p in policies])

    return find


async def recorded(
    ctx: context.AdmissionContext,
    decision: evidence.Decision,
    policies: Sequence[policy.Policy],
    index: verification_index.RecordIndex | None,
) -> dict[str, claimrecords.Recorded]:
    """The recorded files of each checked claim of the request that names a verified digest."""
    return await claimrecords.recorded(
        ctx.namespace or "", decision, policies, read_claim=read_claim, lookup=lookup(index)
    )
