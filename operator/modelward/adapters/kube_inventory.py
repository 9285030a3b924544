"""What runs in the cluster, read through the Kubernetes API for `modelward bom --cluster`:
the objects of every kind the extractors read (built in, or declared by ModelExtractors), and
the ModelVerification records."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import kubernetes

from modelward import errors
from modelward.adapters import kube
from modelward.extractors import declared

logger = logging.getLogger(__name__)

RECORDS_GROUP, RECORDS_VERSION, RECORDS_PLURAL = "modelward.io", "v1alpha1", "modelverifications"
EXTRACTORS_GROUP, EXTRACTORS_VERSION, EXTRACTORS_PLURAL = (
    "modelward.io",
    "v1alpha1",
    "modelextractors",
)
# A listing larger than this is refused rather than held in memory whole.
MAX_OBJECTS = 100_000
REQUEST_TIMEOUT = 60.0


@dataclasses.dataclass(frozen=True, slots=True)
class Kind:
    group: str
    version: str
    plural: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def path(self) -> str:
        base = f"/apis/{self.group}" if self.group else "/api"
        return f"{base}/{self.version}/{self.plural}"


# The kinds the built-in extractors read (a test keeps this in step with them), at the API
# version each project serves.
WORKLOAD_KINDS: tuple[Kind, ...] = (
    Kind("", "v1", "pods", "Pod"),
    Kind("", "v1", "replicationcontrollers", "ReplicationController"),
    Kind("apps", "v1", "deployments", "Deployment"),
    Kind("apps", "v1", "statefulsets", "StatefulSet"),
    Kind("apps", "v1", "daemonsets", "DaemonSet"),
    Kind("apps", "v1", "replicasets", "ReplicaSet"),
    Kind("batch", "v1", "jobs", "Job"),
    Kind("batch", "v1", "cronjobs", "CronJob"),
    Kind("serving.kserve.io", "v1beta1", "inferenceservices", "InferenceService"),
    Kind("serving.kserve.io", "v1alpha1", "trainedmodels", "TrainedModel"),
    Kind("serving.kserve.io", "v1alpha1", "localmodelcaches", "LocalModelCache"),
    Kind("serving.kserve.io", "v1alpha1", "llminferenceservices", "LLMInferenceService"),
    Kind("mlops.seldon.io", "v1alpha1", "models", "Model"),
    Kind("machinelearning.seldon.io", "v1", "seldondeployments", "SeldonDeployment"),
    Kind("kubeai.org", "v1", "models", "Model"),
)


# Core kinds are listed through their typed calls (the custom-objects API serves /apis only).
_CORE_LISTS = {
    "pods": "list_pod_for_all_namespaces",
    "replicationcontrollers": "list_replication_controller_for_all_namespaces",
}


def _list(kind: Kind) -> list[Any]:
    if kind.group:
        return list(kube.list_objects(kind.group, kind.version, kind.plural))
    core = kube.core()
    typed = getattr(core, _CORE_LISTS[kind.plural])(_request_timeout=REQUEST_TIMEOUT)
    items = core.api_client.sanitize_for_serialization(typed).get("items")
    return items if isinstance(items, list) else []


def _get(kind: Kind) -> list[dict[str, Any]] | None:
    """The objects of a kind, with their apiVersion and kind (a list's items carry none);
    None when the API does not serve it (a CRD not installed)."""
    try:
        items = _list(kind)
    except kubernetes.client.ApiException as e:
        if e.status == 404:
            return None
        raise errors.BomError(
            f"{kind.path} cannot be listed (HTTP {e.status})",
            hint="Run with a kubeconfig whose user may list it, cluster-wide",
        ) from None
    if len(items) > MAX_OBJECTS:
        raise errors.BomError(f"{kind.path} lists more than {MAX_OBJECTS} objects")
    return [
        {**item, "apiVersion": kind.api_version, "kind": kind.kind}
        for item in items
        if isinstance(item, Mapping)
    ]


def _controlled(obj: Mapping[str, Any], listed: frozenset[tuple[str, str]]) -> bool:
    """Whether a listed object controls `obj` (a Pod of a ReplicaSet of a Deployment): the
    controller is the workload that uses the model, its children are not listed again."""
    owners = (obj.get("metadata") or {}).get("ownerReferences") or []
    return any(
        isinstance(o, Mapping)
        and o.get("controller") is True
        and (str(o.get("apiVersion", "")), str(o.get("kind", ""))) in listed
        for o in owners
    )


def list_workloads(kinds: Sequence[Kind] = WORKLOAD_KINDS) -> list[dict[str, Any]]:
    """Every object of `kinds` in every namespace, but those a listed kind controls; kinds the
    cluster does not serve are skipped."""
    found: list[dict[str, Any]] = []
    for kind in kinds:
        items = _get(kind)
        if items is None:
            logger.debug("kind not served", extra={"path": kind.path})
            continue
        found += items
    listed = frozenset((k.api_version, k.kind) for k in kinds)
    return [obj for obj in found if not _controlled(obj, listed)]


def list_records() -> list[dict[str, Any]]:
    """Every ModelVerification record."""
    kind = Kind(RECORDS_GROUP, RECORDS_VERSION, RECORDS_PLURAL, "ModelVerification")
    items = _get(kind)
    if items is None:
        raise errors.BomError(
            "the cluster serves no ModelVerification records",
            hint="Install modelward's chart (its CRDs) in the cluster",
        )
    return items


def _served(group: str, versions: Sequence[str], kind: str) -> list[Kind]:
    """Where the API serves `kind` of `group`: at each of `versions`, or at the group's
    preferred version; nothing when it does not."""
    client = kube.core().api_client
    try:
        if not versions:
            listing = kubernetes.client.ApisApi(client).get_api_versions()
            preferred = [
                g.preferred_version.version
                for g in listing.groups or ()
                if g.name == group and g.preferred_version is not None
            ]
            versions = preferred[:1]
        out = []
        for version in versions:
            resources = kubernetes.client.CustomObjectsApi(client).get_api_resources(group, version)
            out += [
                Kind(group, version, r.name, kind)
                for r in resources.resources or ()
                if r.kind == kind and "/" not in r.name  # not a subresource
            ]
        return out
    except kubernetes.client.ApiException as e:
        if e.status == 404:
            return []
        raise errors.BomError(
            f"the API's discovery of {group} cannot be read (HTTP {e.status})",
            hint="Run with a kubeconfig whose user may read API discovery",
        ) from None


def list_extractors() -> tuple[declared.DeclaredIndex, list[Kind]]:
    """The cluster's ModelExtractors, and the kinds they declare that the API serves (core
    kinds are read by the built-in extractors). An invalid one is skipped: its status says
    why, and the operator does not use it either."""
    kind = Kind(EXTRACTORS_GROUP, EXTRACTORS_VERSION, EXTRACTORS_PLURAL, declared.KIND)
    index = declared.DeclaredIndex()
    kinds: list[Kind] = []
    builtin = {(k.group, k.kind) for k in WORKLOAD_KINDS}
    for obj in _get(kind) or ():
        try:
            declaration = declared.parse(obj)
        except errors.ExtractorError as e:
            logger.warning(
                "ModelExtractor skipped",
                extra={"extractor": (obj.get("metadata") or {}).get("name"), "error": e.message},
            )
            continue
        index.put(declaration)
        if declaration.group and (declaration.group, declaration.kind) not in builtin:
            kinds += _served(declaration.group, declaration.versions, declaration.kind)
    return index, list(dict.fromkeys(kinds))
