"""Parse `spec.attestations`: the in-toto attestations a model must carry, by predicate type,
signed by named authorities of the policy, with conditions on the predicate."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from modelward import errors, patterns
from modelward.policies import scan as scan_
from modelward.structs import attesting, policy

MAX_ATTESTATIONS = 16
MAX_CONDITIONS = 32
MAX_PATH_CHARS = 256
MAX_PATH_STEPS = 32
MAX_REGEX_CHARS = 256
MAX_VALUE_CHARS = 4096
MAX_INLINE_VALUES = 1024
MAX_LIST_BYTES = 4 * 1024 * 1024
MAX_LIST_ENTRIES = 100_000
MAX_TYPE_CHARS = 512
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SEGMENT = re.compile(r"^(?P<key>[^.\[\]]*)(?P<indexes>(\[(\*|\d+)\])*)$")
_INDEX = re.compile(r"\[(\*|\d+)\]")
# Where maxAge reads the attestation's time when timePath is not given: SLSA provenance v1,
# then v0.2, then a plain timestamp.
DEFAULT_TIME_PATHS = (
    "runDetails.metadata.finishedOn",
    "runDetails.metadata.startedOn",
    "metadata.buildFinishedOn",
    "metadata.buildStartedOn",
    "timestamp",
)
OPS = ("equals", "matches", "in", "inConfigMap")
INLINE_TYPES = (policy.AuthorityType.KEY, policy.AuthorityType.CERTIFICATE)

# (raw list, where) -> the authorities, parsed as spec.authorities are.
InlineParser = Callable[[Any, str], tuple[policy.Authority, ...]]


def _bad(message: str) -> errors.PolicyError:
    return errors.PolicyError(message, reason="InvalidSpec")


def parse_path(text: Any, where: str) -> attesting.Path:
    """A dotted path such as `runDetails.builder.id` or `datasets[*].digest.sha256`."""
    if not isinstance(text, str) or not text or len(text) > MAX_PATH_CHARS:
        raise _bad(f"{where} must be a dotted path of at most {MAX_PATH_CHARS} characters")
    steps: list[attesting.Step] = []
    for i, segment in enumerate(text.split(".")):
        found = _SEGMENT.match(segment)
        if found is None or not segment or (not found["key"] and i > 0):
            raise _bad(
                f"{where}: {segment!r} in {text!r} is not a key, optionally followed by "
                "[*] or [<index>]"
            )
        if found["key"]:
            steps.append(found["key"])
        for index in _INDEX.findall(found["indexes"]):
            steps.append(None if index == "*" else int(index))
    if len(steps) > MAX_PATH_STEPS:
        raise _bad(f"{where}: {text!r} is deeper than {MAX_PATH_STEPS} steps")
    return attesting.Path(text=text, steps=tuple(steps))


def parse_attestations(
    raw: Any,
    *,
    authorities: Sequence[policy.Authority],
    configmaps: scan_.ConfigMapReader | None,
    namespace: str,
    inline: InlineParser | None = None,
) -> tuple[attesting.Requirement, ...]:
    """`spec.attestations`; ConfigMap allowlists are read from the policy's home `namespace`,
    `inlineAuthorities` parsed by `inline` (as spec.authorities are)."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_ATTESTATIONS:
        raise _bad(f"attestations must be a list of at most {MAX_ATTESTATIONS} entries")
    verifying = [a.name for a in authorities if a.type is not policy.AuthorityType.STATIC]
    out: list[attesting.Requirement] = []
    for i, item in enumerate(raw):
        where = f"attestations[{i}]"
        if not isinstance(item, Mapping):
            raise _bad(f"{where} must be an object")
        name = item.get("name")
        if not isinstance(name, str) or not NAME.match(name) or len(name) > 63:
            raise _bad(f"{where}.name must be a lowercase DNS label such as provenance")
        if any(r.name == name for r in out):
            raise _bad(f"attestation name {name!r} is used twice")
        where = f"attestation {name!r}"
        kind = item.get("predicateType")
        if not isinstance(kind, str) or not kind.strip() or len(kind) > MAX_TYPE_CHARS:
            raise _bad(
                f"{where}: predicateType must be a URI such as https://slsa.dev/provenance/v1"
            )
        max_age = item.get("maxAge")
        time_path = item.get("timePath")
        extra = _inline(item.get("inlineAuthorities"), verifying, where, inline)
        for authority in extra:
            # Bundles are matched to authorities by name: one name, one key.
            if any(authority.name == a.name for r in out for a in r.inline):
                raise _bad(
                    f"{where}: inline authority name {authority.name!r} is also used under another "
                    "attestation; give each inline authority its own name"
                )
        names = (
            ()
            if extra and item.get("authorities") is None
            else _names(item.get("authorities"), verifying, where)
        )
        out.append(
            attesting.Requirement(
                name=name,
                predicate_type=kind,
                authorities=names + tuple(a.name for a in extra),
                inline=extra,
                conditions=_conditions(item.get("conditions"), where, configmaps, namespace),
                max_age_seconds=None
                if max_age is None
                else scan_.duration(max_age, f"{where}: maxAge"),
                time_paths=tuple(
                    parse_path(p, f"{where}: timePath")
                    for p in ((time_path,) if time_path is not None else DEFAULT_TIME_PATHS)
                ),
            )
        )
    return tuple(out)


