"""Claims and ModelVerification records read through the Kubernetes API, for the runtime check
of `pvc://` models (see pipeline/claimrecords.py)."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Mapping, Sequence

from modelward.adapters import kube
from modelward.pipeline import claimrecords
from modelward.structs import context, evidence, policy

GROUP, VERSION, PLURAL = "modelward.io", "v1alpha1", "modelverifications"


async def read_claim(namespace: str, name: str) -> Mapping[str, str] | None:
    """The annotations of a claim in the workload's own namespace."""
    return await asyncio.to_thread(kube.claim_annotations, namespace, name)


async def lookup(digest: str, policies: Sequence[policy.Policy]) -> claimrecords.Recorded | None:
    """The files every policy verified for `digest`, from its record `sha256-<hex>`."""
    name = digest.replace(":", "-", 1)
    record = await asyncio.to_thread(kube.get_cluster_object, GROUP, VERSION, PLURAL, name)
    now = datetime.datetime.now(datetime.UTC)
    return claimrecords.from_record(record, digest, policies, now=now)


async def recorded(
    ctx: context.AdmissionContext, decision: evidence.Decision, policies: Sequence[policy.Policy]
) -> dict[str, claimrecords.Recorded]:
    """The recorded files of each checked claim of the request that names a verified digest."""
    return await claimrecords.recorded(
        ctx.namespace or "", decision, policies, read_claim=read_claim, lookup=lookup
    )
