"""Parse a policy's `spec.sources`: egress allowances, the Hugging Face endpoint, object-store
endpoints and the Secrets holding their credentials.

Only a ClusterModelPolicy may open addresses that modelward refuses by default: a namespace's
own ModelPolicy could otherwise point modelward at the node's metadata service. A ModelPolicy
may only name Secrets of its own namespace, a ClusterModelPolicy only Secrets of modelward's own
namespace: a workload can never make modelward use another namespace's keys.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from modelward import errors, netrules
from modelward.structs import access

# (namespace, name, key) -> the Secret's decoded value; raises PolicyError when unreadable.
SecretReader = Callable[[str, str, str], bytes]

# The Secret keys read per scheme: (required, optional).
SECRET_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "s3": (("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), ("AWS_SESSION_TOKEN",)),
    # A bearer token or a service-account key JSON (sources/gcs_auth.py); at least one.
    "gs": ((), ("token", "key.json", "gcloud-application-credentials.json")),
}
# Policy field per scheme for endpoint settings.
ENDPOINT_FIELDS = {"s3": "s3", "gs": "gcs"}
REGION = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def parse_sources(
    raw: Any,
    *,
    secrets: SecretReader,
    home_namespace: str,
    own_namespace: str | None,
) -> access.SourceAccess:
    """`spec.sources` as a SourceAccess; a PolicyError names the first problem.

    `own_namespace` is a ModelPolicy's namespace, None for a ClusterModelPolicy.
    """
    if raw is None:
        return access.SourceAccess()
    if not isinstance(raw, Mapping):
        raise errors.PolicyError("sources must be an object", reason="InvalidSpec")
    allow = _allow(raw.get("allow"), namespaced=own_namespace is not None)
    hf_endpoint = _hf_endpoint(raw.get("hf"))
    endpoints = []
    for scheme, field in ENDPOINT_FIELDS.items():
        if raw.get(field) is not None:
            endpoints.append((scheme, _endpoint(raw[field], f"sources.{field}")))
    return access.SourceAccess(
        allow=allow,
        hf_endpoint=hf_endpoint,
        endpoints=tuple(endpoints),
        credentials=_credentials(
            raw.get("credentials"),
            secrets=secrets,
            namespace=own_namespace or home_namespace,
            namespaced=own_namespace is not None,
        ),
    )


def _allow(raw: Any, *, namespaced: bool) -> netrules.Allowance:
    entries = raw or []
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        raise errors.PolicyError(
            "sources.allow must be a list of CIDRs or host names", reason="InvalidSpec"
        )
    if entries and namespaced:
        raise errors.PolicyError(
            "sources.allow is only honoured in a ClusterModelPolicy",
            reason="InvalidSpec",
            hint="Ask a cluster administrator to allow the address in a ClusterModelPolicy",
        )
    try:
        return netrules.parse_allowance(entries, what="sources.allow")
    except errors.InputError as e:
        raise errors.PolicyError(e.message, reason="InvalidSpec") from None


def _hf_endpoint(raw: Any) -> str | None:
    if raw is None:
        return None
    endpoint = raw.get("endpoint") if isinstance(raw, Mapping) else None
    if endpoint is None:
        return None
    parsed = urllib.parse.urlsplit(endpoint) if isinstance(endpoint, str) else None
    if (
        parsed is None
        or parsed.scheme not in ("https", "http")
        or not parsed.hostname
        or parsed.query
        or parsed.fragment
    ):
        raise errors.PolicyError(
            f"sources.hf.endpoint {endpoint!r} must be an http(s) URL without query",
            reason="InvalidSpec",
        )
    return str(endpoint).rstrip("/")


def _endpoint(raw: Any, where: str) -> access.Endpoint:
    if not isinstance(raw, Mapping):
        raise errors.PolicyError(f"{where} must be an object", reason="InvalidSpec")
    url = raw.get("endpoint")
    if url is not None:
        url = _url(url, where)
    region = raw.get("region")
    if region is not None and (not isinstance(region, str) or not REGION.match(region)):
        raise errors.PolicyError(
            f"{where}.region must be a region name such as us-east-1", reason="InvalidSpec"
        )
    path_style = raw.get("forcePathStyle")
    if path_style is not None and not isinstance(path_style, bool):
        raise errors.PolicyError(
            f"{where}.forcePathStyle must be true or false", reason="InvalidSpec"
        )
    return access.Endpoint(url=url, region=region, force_path_style=path_style)


def _url(raw: Any, where: str) -> str:
    parsed = urllib.parse.urlsplit(raw) if isinstance(raw, str) else None
    if (
        parsed is None
        or parsed.scheme not in ("http", "https")
        or not parsed.hostname
        or parsed.username is not None
        or parsed.query
        or parsed.fragment
        or parsed.path not in ("", "/")
    ):
        raise errors.PolicyError(
            f"{where}.endpoint must be an http(s) URL of a host, such as https://minio.storage:9000",
            reason="InvalidSpec",
        )
    return f"{parsed.scheme}://{parsed.netloc}"


def _credentials(
    raw: Any, *, secrets: SecretReader, namespace: str, namespaced: bool
) -> tuple[access.SecretValues, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise errors.PolicyError("sources.credentials must be a list", reason="InvalidSpec")
    found: list[access.SecretValues] = []
    for i, item in enumerate(raw):
        where = f"sources.credentials[{i}]"
        scheme = item.get("scheme") if isinstance(item, Mapping) else None
        if scheme not in SECRET_KEYS:
            raise errors.PolicyError(
                f"{where}.scheme must be one of {', '.join(sorted(SECRET_KEYS))}",
                reason="InvalidSpec",
            )
        if any(c.scheme == scheme for c in found):
            raise errors.PolicyError(
                f"{where}: scheme {scheme} has credentials twice", reason="InvalidSpec"
            )
        ref = item.get("secretRef")
        if not isinstance(ref, Mapping) or not isinstance(ref.get("name"), str) or not ref["name"]:
            raise errors.PolicyError(f"{where}.secretRef needs a name", reason="InvalidSpec")
        wanted = str(ref.get("namespace") or namespace)
        if wanted != namespace:
            who = "a ModelPolicy" if namespaced else "a ClusterModelPolicy"
            raise errors.PolicyError(
                f"{where}: {who} may only use Secrets in namespace {namespace!r}, not {wanted!r}",
                reason="SecretOutOfNamespace",
            )
        found.append(_read(secrets, str(scheme), namespace, ref["name"]))
    return tuple(found)


def _read(secrets: SecretReader, scheme: str, namespace: str, name: str) -> access.SecretValues:
    required, optional = SECRET_KEYS[scheme]
    values = [(key, _text(secrets(namespace, name, key), namespace, name, key)) for key in required]
    for key in optional:
        try:
            values.append((key, _text(secrets(namespace, name, key), namespace, name, key)))
        except errors.PolicyError:
            continue  # the required keys were read: only this optional key is absent
    if not values:
        raise errors.PolicyError(
            f"Secret {namespace}/{name} has none of the keys {', '.join(optional)} that "
            f"scheme {scheme} reads",
            reason="SecretNotFound",
        )
    return access.SecretValues(
        scheme=scheme, origin=f"Secret {namespace}/{name}", values=tuple(values)
    )


def _text(value: bytes, namespace: str, name: str, key: str) -> str:
    try:
        text = value.decode().strip()
    except UnicodeDecodeError:
        text = ""
    if not text:
        raise errors.PolicyError(
            f"Secret {namespace}/{name} key {key!r} is empty or not text", reason="SecretNotFound"
        )
    return text
