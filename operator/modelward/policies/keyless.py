"""Parse a `keyless` authority: OIDC issuer and subject, Fulcio claims, a trust root by name."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from modelward import errors
from modelward.structs import policy
from modelward.trust import claims, roots

# name -> the TrustRoot's trusted_root.json bytes; raises PolicyError when it is not usable.
TrustRootReader = Callable[[str], bytes]
MAX_PATTERN = 512
MAX_CLAIMS = 32
FIELDS = frozenset(
    {
        "issuer",
        "issuerRegExp",
        "subject",
        "subjectRegExp",
        "extensions",
        "trustRootRef",
        "requireSignedTimestamp",
    }
)


def parse(raw: Any, *, name: str, trust_roots: TrustRootReader | None) -> policy.Authority:
    """A keyless authority; its `pem` is the trusted root it is verified against."""
    where = f"authority {name!r}: keyless"
    if not isinstance(raw, Mapping):
        raise errors.PolicyError(f"{where} must be an object", reason="InvalidSpec")
    unknown = sorted(set(raw) - FIELDS)
    if unknown:
        raise errors.PolicyError(
            f"{where} has unknown field {unknown[0]!r} (known: {', '.join(sorted(FIELDS))})",
            reason="InvalidSpec",
        )
    issuer, issuer_re = _one_of(raw, "issuer", where)
    subject, subject_re = _one_of(raw, "subject", where)
    require_timestamp = raw.get("requireSignedTimestamp", False)
    if not isinstance(require_timestamp, bool):
        raise errors.PolicyError(
            f"{where}.requireSignedTimestamp must be true or false", reason="InvalidSpec"
        )
    ref = raw.get("trustRootRef")
    if ref is None:
        root_name, pem = "", roots.public_good()
    elif not isinstance(ref, str) or not ref:
        raise errors.PolicyError(
            f"{where}.trustRootRef must be a TrustRoot name", reason="InvalidSpec"
        )
    elif trust_roots is None:
        raise errors.PolicyError(
            f"{where}: TrustRoot {ref!r} cannot be read here", reason="TrustRootNotFound"
        )
    else:
        root_name, pem = ref, trust_roots(ref)
    return policy.Authority(
        name=name,
        type=policy.AuthorityType.KEYLESS,
        pem=pem,
        identity=policy.Identity(
            issuer=issuer,
            issuer_regexp=issuer_re,
            subject=subject,
            subject_regexp=subject_re,
            extensions=_claims(raw.get("extensions"), where),
            trust_root=root_name,
            require_signed_timestamp=require_timestamp,
        ),
    )


def _one_of(raw: Mapping[str, Any], field: str, where: str) -> tuple[str, str]:
    exact, pattern = raw.get(field), raw.get(f"{field}RegExp")
    if (exact is None) == (pattern is None):
        raise errors.PolicyError(
            f"{where} needs exactly one of {field} or {field}RegExp", reason="InvalidSpec"
        )
    value = exact if exact is not None else pattern
    if not isinstance(value, str) or not value or len(value) > MAX_PATTERN:
        raise errors.PolicyError(
            f"{where}.{field if exact is not None else field + 'RegExp'} must be a non-empty "
            f"string of at most {MAX_PATTERN} characters",
            reason="InvalidSpec",
        )
    if pattern is None:
        return value, ""
    try:
        re.compile(value)
    except re.error as e:
        raise errors.PolicyError(
            f"{where}.{field}RegExp is not a regular expression ({e})", reason="InvalidSpec"
        ) from None
    return "", value


def _claims(raw: Any, where: str) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping) or len(raw) > MAX_CLAIMS:
        raise errors.PolicyError(
            f"{where}.extensions must be a map of at most {MAX_CLAIMS} claims",
            reason="InvalidSpec",
        )
    out = []
    for key, value in raw.items():
        if key not in claims.POLICIES:
            raise errors.PolicyError(
                f"{where}.extensions: unknown claim {key!r} "
                f"(known: {', '.join(sorted(claims.POLICIES))})",
                reason="InvalidSpec",
            )
        if not isinstance(value, str) or not value:
            raise errors.PolicyError(
                f"{where}.extensions.{key} must be a non-empty string", reason="InvalidSpec"
            )
        out.append((str(key), value))
    return tuple(sorted(out))
