"""Turn raw input (an AdmissionReview, a manifest document) into an AdmissionContext."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelward import errors
from modelward.structs import context

OPERATIONS = frozenset({"CREATE", "UPDATE", "DELETE", "CONNECT"})


def from_object(
    obj: Mapping[str, Any],
    *,
    uid: str = "",
    operation: str = "CREATE",
    namespace: str | None = None,
    namespace_labels: Mapping[str, str] | None = None,
    dry_run: bool = False,
    username: str = "",
) -> context.AdmissionContext:
    """Build a context from a Kubernetes object; raise InputError if it is not one."""
    if not isinstance(obj, Mapping):
        raise errors.InputError("the object is not a mapping", reason="MalformedObject")
    api_version = obj.get("apiVersion")
    kind = obj.get("kind")
    if not isinstance(api_version, str) or not api_version:
        raise errors.InputError("the object has no apiVersion", reason="MalformedObject")
    if not isinstance(kind, str) or not kind:
        raise errors.InputError("the object has no kind", reason="MalformedObject")
    metadata = obj.get("metadata", {})
    if not isinstance(metadata, Mapping):
        raise errors.InputError("the object's metadata is not a mapping", reason="MalformedObject")
    group, _, version = api_version.rpartition("/")
    name = metadata.get("name") or metadata.get("generateName") or ""
    ns = metadata.get("namespace") or namespace
    labels = metadata.get("labels") or {}
    if not isinstance(labels, Mapping) or not all(isinstance(v, str) for v in labels.values()):
        raise errors.InputError("the object's labels are not a mapping", reason="MalformedObject")
    return context.AdmissionContext(
        uid=uid,
        operation=operation,
        group=group,
        version=version,
        kind=kind,
        namespace=str(ns) if ns else None,
        name=str(name),
        obj=obj,
        labels={str(k): str(v) for k, v in labels.items()},
        namespace_labels=dict(namespace_labels or {}),
        dry_run=dry_run,
        username=username,
    )


def from_review(
    review: Any, *, namespace_labels: Mapping[str, str] | None = None
) -> context.AdmissionContext:
    """Decode an admission.k8s.io/v1 AdmissionReview request; raise InputError if malformed."""
    if not isinstance(review, Mapping):
        raise errors.InputError("the AdmissionReview is not a JSON object", reason="BadReview")
    if review.get("apiVersion") != "admission.k8s.io/v1" or review.get("kind") != "AdmissionReview":
        raise errors.InputError(
            "expected apiVersion admission.k8s.io/v1, kind AdmissionReview", reason="BadReview"
        )
    request = review.get("request")
    if not isinstance(request, Mapping):
        raise errors.InputError("the AdmissionReview has no request", reason="BadReview")
    uid = request.get("uid")
    operation = request.get("operation")
    if not isinstance(uid, str) or not uid:
        raise errors.InputError("the request has no uid", reason="BadReview")
    if not isinstance(operation, str) or operation not in OPERATIONS:
        raise errors.InputError(f"unknown operation {operation!r}", reason="BadReview")
    resource = request.get("resource")
    if not isinstance(resource, Mapping) or not all(
        isinstance(resource.get(k), str) for k in ("group", "version", "resource")
    ):
        raise errors.InputError(
            "the request has no resource {group, version, resource}", reason="BadReview"
        )
    # The object under review is `object`, or `oldObject` when there is none (DELETE), the
    # same choice the webhook framework makes; both must be objects when present.
    new, old = request.get("object"), request.get("oldObject")
    if any(o is not None and not isinstance(o, Mapping) for o in (new, old)):
        raise errors.InputError("object and oldObject must be JSON objects", reason="BadReview")
    obj = new if new is not None else old
    if obj is None:
        raise errors.InputError("the request carries no object", reason="BadReview")
    user = request.get("userInfo")
    if not isinstance(user, Mapping):
        raise errors.InputError("the request has no userInfo", reason="BadReview")
    username = user.get("username", "")
    namespace = request.get("namespace")
    return from_object(
        obj,
        uid=uid,
        operation=str(operation),
        namespace=namespace if isinstance(namespace, str) else None,
        namespace_labels=namespace_labels,
        dry_run=bool(request.get("dryRun")),
        username=str(username),
    )
