"""Kopf handlers for ModelPolicyExceptions: keep the index current and their status honest
(Active, Expired, or why they are invalid)."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import kopf

from modelward.policies import conditions, exceptions

if TYPE_CHECKING:
    from modelward.adapters.kopf_app import State

logger = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "modelward.io", "v1alpha1", "modelpolicyexceptions"
# How often statuses are re-checked so that expired exceptions say so; admission checks the
# expiry itself on every request, whatever the status says.
STATUS_INTERVAL = 60.0


def _refresh(body: kopf.Body, patch: kopf.Patch, state: State) -> None:
    now = datetime.datetime.now(datetime.UTC)
    ex = exceptions.parse_exception(dict(body))
    state.exceptions.put(ex)
    update = conditions.status_patch(exceptions.ready(ex, now=now), body.get("status"), now=now)
    if update is not None:
        patch.status.update(update)
    if not ex.valid:
        logger.warning(
            "model policy exception is invalid",
            extra={"exception": ex.display, "reason": ex.error_reason},
        )


def register(registry: kopf.OperatorRegistry, state: State) -> None:
    """Add the ModelPolicyException handlers to `registry`."""

    async def changed(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        _refresh(body, patch, state)

    async def event(event: Mapping[str, Any], body: kopf.Body, **_: Any) -> None:
        if event.get("type") == "DELETED":
            state.exceptions.remove(str(body.metadata.namespace), body.metadata.name)

    for on in (kopf.on.resume, kopf.on.create, kopf.on.update):
        on(GROUP, VERSION, PLURAL, registry=registry)(cast(Any, changed))
    kopf.on.event(GROUP, VERSION, PLURAL, registry=registry)(cast(Any, event))
    kopf.timer(GROUP, VERSION, PLURAL, interval=STATUS_INTERVAL, registry=registry)(
        cast(Any, changed)
    )
