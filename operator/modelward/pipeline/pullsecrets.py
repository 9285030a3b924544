"""Which pull Secrets and service account a workload names: the credentials it may lend."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

DEFAULT_SERVICE_ACCOUNT = "default"
# Where each pod controller keeps its pod template.
POD_TEMPLATE_PATHS: Mapping[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


@dataclasses.dataclass(frozen=True, slots=True)
class PullSecretRefs:
    """Secret names from `imagePullSecrets` and the service account whose pull Secrets count
    too, all in the namespace of the request."""

    secrets: tuple[str, ...]
    service_account: str = DEFAULT_SERVICE_ACCOUNT


def pull_secret_refs(obj: Mapping[str, Any]) -> PullSecretRefs:
    """The pull Secrets of a Pod, a pod template or a KServe component (predictor first)."""
    kind = str(obj.get("kind", ""))
    spec = _mapping(obj.get("spec"))
    if kind in POD_TEMPLATE_PATHS:
        for key in POD_TEMPLATE_PATHS[kind]:
            obj = _mapping(obj.get(key))
        spec = _mapping(obj.get("spec"))
    elif kind == "InferenceService":
        spec = _mapping(spec.get("predictor"))
    names = []
    for item in spec.get("imagePullSecrets") or []:
        name = _mapping(item).get("name")
        if isinstance(name, str) and name and name not in names:
            names.append(name)
    account = spec.get("serviceAccountName")
    return PullSecretRefs(
        secrets=tuple(names),
        service_account=account
        if isinstance(account, str) and account
        else DEFAULT_SERVICE_ACCOUNT,
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
