"""The refresh timer of TrustRoots mirrored from TUF repositories, and the Events that tell
users a trust root stopped (or started again) being refreshed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

import kopf

from modelward import errors
from modelward.adapters.events import Event
from modelward.policies import trustroots, tufspec
from modelward.trust import tufmirror

if TYPE_CHECKING:
    from modelward.adapters.kopf_app import State

GROUP, VERSION, PLURAL = "modelward.io", "v1alpha1", "trustroots"
Loader = Callable[["State", tufmirror.TufMirrors, kopf.Body, kopf.Patch], Awaitable[None]]


def transition(root: trustroots.TrustRoot, status: Mapping[str, Any] | None) -> Event | None:
    """The Event for a TrustRoot whose Ready condition changed (None when unchanged)."""
    current = next(
        (
            c
            for c in (status or {}).get("conditions") or ()
            if isinstance(c, Mapping) and c.get("type") == "Ready"
        ),
        None,
    )
    was = current.get("status") if current else None
    if root.ready:
        if was != "False":
            return None
        return Event("Normal", "TrustRootReady", "trusted root loaded again")
    if was == "False" and current and current.get("message") == root.error_message:
        return None
    return Event("Warning", root.error_reason, root.error_message)


def register(
    registry: kopf.OperatorRegistry,
    state: State,
    mirrors: tufmirror.TufMirrors,
    load: Loader,
) -> None:
    """Add the timer that re-loads each TUF TrustRoot once its refreshInterval has passed."""

    async def tick(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        try:
            seconds = tufspec.refresh_seconds(body.spec.get("tuf"))
        except errors.PolicyError:
            return  # the change handlers already reported the spec as invalid
        if mirrors.due(body.metadata.name, seconds):
            await load(state, mirrors, body, patch)

    def has_tuf(spec: kopf.Spec, **_: Any) -> bool:
        return "tuf" in spec

    interval = state.settings.trust_refresh_check_seconds
    kopf.timer(
        GROUP,
        VERSION,
        PLURAL,
        interval=interval,
        initial_delay=interval,
        when=cast(Any, has_tuf),
        registry=registry,
    )(cast(Any, tick))
