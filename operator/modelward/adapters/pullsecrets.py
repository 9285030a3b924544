"""Registry credentials of the workload under admission: its pod's and its service account's
`imagePullSecrets`, read from the request's namespace only, and only when a registry asks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from modelward import errors
from modelward.adapters import kube
from modelward.pipeline import pullsecrets
from modelward.sources import base, credentials
from modelward.structs import context

logger = logging.getLogger(__name__)

SecretReader = Callable[[str, str], Mapping[str, bytes] | None]
AccountReader = Callable[[str, str], list[str]]
MAX_PULL_SECRETS = 32


def load(
    namespace: str,
    refs: pullsecrets.PullSecretRefs,
    *,
    read_secret: SecretReader = kube.read_secret_data,
    read_account: AccountReader = kube.service_account_pull_secrets,
) -> list[dict[str, base.Credentials]]:
    """The docker configs of the pod's pull Secrets, then its service account's, in order.

    Missing or malformed Secrets are skipped, as the kubelet skips them.
    """
    names = list(refs.secrets)
    for name in read_account(namespace, refs.service_account):
        if name not in names:
            names.append(name)
    configs = []
    for name in names[:MAX_PULL_SECRETS]:
        data = read_secret(namespace, name)
        raw = (data or {}).get(credentials.DOCKER_CONFIG_KEY) or (data or {}).get(
            credentials.LEGACY_DOCKER_CONFIG_KEY
        )
        if raw is None:
            logger.warning("pull secret skipped", extra={"secret": f"{namespace}/{name}"})
            continue
        try:
            configs.append(credentials.parse_docker_config(raw, f"Secret {namespace}/{name}"))
        except errors.SourceError as e:
            logger.warning(
                "pull secret skipped", extra={"secret": f"{namespace}/{name}", "error": e.message}
            )
    return configs


class PullSecretProvider:
    """Reads the pull Secrets on the first registry lookup and keeps them for the request."""

    def __init__(
        self,
        namespace: str,
        refs: pullsecrets.PullSecretRefs,
        *,
        read_secret: SecretReader = kube.read_secret_data,
        read_account: AccountReader = kube.service_account_pull_secrets,
    ) -> None:
        self._namespace = namespace
        self._refs = refs
        self._readers = (read_secret, read_account)
        self._lock = asyncio.Lock()
        self._loaded: credentials.DockerConfigProvider | None = None

    @property
    def identity(self) -> tuple[str, pullsecrets.PullSecretRefs]:
        """Which credentials this provider can use: the same for every request of a namespace
        that names the same pull Secrets and service account."""
        return self._namespace, self._refs

    async def lookup(self, scheme: str, host: str) -> base.Credentials | None:
        if scheme != "oci":
            return None
        async with self._lock:
            if self._loaded is None:
                read_secret, read_account = self._readers
                configs = await asyncio.to_thread(
                    load,
                    self._namespace,
                    self._refs,
                    read_secret=read_secret,
                    read_account=read_account,
                )
                self._loaded = credentials.DockerConfigProvider(configs)
        return await self._loaded.lookup(scheme, host)


def for_workload(ctx: context.AdmissionContext) -> PullSecretProvider | None:
    """The workload's own pull Secrets, from its namespace only."""
    if not ctx.namespace:
        return None
    return PullSecretProvider(ctx.namespace, pullsecrets.pull_secret_refs(ctx.obj))