def _names(raw: Any, verifying: Sequence[str], where: str) -> tuple[str, ...]:
    if raw is None:
        if not verifying:
            raise _bad(f"{where}: the policy has no key, certificate or keyless authority")
        return tuple(verifying)
    if not isinstance(raw, list) or not raw or not all(isinstance(n, str) for n in raw):
        raise _bad(f"{where}: authorities must list names of the policy's authorities")
    for n in raw:
        if n not in verifying:
            raise _bad(
                f"{where}: {n!r} is not a key, certificate or keyless authority of this policy "
                f"(it has {', '.join(verifying) or 'none'})"
            )
    return tuple(dict.fromkeys(raw))


def _inline(
    raw: Any, verifying: Sequence[str], where: str, inline: InlineParser | None
) -> tuple[policy.Authority, ...]:
    if raw is None:
        return ()
    if inline is None:
        raise _bad(f"{where}: inlineAuthorities cannot be read here")
    parsed = inline(raw, f"{where}: inlineAuthorities")
    for authority in parsed:
        if authority.type not in INLINE_TYPES:
            raise _bad(
                f"{where}: inline authority {authority.name!r} must be a key or a certificate"
            )
        if authority.name in verifying:
            raise _bad(
                f"{where}: inline authority {authority.name!r} has the name of one of the "
                "policy's authorities; name it differently"
            )
    return parsed


def _conditions(
    raw: Any, where: str, configmaps: scan_.ConfigMapReader | None, namespace: str
) -> tuple[attesting.Condition, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_CONDITIONS:
        raise _bad(f"{where}: conditions must be a list of at most {MAX_CONDITIONS} entries")
    out = []
    for i, item in enumerate(raw):
        here = f"{where}: conditions[{i}]"
        if not isinstance(item, Mapping):
            raise _bad(f"{here} must be an object")
        path = parse_path(item.get("path"), f"{here}.path")
        ops = [op for op in OPS if op in item]
        if len(ops) != 1:
            raise _bad(f"{here} needs exactly one of {', '.join(OPS)}")
        out.append(_condition(ops[0], item[ops[0]], path, here, configmaps, namespace))
    return tuple(out)


def _condition(
    op: str,
    value: Any,
    path: attesting.Path,
    where: str,
    configmaps: scan_.ConfigMapReader | None,
    namespace: str,
) -> attesting.Condition:
    if op == "equals":
        if not isinstance(value, str) or len(value) > MAX_VALUE_CHARS:
            raise _bad(f"{where}.equals must be a string of at most {MAX_VALUE_CHARS} characters")
        return attesting.Condition(path=path, op=attesting.Op.EQUALS, value=value)
    if op == "matches":
        if not isinstance(value, str) or not value or len(value) > MAX_REGEX_CHARS:
            raise _bad(
                f"{where}.matches must be a regular expression of at most "
                f"{MAX_REGEX_CHARS} characters"
            )
        try:
            patterns.compile_pattern(value)
        except ValueError as e:
            raise _bad(
                f"{where}.matches {value!r} is not a valid regular expression ({e})"
            ) from None
        return attesting.Condition(path=path, op=attesting.Op.MATCHES, value=value)
    if op == "in":
        if (
            not isinstance(value, list)
            or not value
            or len(value) > MAX_INLINE_VALUES
            or not all(isinstance(v, str) and len(v) <= MAX_VALUE_CHARS for v in value)
        ):
            raise _bad(f"{where}.in must list 1 to {MAX_INLINE_VALUES} strings")
        return attesting.Condition(
            path=path, op=attesting.Op.IN, allowed=tuple(sorted(set(value))), origin="the allowlist"
        )
    allowed, origin = _configmap_list(value, where, configmaps, namespace)
    return attesting.Condition(path=path, op=attesting.Op.IN, allowed=allowed, origin=origin)


def _configmap_list(
    ref: Any, where: str, configmaps: scan_.ConfigMapReader | None, namespace: str
) -> tuple[tuple[str, ...], str]:
    """An allowlist kept in a ConfigMap entry: one value per line, `#` comments."""
    if not isinstance(ref, Mapping) or not ref.get("name") or not ref.get("key"):
        raise _bad(f"{where}.inConfigMap needs name and key")
    origin = f"the allowlist in ConfigMap {namespace}/{ref['name']} key {ref['key']}"
    if configmaps is None:
        raise errors.PolicyError(
            f"{where}: ConfigMap {namespace}/{ref['name']} cannot be read here; list the values "
            "inline with `in`",
            reason="ConfigMapNotFound",
        )
    data = configmaps(namespace, str(ref["name"]), str(ref["key"]))
    if len(data) > MAX_LIST_BYTES:
        raise _bad(f"{where}: {origin} is larger than {MAX_LIST_BYTES} bytes")
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise _bad(f"{where}: {origin} is not UTF-8 text") from None
    values = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    if not values:
        raise _bad(f"{where}: {origin} lists no value")
    if len(values) > MAX_LIST_ENTRIES:
        raise _bad(f"{where}: {origin} lists more than {MAX_LIST_ENTRIES} values")
    return tuple(sorted(set(values))), origin
