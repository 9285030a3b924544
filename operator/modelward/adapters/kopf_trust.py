"""Kopf handlers for TrustRoots: load them into the index, report status, and re-load the
policies that name a TrustRoot when it changes."""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import kopf
import kubernetes

from modelward.adapters import events, kopf_tuf, kube
from modelward.policies import conditions, parse, status, trustroot_index, trustroots
from modelward.trust import tufmirror

if TYPE_CHECKING:
    from modelward.adapters.kopf_app import State

logger = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "modelward.io", "v1alpha1", "trustroots"
POLICY_PLURALS = {
    parse.CLUSTER_KIND: "clustermodelpolicies",
    parse.NAMESPACED_KIND: "modelpolicies",
}


def ready(root: trustroots.TrustRoot, detail: str = "") -> conditions.Ready:
    if root.ready:
        message = f"trusted root loaded, {detail}" if detail else "trusted root loaded"
        return conditions.Ready(True, "Loaded", message, root.generation)
    return conditions.Ready(False, root.error_reason, root.error_message, root.generation)


async def reload_dependants(state: State, name: str) -> None:
    """Re-parse the policies naming TrustRoot `name` and bring their status up to date."""
    now = datetime.datetime.now(datetime.UTC)
    for body in trustroot_index.dependants(list(state.policy_bodies.values()), name):
        pol = await asyncio.to_thread(
            parse.parse_policy,
            body,
            secrets=kube.read_secret,
            home_namespace=state.settings.namespace,
            trust_roots=state.trust_roots.read,
        )
        state.policies.put(pol)
        update = status.status_patch(pol, body.get("status"), now=now)
        if update is None:
            continue
        try:
            await asyncio.to_thread(
                kube.patch_status,
                GROUP,
                VERSION,
                POLICY_PLURALS[pol.key.kind],
                pol.key.namespace,
                pol.key.name,
                update,
            )
        except kubernetes.client.ApiException as e:
            # The policy itself is already current in the index; only its status lags.
            logger.warning(
                "policy status not updated",
                extra={"policy": pol.name, "trust_root": name, "status": e.status},
            )


async def load(
    state: State, mirrors: tufmirror.TufMirrors, body: kopf.Body, patch: kopf.Patch
) -> None:
    """(Re-)load one TrustRoot into the index, report it, and re-load its policies when the
    root they verify against changed."""
    root = await asyncio.to_thread(
        trustroots.parse_trust_root,
        dict(body),
        configmaps=kube.read_configmap,
        home_namespace=state.settings.namespace,
        tuf=mirrors.load,
    )
    previous = state.trust_roots.get(root.name)
    state.trust_roots.put(root)
    good = mirrors.last_good(root.name) if "tuf" in (body.get("spec") or {}) else None
    condition = ready(root, good.describe() if good is not None and root.ready else "")
    update = conditions.status_patch(
        condition, body.get("status"), now=datetime.datetime.now(datetime.UTC)
    )
    if update is not None:
        patch.status.update(update)
    event = kopf_tuf.transition(root, body.get("status"))
    if event is not None:
        state.events = state.events or events.Poster()
        state.events.post(body, event)
    if not root.ready:
        logger.warning(
            "trust root not ready",
            extra={"trust_root": root.name, "reason": root.error_reason},
        )
    if previous != root:  # a timer refresh that changed nothing leaves the policies alone
        await reload_dependants(state, root.name)


def register(registry: kopf.OperatorRegistry, state: State) -> None:
    """Add the TrustRoot handlers to `registry`."""

    mirrors = tufmirror.TufMirrors(
        state.settings.work_dir / "tuf",
        state.settings.egress_rules,
        ca_bundle=state.settings.ca_bundle,
    )

    async def changed(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        await load(state, mirrors, body, patch)

    async def event(event: Mapping[str, Any], body: kopf.Body, **_: Any) -> None:
        if event.get("type") != "DELETED":
            return
        state.trust_roots.remove(body.metadata.name)
        mirrors.forget(body.metadata.name)
        await reload_dependants(state, body.metadata.name)

    for on in (kopf.on.resume, kopf.on.create, kopf.on.update):
        on(GROUP, VERSION, PLURAL, registry=registry)(cast(Any, changed))
    kopf.on.event(GROUP, VERSION, PLURAL, registry=registry)(cast(Any, event))
    kopf_tuf.register(registry, state, mirrors, load)
