"""The background audit, run by the replica holding the Lease: running Pods and inference
services are judged again; failures become Warning Events on the objects and each policy's
`status.audit`."""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import kopf
import kubernetes

from modelward.adapters import events, kube, pullsecrets
from modelward.pipeline import audit
from modelward.policies import parse
from modelward.record import metrics
from modelward.structs import policy

if TYPE_CHECKING:
    from modelward.adapters.kopf_app import State

logger = logging.getLogger(__name__)

# What runs a model: Pods (whatever made them) and the serving CRDs modelward reads. Pod
# controllers are left out: their Pods are audited, and a Deployment's template is what the
# admission of its next rollout checks.
AUDITED = (
    ("", "v1", "pods"),
    ("serving.kserve.io", "v1beta1", "inferenceservices"),
    ("serving.kserve.io", "v1alpha1", "trainedmodels"),
    ("serving.kserve.io", "v1alpha1", "llminferenceservices"),
    ("mlops.seldon.io", "v1alpha1", "models"),
    ("machinelearning.seldon.io", "v1", "seldondeployments"),
    ("kubeai.org", "v1", "models"),
)
MAX_OBJECTS = 5000  # per round: a bound on the work, not a sample
CONCURRENCY = 4
PLURALS = {parse.CLUSTER_KIND: "clustermodelpolicies", parse.NAMESPACED_KIND: "modelpolicies"}


def register(registry: kopf.OperatorRegistry, state: State) -> None:
    """Start the audit loop with the operator, when an interval is set."""
    if not state.settings.audit_interval_seconds or not state.settings.records:
        return

    @kopf.on.startup(registry=registry)
    async def start_audit(**_: Any) -> None:
        state.tasks.append(asyncio.create_task(_auditing(state)))


async def _auditing(state: State) -> None:
    interval = state.settings.audit_interval_seconds
    while True:
        await asyncio.sleep(interval)
        if state.leadership is None or not state.leadership.leading:
            continue
        try:
            await run_once(state)
        except Exception:
            logger.exception("audit failed")


def _list(kinds: Sequence[tuple[str, str, str]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for group, version, plural in kinds:
        try:
            found.extend(kube.list_everywhere(group, version, plural))
        except kubernetes.client.ApiException as e:
            logger.warning(
                "audit cannot list", extra={"resource": f"{plural}.{group}", "status": e.status}
            )
        if len(found) >= MAX_OBJECTS:
            break
    return found[:MAX_OBJECTS]


async def run_once(state: State) -> list[audit.Violation]:
    """One audit round; returns the violations found."""
    assert state.admitter is not None
    objects = await asyncio.to_thread(_list, AUDITED)
    policies = state.policies.snapshot()
    exceptions = state.exceptions.snapshot()
    limit = asyncio.Semaphore(CONCURRENCY)
    checked: dict[policy.PolicyKey, int] = {}
    found: list[audit.Violation] = []

    async def judge(obj: Mapping[str, Any]) -> None:
        namespace = (obj.get("metadata") or {}).get("namespace") or ""
        ctx = audit.context_of(obj, state.namespaces.get(namespace, {}))
        if ctx is None or ctx.namespace == state.settings.namespace:
            return
        async with limit:
            assert state.admitter is not None
            # The workload's own credentials, as at its admission.
            decision = await state.admitter.admit(
                ctx, policies, exceptions, credentials=pullsecrets.for_workload(ctx), audit=True
            )
        for key in audit.governed(decision):
            checked[key] = checked.get(key, 0) + 1
        found.extend(audit.violations(ctx, decision))

    await asyncio.gather(*(judge(obj) for obj in objects))
    _post_events(state, objects, found)
    await asyncio.to_thread(_write_statuses, policies, checked, found)
    logger.info("audit finished", extra={"objects": len(objects), "violations": len(found)})
    return found


def _post_events(
    state: State, objects: Sequence[Mapping[str, Any]], found: Sequence[audit.Violation]
) -> None:
    by_uid = {str((o.get("metadata") or {}).get("uid")): o for o in objects}
    seen = set()
    for v in found:
        if v.policy is not None:
            metrics.audit_violation(v.policy.display)
        key = (v.uid, v.reference, v.reason)
        seen.add(key)
        # One Event per new violation; one still standing was reported in an earlier round.
        if key in state.audit_reported or state.events is None or v.uid not in by_uid:
            continue
        where = f"policy {v.policy.display}" if v.policy is not None else "the audit"
        state.events.post(
            by_uid[v.uid],
            events.Event(
                "Warning",
                "ModelAuditFailed",
                f"{v.reference} ({v.field}) no longer passes {where}: {v.reason}: {v.message}",
            ),
        )
    state.audit_reported = seen


def _write_statuses(
    policies: Sequence[policy.Policy],
    checked: Mapping[policy.PolicyKey, int],
    found: Sequence[audit.Violation],
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    for pol in policies:
        mine = [v for v in found if v.policy == pol.key]
        patch = audit.policy_status(checked.get(pol.key, 0), mine, now=now)
        try:
            kube.patch_status(
                "modelward.io",
                "v1alpha1",
                PLURALS[pol.key.kind],
                pol.key.namespace,
                pol.key.name,
                {"audit": patch},
            )
        except kubernetes.client.ApiException as e:
            logger.warning(
                "audit status not written", extra={"policy": pol.name, "status": e.status}
            )
