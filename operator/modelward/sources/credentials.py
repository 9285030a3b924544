"""Credential providers: registry logins from dockerconfigjson Secrets, and their composition.

A provider only ever holds what the requesting workload may use; composing providers (pull
secrets for OCI, Secrets named by a policy for buckets) never widens that.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence

from modelward import errors
from modelward.sources import base

DOCKER_CONFIG_KEY = ".dockerconfigjson"
LEGACY_DOCKER_CONFIG_KEY = ".dockercfg"
MAX_CONFIG_BYTES = 1024 * 1024
# Docker Hub's credentials are keyed by its v1 index URL in every docker config.
_DOCKER_HUB_KEYS = ("docker.io", "index.docker.io", "registry-1.docker.io")


def registry_key(server: str) -> str:
    """`https://host:port/v1/` -> `host:port`; the key a docker config entry applies to."""
    server = server.strip().lower()
    server = server.split("://", 1)[-1]
    host = server.split("/", 1)[0]
    return "docker.io" if host in _DOCKER_HUB_KEYS else host


def parse_docker_config(data: bytes, origin: str) -> dict[str, base.Credentials]:
    """Registry host -> username/password from a `.dockerconfigjson` (or `.dockercfg`) value.

    Raises SourceError naming the Secret when the value is not a docker config.
    """
    if len(data) > MAX_CONFIG_BYTES:
        raise errors.SourceError(f"{origin} is larger than 1 MiB", reason="InvalidPullSecret")
    try:
        raw = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise errors.SourceError(f"{origin} is not JSON", reason="InvalidPullSecret") from None
    if not isinstance(raw, Mapping):
        raise errors.SourceError(f"{origin} is not a JSON object", reason="InvalidPullSecret")
    auths = raw.get("auths", raw)  # .dockercfg is the bare `auths` map
    if not isinstance(auths, Mapping):
        raise errors.SourceError(f"{origin}: auths is not an object", reason="InvalidPullSecret")
    out: dict[str, base.Credentials] = {}
    for server, entry in auths.items():
        login = _login(entry) if isinstance(entry, Mapping) else None
        if login is not None:
            username, password = login
            out.setdefault(
                registry_key(str(server)),
                base.Credentials({"username": username, "password": password}, origin),
            )
    return out


def _login(entry: Mapping[str, object]) -> tuple[str, str] | None:
    username, password = entry.get("username"), entry.get("password")
    if isinstance(username, str) and isinstance(password, str) and username:
        return username, password
    auth = entry.get("auth")
    if not isinstance(auth, str):
        return None
    try:
        decoded = base64.b64decode(auth, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, secret = decoded.partition(":")
    return (user, secret) if sep and user else None


class DockerConfigProvider:
    """Registry logins from docker configs, first Secret first (the kubelet's order)."""

    def __init__(self, configs: Sequence[Mapping[str, base.Credentials]]) -> None:
        self._configs = list(configs)

    async def lookup(self, scheme: str, host: str) -> base.Credentials | None:
        if scheme != "oci":
            return None
        key = registry_key(host)
        for config in self._configs:
            if key in config:
                return config[key]
        return None


class ChainProvider:
    """The first answer of several providers, in order."""

    def __init__(self, *providers: base.CredentialProvider) -> None:
        self._providers = providers

    async def lookup(self, scheme: str, host: str) -> base.Credentials | None:
        for provider in self._providers:
            found = await provider.lookup(scheme, host)
            if found is not None:
                return found
        return None
