"""Kubernetes Events: policies that became ready or invalid, and denials where an object exists.

`kubectl describe` is where users look first; a denied Pod never exists, so its denial is
recorded on the controller that tried to create it (the ReplicaSet of a Deployment, the
Deployment of a denied ReplicaSet), and an update's denial on the object itself.
"""

from __future__ import annotations

import contextvars
import dataclasses
from collections.abc import Mapping
from typing import Any, cast

import kopf

from modelward.structs import policy

# The API server refuses Event messages above 1 KiB.
MAX_MESSAGE = 1024


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    type: str  # Normal | Warning
    reason: str
    message: str


def _ready_status(status: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    for condition in (status or {}).get("conditions") or ():
        if isinstance(condition, Mapping) and condition.get("type") == "Ready":
            return condition.get("status"), condition.get("message")
    return None, None


def policy_transition(pol: policy.Policy, status: Mapping[str, Any] | None) -> Event | None:
    """The Event for a policy whose readiness changed from `status` (None when unchanged)."""
    was, message = _ready_status(status)
    if pol.ready:
        if was == "True":
            return None
        return Event(
            "Normal",
            "PolicyReady",
            f"policy loaded: {len(pol.authorities)} authorities, {len(pol.globs)} model globs, "
            f"mode {pol.mode}",
        )
    if was == "False" and message == pol.error_message:
        return None
    return Event("Warning", "PolicyInvalid", f"{pol.error_reason}: {pol.error_message}")


def denial_target(
    obj: Mapping[str, Any], *, operation: str, namespace: str | None
) -> dict[str, Any] | None:
    """The existing object a denial is recorded on: the object itself on UPDATE, else its
    controller (from ownerReferences); None when nothing exists to attach it to."""
    metadata = obj.get("metadata") or {}
    if operation == "UPDATE" and metadata.get("name") and metadata.get("uid"):
        return {
            "apiVersion": obj.get("apiVersion"),
            "kind": obj.get("kind"),
            "metadata": {
                "name": metadata["name"],
                "uid": metadata["uid"],
                "namespace": namespace,
            },
        }
    for owner in metadata.get("ownerReferences") or ():
        if isinstance(owner, Mapping) and owner.get("controller") and owner.get("uid"):
            return {
                "apiVersion": owner.get("apiVersion"),
                "kind": owner.get("kind"),
                "metadata": {
                    "name": owner.get("name"),
                    "uid": owner["uid"],
                    "namespace": namespace,
                },
            }
    return None


def _post(target: kopf.Body | Mapping[str, Any], event: Event) -> None:
    body = target if isinstance(target, kopf.Body) else kopf.Body(cast(Any, dict(target)))
    kopf.event(body, type=event.type, reason=event.reason, message=event.message[:MAX_MESSAGE])


class Poster:
    """Posts Events through Kopf's event queue from anywhere in the operator.

    Kopf keeps its queue in context variables that its per-object handlers see but its
    webhook server's requests do not; the poster keeps the context of the handler that made it.
    """

    def __init__(self) -> None:
        self._context = contextvars.copy_context()

    def post(self, target: kopf.Body | Mapping[str, Any], event: Event) -> None:
        """Queue the Event (asynchronous; a failure to post is only logged by Kopf)."""
        self._context.run(_post, target, event)

    def denied(
        self,
        obj: Mapping[str, Any],
        *,
        operation: str,
        namespace: str | None,
        kind: str,
        message: str,
    ) -> None:
        """Record a denial on the object it concerns, when one exists."""
        target = denial_target(obj, operation=operation, namespace=namespace)
        if target is not None:
            metadata = obj.get("metadata") or {}
            name = metadata.get("name") or metadata.get("generateName", "")
            self.post(target, Event("Warning", "ModelDenied", f"{kind} {name}: {message}"))
