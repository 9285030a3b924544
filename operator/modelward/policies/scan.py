"""Parse `spec.scan` and `spec.knownBad` of a policy."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from modelward import errors
from modelward.scanners.base import Severity
from modelward.structs import policy, scanning

DIGEST = re.compile(r"^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0}
MAX_FEED_BYTES = 4 * 1024 * 1024
MAX_FEED_ENTRIES = 100_000

# (namespace, name, key) -> the ConfigMap entry; raises PolicyError when unreadable.
ConfigMapReader = Callable[[str, str, str], bytes]
AuthoritiesParser = Callable[[Any], tuple[policy.Authority, ...]]


def _bad(message: str) -> errors.PolicyError:
    return errors.PolicyError(message, reason="InvalidSpec")


def duration(text: Any, where: str) -> float:
    """Seconds in a Go-style duration such as `720h`, `90m` or `1h30m`."""
    if not isinstance(text, str) or not text or _DURATION.sub("", text):
        raise _bad(f"{where} must be a duration such as 720h or 30m, not {text!r}")
    seconds = sum(float(n) * _UNITS[unit] for n, unit in _DURATION.findall(text))
    if seconds <= 0:
        raise _bad(f"{where} must be positive")
    return seconds


def parse_scan(raw: Any, *, authorities: AuthoritiesParser) -> scanning.ScanPolicy | None:
    """`spec.scan`, or None when the policy does not ask for scanning."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise _bad("scan must be an object")
    try:
        fail_on = Severity.parse(str(raw.get("failOn", "high")))
    except ValueError as e:
        raise _bad(f"scan.failOn: {e}") from None
    exceptions = []
    listed = raw.get("exceptions") or []
    if not isinstance(listed, list):
        raise _bad("scan.exceptions must be a list")
    for i, item in enumerate(listed):
        if not isinstance(item, Mapping):
            raise _bad(f"scan.exceptions[{i}] must be an object")
        rule, digest, reason = item.get("rule"), item.get("digest"), item.get("reason")
        if not isinstance(rule, str) or not rule:
            raise _bad(
                f"scan.exceptions[{i}].rule must name a rule id such as pickle.unsafe-global"
            )
        if not isinstance(digest, str) or not DIGEST.match(digest):
            raise _bad(f"scan.exceptions[{i}].digest must be sha256:<64 hex digits>")
        if not isinstance(reason, str) or not reason.strip():
            raise _bad(f"scan.exceptions[{i}].reason must say why the finding is accepted")
        exceptions.append(scanning.ScanException(rule=rule, digest=digest, reason=reason))
    attestations = None
    att = raw.get("attestations")
    if att is not None:
        if not isinstance(att, Mapping):
            raise _bad("scan.attestations must be an object")
        trusted = authorities(att.get("authorities"))
        for authority in trusted:
            if authority.type not in (policy.AuthorityType.KEY, policy.AuthorityType.CERTIFICATE):
                raise _bad(
                    f"scan.attestations.authorities: {authority.name!r} must be a key or a "
                    "certificate authority"
                )
        attestations = scanning.Attestations(
            authorities=trusted,
            max_age_seconds=duration(att.get("maxAge", "720h"), "scan.attestations.maxAge"),
        )
    return scanning.ScanPolicy(
        fail_on=fail_on, exceptions=tuple(exceptions), attestations=attestations
    )


def parse_known_bad(
    raw: Any,
    *,
    configmaps: ConfigMapReader | None,
    default_namespace: str,
    own_namespace: str | None,
) -> tuple[scanning.KnownBad, ...]:
    """`spec.knownBad`: inline digests plus an optional ConfigMap feed."""
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise _bad("knownBad must be an object")
    out = []
    digests = raw.get("digests") or []
    if not isinstance(digests, list):
        raise _bad("knownBad.digests must be a list")
    for i, item in enumerate(digests):
        digest = item.get("digest") if isinstance(item, Mapping) else None
        if not isinstance(digest, str) or not DIGEST.match(digest):
            raise _bad(f"knownBad.digests[{i}].digest must be sha256:<64 hex digits>")
        reason = item.get("reason") or "listed as known bad"
        out.append(scanning.KnownBad(digest=digest, reason=str(reason)))
    ref = raw.get("configMapRef")
    if ref is not None:
        if not isinstance(ref, Mapping) or not ref.get("name") or not ref.get("key"):
            raise _bad("knownBad.configMapRef needs name and key")
        namespace = str(ref.get("namespace") or default_namespace)
        if own_namespace is not None and namespace != own_namespace:
            raise errors.PolicyError(
                f"knownBad.configMapRef: a ModelPolicy may only reference ConfigMaps in its own "
                f"namespace {own_namespace!r}, not {namespace!r}",
                reason="ConfigMapOutOfNamespace",
            )
        if configmaps is None:
            raise errors.PolicyError(
                f"ConfigMap {namespace}/{ref['name']} cannot be read here; list the digests "
                "inline in knownBad.digests",
                reason="ConfigMapNotFound",
            )
        where = f"ConfigMap {namespace}/{ref['name']} key {ref['key']}"
        try:
            text = configmaps(namespace, str(ref["name"]), str(ref["key"])).decode()
        except UnicodeDecodeError:
            raise _bad(f"{where} is not UTF-8 text") from None
        out.extend(parse_feed(text, where))
    return tuple(out)


def parse_feed(text: str, where: str) -> list[scanning.KnownBad]:
    """A feed: one `sha256:<hex> [reason]` per line; blank lines and `#` comments ignored."""
    if len(text) > MAX_FEED_BYTES:
        raise _bad(f"{where} is larger than {MAX_FEED_BYTES} bytes")
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        digest, _, reason = line.partition(" ")
        if not DIGEST.match(digest):
            raise _bad(f"{where} line {number}: {digest[:80]!r} is not sha256:<64 hex digits>")
        out.append(scanning.KnownBad(digest=digest, reason=reason.strip() or "listed as known bad"))
        if len(out) > MAX_FEED_ENTRIES:
            raise _bad(f"{where} lists more than {MAX_FEED_ENTRIES} digests")
    return out
