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

from modelward.adapters import kube
from modelward.policies import conditions, parse, status, trustroot_index, trustroots

if TYPE_CHECKING:
    from modelward.adapters.kopf_app import State

logger = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "modelward.io", "v1alpha1", "trustroots"
POLICY_PLURALS = {
    parse.CLUSTER_KIND: "clustermodelpolicies",
    parse.NAMESPACED_KIND: "modelpolicies",
}


def ready(root: trustroots.TrustRoot) -> conditions.Ready:
    if root.ready:
        return conditions.Ready(True, "Loaded", "trusted root loaded", root.generation)
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


def register(registry: kopf.OperatorRegistry, state: State) -> None:
    """Add the TrustRoot handlers to `registry`."""

    async def changed(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        root = await asyncio.to_thread(
            trustroots.parse_trust_root,
            dict(body),
            configmaps=kube.read_configmap,
            home_namespace=state.settings.namespace,
        )
        state.trust_roots.put(root)
        update = conditions.status_patch(
            ready(root), body.get("status"), now=datetime.datetime.now(datetime.UTC)
        )
        if update is not None:
            patch.status.update(update)
        if not root.ready:
            logger.warning(
                "trust root not ready",
                extra={"trust_root": root.name, "reason": root.error_reason},
            )
        await reload_dependants(state, root.name)

    async def event(event: Mapping[str, Any], body: kopf.Body, **_: Any) -> None:
        if event.get("type") != "DELETED":
            return
        state.trust_roots.remove(body.metadata.name)
        await reload_dependants(state, body.metadata.name)

    for on in (kopf.on.resume, kopf.on.create, kopf.on.update):
        on(GROUP, VERSION, PLURAL, registry=registry)(cast(Any, changed))
    kopf.on.event(GROUP, VERSION, PLURAL, registry=registry)(cast(Any, event))
