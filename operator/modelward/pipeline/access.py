"""The credentials and endpoints that the policies governing one reference grant its source.

Only governing policies count, and a ModelPolicy governs only its own namespace's objects, so a
workload never reaches another namespace's Secrets. Per scheme, one policy supplies both the
endpoint and the credentials: keys granted by one policy are never sent to an endpoint chosen
by another. The workload's own ModelPolicies come first, then ClusterModelPolicies, by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from modelward.sources import base
from modelward.structs import access, policy


class PolicyAccess:
    """A `base.CredentialProvider` over the governing policies of one reference."""

    def __init__(self, governing: Sequence[policy.Policy]) -> None:
        self._ordered = sorted(
            governing, key=lambda p: (p.key.namespace is None, p.key.namespace or "", p.key.name)
        )

    def _owner(self, scheme: str) -> access.SourceAccess | None:
        return next(
            (p.sources for p in self._ordered if p.ready and p.sources.configures(scheme)), None
        )

    async def lookup(self, scheme: str, host: str) -> base.Credentials | None:
        owner = self._owner(scheme)
        secret = owner.secret(scheme) if owner is not None else None
        if secret is None:
            return None
        return base.Credentials(values=dict(secret.values), origin=secret.origin)

    def endpoints(self, schemes: Sequence[str]) -> Mapping[str, access.Endpoint]:
        """The endpoint each scheme's owning policy sets, if any."""
        found = {}
        for scheme in schemes:
            owner = self._owner(scheme)
            endpoint = owner.endpoint(scheme) if owner is not None else None
            if endpoint is not None:
                found[scheme] = endpoint
        return found
