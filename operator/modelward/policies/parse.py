"""Parse a ClusterModelPolicy or ModelPolicy object into a usable `structs.policy.Policy`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from modelward import errors
from modelward.policies import attestations as attestations_
from modelward.policies import digest, keyless, onerror, runtime, static
from modelward.policies import globs as globs_
from modelward.policies import scan as scan_
from modelward.policies import sources as sources_
from modelward.structs import policy

CLUSTER_KIND = "ClusterModelPolicy"
NAMESPACED_KIND = "ModelPolicy"
SUPPORTED_CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})
MIN_RSA_BITS = 2048

# (namespace, name, key) -> the Secret's decoded value; raises PolicyError when unreadable.
SecretReader = Callable[[str, str, str], bytes]


def parse_policy(
    obj: Mapping[str, Any],
    *,
    secrets: SecretReader,
    home_namespace: str,
    trust_roots: keyless.TrustRootReader | None = None,
    configmaps: scan_.ConfigMapReader | None = None,
) -> policy.Policy:
    """Parse a policy object. Problems are recorded on the returned policy, never raised.

    A policy whose match or globs are broken cannot govern anything and is returned with
    no globs; one whose authorities are broken keeps its globs so that what it governs is
    denied with the problem named.
    """
    key = _policy_key(obj)
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        return _broken(key, "InvalidSpec", "spec is missing or not an object")
    try:
        mode = policy.Mode(spec.get("mode", "enforce"))
    except ValueError:
        return _broken(key, "InvalidSpec", f"mode {spec.get('mode')!r} is not enforce|warn|audit")
    try:
        match_ = _match(spec.get("match"))
        globs = _globs(spec.get("models"))
        on_error = onerror.parse(spec.get("onError"))
        require_digest = digest.require_digest(spec)
        runtime_check = runtime.runtime_check(spec)
    except errors.PolicyError as e:
        return _broken(key, e.reason, e.message, mode=mode)
    try:
        authorities = _authorities(
            spec.get("authorities"),
            secrets=secrets,
            default_namespace=key.namespace or home_namespace,
            own_namespace=key.namespace,
            trust_roots=trust_roots,
        )
        count = _require_count(spec.get("require"), len(authorities))
        scan = scan_.parse_scan(
            spec.get("scan"),
            authorities=lambda raw: _authorities(
                raw,
                secrets=secrets,
                default_namespace=key.namespace or home_namespace,
                own_namespace=key.namespace,
                where="scan.attestations.authorities",
            ),
        )
        known_bad = scan_.parse_known_bad(
            spec.get("knownBad"),
            configmaps=configmaps,
            default_namespace=key.namespace or home_namespace,
            own_namespace=key.namespace,
        )
        attestations = attestations_.parse_attestations(
            spec.get("attestations"),
            authorities=authorities,
            configmaps=configmaps,
            namespace=key.namespace or home_namespace,
            inline=lambda raw, where: _authorities(
                raw,
                secrets=secrets,
                default_namespace=key.namespace or home_namespace,
                own_namespace=key.namespace,
                where=where,
            ),
        )
        sources = sources_.parse_sources(
            spec.get("sources"),
            secrets=secrets,
            home_namespace=home_namespace,
            own_namespace=key.namespace,
        )
    except errors.PolicyError as e:
        return policy.Policy(
            key=key,
            mode=mode,
            match=match_,
            globs=globs,
            authorities=(),
            on_error=on_error,
            require_digest=require_digest,
            runtime_check=runtime_check,
            error_reason=e.reason,
            error_message=e.message,
        )
    return policy.Policy(
        key=key,
        mode=mode,
        match=match_,
        globs=globs,
        authorities=authorities,
        require_count=count,
        on_error=on_error,
        scan=scan,
        known_bad=known_bad,
        attestations=attestations,
        require_digest=require_digest,
        runtime_check=runtime_check,
        sources=sources,
    )


def _policy_key(obj: Mapping[str, Any]) -> policy.PolicyKey:
    metadata = obj.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    kind = str(obj.get("kind", CLUSTER_KIND))
    namespace = metadata.get("namespace") if kind == NAMESPACED_KIND else None
    generation = metadata.get("generation")
    return policy.PolicyKey(
        kind=kind,
        namespace=str(namespace) if namespace else None,
        name=str(metadata.get("name", "")),
        uid=str(metadata.get("uid", "")),
        generation=generation if isinstance(generation, int) else 0,
    )


def _broken(
    key: policy.PolicyKey, reason: str, message: str, *, mode: policy.Mode = policy.Mode.ENFORCE
) -> policy.Policy:
    return policy.Policy(
        key=key,
        mode=mode,
        match=policy.Match(),
        globs=(),
        authorities=(),
        error_reason=reason,
        error_message=message,
    )


def _match(raw: Any) -> policy.Match:
    if raw is None:
        return policy.Match()
    if not isinstance(raw, Mapping):
        raise errors.PolicyError("match must be an object", reason="InvalidSpec")
    kinds = raw.get("kinds") or []
    if not isinstance(kinds, list) or not all(isinstance(k, str) and k for k in kinds):
        raise errors.PolicyError("match.kinds must be a list of kind names", reason="InvalidSpec")
    return policy.Match(
        namespace_selector=_selector(raw.get("namespaceSelector"), "match.namespaceSelector"),
        object_selector=_selector(raw.get("objectSelector"), "match.objectSelector"),
        kinds=tuple(kinds),
    )


def _selector(raw: Any, where: str) -> policy.LabelSelector | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise errors.PolicyError(f"{where} must be a LabelSelector", reason="InvalidSpec")
    labels = raw.get("matchLabels") or {}
    if not isinstance(labels, Mapping):
        raise errors.PolicyError(f"{where}.matchLabels must be a map", reason="InvalidSpec")
    requirements = []
    for i, expr in enumerate(raw.get("matchExpressions") or []):
        try:
            op = policy.Operator(expr.get("operator"))
            key = expr["key"]
            values = tuple(str(v) for v in expr.get("values") or [])
        except (AttributeError, KeyError, ValueError, TypeError):
            raise errors.PolicyError(
                f"{where}.matchExpressions[{i}] needs a key and an operator "
                "In, NotIn, Exists or DoesNotExist",
                reason="InvalidSpec",
            ) from None
        if op in (policy.Operator.IN, policy.Operator.NOT_IN) and not values:
            raise errors.PolicyError(
                f"{where}.matchExpressions[{i}]: operator {op} needs values", reason="InvalidSpec"
            )
        requirements.append(policy.Requirement(key=str(key), operator=op, values=values))
    return policy.LabelSelector(
        match_labels=tuple(sorted((str(k), str(v)) for k, v in labels.items())),
        match_expressions=tuple(requirements),
    )


def _globs(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise errors.PolicyError("models must list at least one glob", reason="InvalidSpec")
    globs = []
    for i, item in enumerate(raw):
        glob = item.get("glob") if isinstance(item, Mapping) else None
        if not isinstance(glob, str) or not glob.strip():
            raise errors.PolicyError(
                f"models[{i}].glob must be a non-empty string", reason="InvalidGlob"
            )
        globs_.pattern(glob)
        globs.append(glob.strip())
    return tuple(globs)


def _authorities(
    raw: Any,
    *,
    secrets: SecretReader,
    default_namespace: str,
    own_namespace: str | None,
    trust_roots: keyless.TrustRootReader | None = None,
    where: str = "authorities",
) -> tuple[policy.Authority, ...]:
    if not isinstance(raw, list) or not raw:
        raise errors.PolicyError(f"{where} must list at least one authority", reason="InvalidSpec")
    result: list[policy.Authority] = []
    names: set[str] = set()
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise errors.PolicyError(f"authorities[{i}] needs a name", reason="InvalidSpec")
        name = item["name"]
        if name in names:
            raise errors.PolicyError(f"authority name {name!r} is used twice", reason="InvalidSpec")
        names.add(name)
        kinds = [k for k in ("key", "certificate", "keyless", "static") if k in item]
        if len(kinds) != 1:
            raise errors.PolicyError(
                f"authority {name!r} needs exactly one of key, certificate, keyless or static",
                reason="InvalidSpec",
            )
        if kinds == ["keyless"]:
            result.append(keyless.parse(item["keyless"], name=name, trust_roots=trust_roots))
            continue
        kind = policy.AuthorityType(kinds[0])
        if kind is policy.AuthorityType.STATIC:
            result.append(static.parse_static(item["static"], name))
            continue
        source = item[kind.value]
        inline_field = "data" if kind is policy.AuthorityType.KEY else "chain"
        pem = _material(
            source,
            inline_field=inline_field,
            where=f"authority {name!r}",
            secrets=secrets,
            default_namespace=default_namespace,
            own_namespace=own_namespace,
        )
        if kind is policy.AuthorityType.KEY:
            _check_key(pem, name)
        else:
            _check_chain(pem, name)
        result.append(policy.Authority(name=name, type=kind, pem=pem))
    static.check_alone(tuple(result))
    return tuple(result)


def _material(
    source: Any,
    *,
    inline_field: str,
    where: str,
    secrets: SecretReader,
    default_namespace: str,
    own_namespace: str | None,
) -> bytes:
    if not isinstance(source, Mapping):
        raise errors.PolicyError(f"{where} must be an object", reason="InvalidSpec")
    inline = source.get(inline_field)
    ref = source.get("secretRef")
    if (inline is None) == (ref is None):
        raise errors.PolicyError(
            f"{where} needs exactly one of {inline_field} or secretRef", reason="InvalidSpec"
        )
    if inline is not None:
        if not isinstance(inline, str):
            raise errors.PolicyError(
                f"{where}: {inline_field} must be PEM text", reason="InvalidSpec"
            )
        return inline.encode()
    if not isinstance(ref, Mapping) or not ref.get("name") or not ref.get("key"):
        raise errors.PolicyError(f"{where}: secretRef needs name and key", reason="InvalidSpec")
    namespace = str(ref.get("namespace") or default_namespace)
    if own_namespace is not None and namespace != own_namespace:
        # A namespaced policy must never read another namespace's Secrets.
        raise errors.PolicyError(
            f"{where}: a ModelPolicy may only reference Secrets in its own namespace "
            f"{own_namespace!r}, not {namespace!r}",
            reason="SecretOutOfNamespace",
        )
    return secrets(namespace, str(ref["name"]), str(ref["key"]))


def _check_key(pem: bytes, name: str) -> None:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as e:
        raise errors.PolicyError(
            f"authority {name!r}: key is not a PEM public key ({e})", reason="InvalidKey"
        ) from None
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in SUPPORTED_CURVES:
            raise errors.PolicyError(
                f"authority {name!r}: curve {key.curve.name} is not supported "
                "(use P-256, P-384 or P-521)",
                reason="InvalidKey",
            )
        return
    if isinstance(key, ed25519.Ed25519PublicKey):
        return
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise errors.PolicyError(
                f"authority {name!r}: a {key.key_size}-bit RSA key is too weak "
                f"(use {MIN_RSA_BITS} bits or more)",
                reason="InvalidKey",
            )
        return
    raise errors.PolicyError(
        f"authority {name!r}: {type(key).__name__} keys are not supported "
        "(use ECDSA P-256/P-384/P-521, Ed25519 or RSA)",
        reason="InvalidKey",
    )


def _check_chain(pem: bytes, name: str) -> None:
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError as e:
        raise errors.PolicyError(
            f"authority {name!r}: chain is not PEM certificates ({e})", reason="InvalidCertificate"
        ) from None
    for cert in certs:
        try:
            ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            ca = False
        if not ca:
            raise errors.PolicyError(
                f"authority {name!r}: certificate {cert.subject.rfc4514_string()} "
                "is not a CA certificate",
                reason="InvalidCertificate",
            )


def _require_count(raw: Any, available: int) -> int:
    if raw is None:
        return 1
    count = raw.get("count", 1) if isinstance(raw, Mapping) else None
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise errors.PolicyError("require.count must be a positive integer", reason="InvalidSpec")
    if count > available:
        raise errors.PolicyError(
            f"require.count is {count} but only {available} authorities are listed",
            reason="InvalidSpec",
        )
    return count
