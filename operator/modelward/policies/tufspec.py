"""Parse a TrustRoot's `spec.tuf`: a mirrored TUF repository whose target is the trusted root.

The mirror URL is user input; it is only checked for shape here. The egress rules apply when
the operator connects (trust/tufmirror.py).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from yarl import URL

from modelward import errors
from modelward.policies.scan import duration

# (namespace, name, key) -> the ConfigMap entry; raises PolicyError when unreadable.
ConfigMapReader = Callable[[str, str, str], bytes]
DEFAULT_TARGET = "trusted_root.json"
DEFAULT_ROOT_KEY = "root.json"
DEFAULT_REFRESH = "24h"
MIN_REFRESH_SECONDS = 1.0
MAX_REFRESH_SECONDS = 90 * 24 * 3600.0
MAX_URL_CHARS = 2048
# TUF's own bound for root metadata (UpdaterConfig.root_max_length).
MAX_ROOT_BYTES = 512_000
# A target path as TUF repositories spell them: relative, no `.`, `..` or empty segments.
_SEGMENT = r"([A-Za-z0-9_\-][A-Za-z0-9_.\-]*|\.[A-Za-z0-9_\-][A-Za-z0-9_.\-]*|\.\.[A-Za-z0-9_.\-]+)"
_TARGET = re.compile(f"^{_SEGMENT}(/{_SEGMENT})*$")


@dataclasses.dataclass(frozen=True, slots=True)
class TufSource:
    """Where a TrustRoot's trusted_root.json comes from, and how often to re-check it."""

    mirror: str  # ends with '/'; metadata at <mirror>, targets at <mirror>targets/
    root: bytes  # the initial (bootstrap) root.json
    target: str
    refresh_seconds: float

    @property
    def fingerprint(self) -> str:
        """Identifies the mirror, initial root and target; a change starts a fresh cache."""
        digest = hashlib.sha256()
        for part in (self.mirror.encode(), self.root, self.target.encode()):
            digest.update(len(part).to_bytes(8, "big") + part)
        return digest.hexdigest()


def _bad(message: str) -> errors.PolicyError:
    return errors.PolicyError(f"tuf.{message}", reason="InvalidSpec")


def refresh_seconds(raw: Any) -> float:
    """`tuf.refreshInterval` in seconds (24h when unset), within 1s..90 days."""
    text = raw.get("refreshInterval", DEFAULT_REFRESH) if isinstance(raw, Mapping) else None
    seconds = duration(text, "tuf.refreshInterval")
    if not MIN_REFRESH_SECONDS <= seconds <= MAX_REFRESH_SECONDS:
        raise _bad("refreshInterval must be between 1s and 2160h (90 days)")
    return seconds


def parse(raw: Any, *, configmaps: ConfigMapReader, home_namespace: str) -> TufSource:
    """`spec.tuf` as a TufSource; a PolicyError (reason InvalidSpec) names the bad field."""
    if not isinstance(raw, Mapping):
        raise errors.PolicyError("tuf must be an object", reason="InvalidSpec")
    target = raw.get("target", DEFAULT_TARGET)
    if not isinstance(target, str) or len(target) > 253 or not _TARGET.match(target):
        raise _bad(f"target must be a relative path such as trusted_root.json, not {target!r}")
    return TufSource(
        mirror=_mirror(raw.get("mirror")),
        root=_root(raw, configmaps=configmaps, home_namespace=home_namespace),
        target=target,
        refresh_seconds=refresh_seconds(raw),
    )


def _mirror(text: Any) -> str:
    if not isinstance(text, str) or not text or len(text) > MAX_URL_CHARS:
        raise _bad("mirror must be an http(s) URL such as https://tuf.example/")
    try:
        url = URL(text)
    except (ValueError, TypeError):
        raise _bad(f"mirror is not a URL: {text!r}") from None
    if url.scheme not in {"http", "https"} or not url.raw_host:
        raise _bad(f"mirror must be an http(s) URL with a host, not {text!r}")
    if url.user is not None or url.password is not None or url.query_string or url.fragment:
        raise _bad("mirror must not carry credentials, a query or a fragment")
    return text if text.endswith("/") else text + "/"


def _root(raw: Mapping[str, Any], *, configmaps: ConfigMapReader, home_namespace: str) -> bytes:
    given = [k for k in ("rootJSON", "root") if k in raw]
    if len(given) != 1:
        raise errors.PolicyError(
            "tuf needs exactly one of rootJSON or root.configMapRef (the initial root.json)",
            reason="InvalidSpec",
        )
    if "rootJSON" in raw:
        data = _inline_root(raw["rootJSON"])
    else:
        ref = raw["root"].get("configMapRef") if isinstance(raw["root"], Mapping) else None
        if not isinstance(ref, Mapping) or not isinstance(ref.get("name"), str) or not ref["name"]:
            raise _bad("root.configMapRef needs a name")
        namespace = str(ref.get("namespace") or home_namespace)
        data = configmaps(namespace, ref["name"], str(ref.get("key") or DEFAULT_ROOT_KEY))
    if len(data) > MAX_ROOT_BYTES:
        raise _bad(f"root: the initial root.json is larger than {MAX_ROOT_BYTES} bytes")
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        raise _bad("root: the initial root.json is not JSON") from None
    signed = document.get("signed") if isinstance(document, Mapping) else None
    if not isinstance(signed, Mapping) or signed.get("_type") != "root":
        raise _bad("root: not TUF root metadata (signed._type must be 'root')")
    return data


def _inline_root(text: Any) -> bytes:
    """rootJSON is the document itself or its base64 encoding."""
    if not isinstance(text, str) or not text.strip():
        raise _bad("rootJSON must be the initial root.json, as JSON or base64")
    if text.lstrip().startswith("{"):
        return text.encode()
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise _bad("rootJSON is neither JSON nor base64") from None
