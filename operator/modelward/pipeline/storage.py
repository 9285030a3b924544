"""Resolve KServe's `storage: {key, path, parameters}` form to the URI it implies, through the
`storage-config` Secret of the object's namespace, as KServe's storage initializer does."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from modelward import errors
from modelward.structs import refs

STORAGE_SECRET = "storage-config"  # noqa: S105 (a Secret's name, not a password)
MAX_SECRET_VALUE = 64 * 1024
# storage-config `type` -> URI scheme of the location it describes.
SCHEMES = {"s3": "s3", "gs": "gs", "gcs": "gs", "hdfs": "hdfs", "webhdfs": "webhdfs"}

# (namespace, name, key) -> the Secret's decoded value; raises PolicyError when unreadable.
SecretReader = Callable[[str, str, str], bytes]


def resolve(
    ref: refs.ModelRef, namespace: str | None, secrets: SecretReader | None
) -> refs.ModelRef:
    """`ref` with the URI its storage key implies, or with `problem` saying why there is none.

    Blocking (it may read a Secret): call it off the event loop.
    """
    storage = ref.storage
    if storage is None:
        return ref
    where = f"storage key {storage.key!r} of Secret {STORAGE_SECRET}"
    if secrets is None:
        return _unresolved(ref, f"{where} cannot be read offline; name the model with storageUri")
    if not namespace:
        return _unresolved(ref, f"{where}: the object has no namespace")
    try:
        raw = secrets(namespace, STORAGE_SECRET, storage.key)
    except errors.PolicyError as e:
        return _unresolved(ref, f"{where} cannot be read: {e.message}")
    try:
        config = _config(raw)
    except errors.InputError as e:
        return _unresolved(ref, f"{where} in namespace {namespace}: {e.message}")
    config.update(dict(storage.parameters))
    kind = str(config.get("type", "")).lower()
    scheme = SCHEMES.get(kind)
    if scheme is None:
        return _unresolved(ref, f"{where}: storage type {kind or '(none)'!r} names no URI scheme")
    bucket = str(config.get("bucket", "")).strip("/")
    if not bucket:
        return _unresolved(ref, f"{where}: no bucket in the key or in storage.parameters")
    uri = f"{scheme}://{bucket}/{storage.path}".rstrip("/")
    return dataclasses.replace(ref, uri=uri)


def _config(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_SECRET_VALUE:
        raise errors.InputError(f"the value is over {MAX_SECRET_VALUE} bytes")
    try:
        config = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        # The value holds credentials: say it is malformed, never echo it.
        raise errors.InputError("the value is not JSON") from None
    if not isinstance(config, dict):
        raise errors.InputError("the value is not a JSON object")
    return config


def _unresolved(ref: refs.ModelRef, problem: str) -> refs.ModelRef:
    return dataclasses.replace(ref, problem=f"KServe's storage form names no URI, and {problem}")
