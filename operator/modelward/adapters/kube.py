"""Reading Secrets through the Kubernetes API (in-cluster config, else kubeconfig)."""

from __future__ import annotations

import base64
import functools

import kubernetes

from modelward import errors


@functools.cache
def _core() -> kubernetes.client.CoreV1Api:
    try:
        kubernetes.config.load_incluster_config()  # type: ignore[no-untyped-call]
    except kubernetes.config.ConfigException:
        kubernetes.config.load_kube_config()  # type: ignore[no-untyped-call]
    return kubernetes.client.CoreV1Api()


def reset() -> None:
    """Forget the loaded configuration (a new cluster, a new kubeconfig)."""
    _core.cache_clear()


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
