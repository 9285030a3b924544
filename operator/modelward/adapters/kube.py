"""Secrets, ConfigMaps, custom-object status and policy listings through the Kubernetes API
(in-cluster config, else kubeconfig)."""

from __future__ import annotations

import base64
import functools
from typing import Any, cast

import kubernetes

from modelward import errors


@functools.cache
def _core() -> kubernetes.client.CoreV1Api:
    try:
        kubernetes.config.load_incluster_config()  # type: ignore[no-untyped-call]
    except kubernetes.config.ConfigException:
        kubernetes.config.load_kube_config()  # type: ignore[no-untyped-call]
    return kubernetes.client.CoreV1Api()


def core() -> kubernetes.client.CoreV1Api:
    """The shared core API client."""
    return _core()


@functools.cache
def _custom() -> kubernetes.client.CustomObjectsApi:
    _core()  # loads the configuration
    return kubernetes.client.CustomObjectsApi()


def reset() -> None:
    """Forget the loaded configuration (a new cluster, a new kubeconfig)."""
    _core.cache_clear()
    _custom.cache_clear()


def list_objects(group: str, version: str, plural: str) -> list[dict[str, Any]]:
    """Every object of a custom resource, in all namespaces; ApiException when unreadable."""
    listing = cast(dict[str, Any], _custom().list_cluster_custom_object(group, version, plural))
    return [dict(item) for item in listing.get("items") or ()]


def read_secret(namespace: str, name: str, key: str) -> bytes:
    """The decoded value of one Secret key; a PolicyError names what is missing."""
    try:
        secret = _core().read_namespaced_secret(name, namespace)
    except kubernetes.client.ApiException as e:
        what = "does not exist" if e.status == 404 else f"cannot be read (HTTP {e.status})"
        raise errors.PolicyError(
            f"Secret {namespace}/{name} {what}", reason="SecretNotFound"
        ) from None
    data = secret.data or {}
    if key not in data:
        raise errors.PolicyError(
            f"Secret {namespace}/{name} has no key {key!r}", reason="SecretNotFound"
        )
    return base64.b64decode(data[key])


def read_configmap(namespace: str, name: str, key: str) -> bytes:
    """One ConfigMap entry (data or binaryData); a PolicyError names what is missing."""
    try:
        configmap = _core().read_namespaced_config_map(name, namespace)
    except kubernetes.client.ApiException as e:
        what = "does not exist" if e.status == 404 else f"cannot be read (HTTP {e.status})"
        raise errors.PolicyError(
            f"ConfigMap {namespace}/{name} {what}", reason="TrustRootUnavailable"
        ) from None
    data, binary = configmap.data or {}, configmap.binary_data or {}
    if key in data:
        return str(data[key]).encode()
    if key in binary:
        return base64.b64decode(binary[key])
    raise errors.PolicyError(
        f"ConfigMap {namespace}/{name} has no key {key!r}", reason="TrustRootUnavailable"
    )


def patch_status(
    group: str,
    version: str,
    plural: str,
    namespace: str | None,
    name: str,
    status: Any,
    *,
    resource_version: str | None = None,
) -> None:
    """Merge-patch the status of a custom object, cluster-scoped when `namespace` is None.
    With `resource_version`, only if the object is still at it (ApiException 409 otherwise):
    read, merge, write without losing a concurrent writer's entries."""
    body: dict[str, Any] = {"status": status}
    if resource_version is not None:
        body["metadata"] = {"resourceVersion": resource_version}
    merge = "application/merge-patch+json"
    if namespace is None:
        _custom().patch_cluster_custom_object_status(
            group, version, plural, name, body, _content_type=merge
        )
    else:
        _custom().patch_namespaced_custom_object_status(
            group, version, namespace, plural, name, body, _content_type=merge
        )


def read_secret_data(namespace: str, name: str) -> dict[str, bytes] | None:
    """Every decoded key of a Secret, or None when it does not exist or cannot be read."""
    try:
        secret = _core().read_namespaced_secret(name, namespace)
    except kubernetes.client.ApiException:
        return None
    return {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}


def service_account_pull_secrets(namespace: str, name: str) -> list[str]:
    """The `imagePullSecrets` names of a service account; none when it cannot be read."""
    try:
        account = _core().read_namespaced_service_account(name, namespace)
    except kubernetes.client.ApiException:
        return []
    return [ref.name for ref in account.image_pull_secrets or [] if ref.name]


def get_object(
    group: str, version: str, plural: str, name: str, namespace: str | None = None
) -> dict[str, Any] | None:
    """One custom object (cluster-scoped when `namespace` is None), or None when it does not
    exist."""
    try:
        if namespace is None:
            found = _custom().get_cluster_custom_object(group, version, plural, name)
        else:
            found = _custom().get_namespaced_custom_object(group, version, namespace, plural, name)
    except kubernetes.client.ApiException as e:
        if e.status == 404:
            return None
        raise
    return cast(dict[str, Any], found)


def create_object(
    group: str, version: str, plural: str, body: dict[str, Any], namespace: str | None = None
) -> None:
    """Create a custom object; ApiException (409 when it exists) otherwise."""
    if namespace is None:
        _custom().create_cluster_custom_object(group, version, plural, body)
    else:
        _custom().create_namespaced_custom_object(group, version, namespace, plural, body)


def patch_object(
    group: str, version: str, plural: str, name: str, body: Any, namespace: str | None = None
) -> None:
    """Merge-patch a custom object; a `metadata.resourceVersion` in `body` makes the patch
    fail with 409 when another writer came first."""
    merge = "application/merge-patch+json"
    if namespace is None:
        _custom().patch_cluster_custom_object(
            group, version, plural, name, body, _content_type=merge
        )
    else:
        _custom().patch_namespaced_custom_object(
            group, version, namespace, plural, name, body, _content_type=merge
        )


def delete_cluster_object(group: str, version: str, plural: str, name: str) -> None:
    """Delete a cluster-scoped custom object; one already gone is not an error."""
    try:
        _custom().delete_cluster_custom_object(group, version, plural, name)
    except kubernetes.client.ApiException as e:
        if e.status != 404:
            raise


def list_everywhere(group: str, version: str, plural: str) -> list[dict[str, Any]]:
    """Every object of a kind in all namespaces: Pods, or a custom resource; [] when the kind
    is not served; ApiException for any other failure."""
    try:
        if not group and plural == "pods":
            api = _core()
            listing = api.api_client.sanitize_for_serialization(api.list_pod_for_all_namespaces())
            # Items of a typed list carry no kind; the extractors need it.
            return [
                {"apiVersion": "v1", "kind": "Pod", **item} for item in listing.get("items") or ()
            ]
        return list_objects(group, version, plural)
    except kubernetes.client.ApiException as e:
        if e.status == 404:
            return []
        raise


def claim_annotations(namespace: str, name: str) -> dict[str, str] | None:
    """The annotations of a PersistentVolumeClaim; None when it does not exist."""
    try:
        claim = _core().read_namespaced_persistent_volume_claim(name, namespace)
    except kubernetes.client.ApiException as e:
        if e.status == 404:
            return None
        raise
    annotations = (claim.metadata.annotations if claim.metadata else None) or {}
    return {str(k): str(v) for k, v in annotations.items()}
