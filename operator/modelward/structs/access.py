"""What a policy grants the sources (`spec.sources`): egress allowances, the Hugging Face
endpoint, object-store endpoints and credentials from Secrets."""

from __future__ import annotations

import dataclasses

from modelward import netrules


@dataclasses.dataclass(frozen=True, slots=True)
class Endpoint:
    """Where an object store is reached; `None` fields fall back to the operator's settings."""

    url: str | None = None
    region: str | None = None
    force_path_style: bool | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class SecretValues:
    """The keys of one Secret named by a policy for one scheme.

    `origin` names the Secret (`Secret ns/name`) for messages; the values never appear in a
    repr, a log line or an error.
    """

    scheme: str
    origin: str
    values: tuple[tuple[str, str], ...] = dataclasses.field(repr=False)

    def __repr__(self) -> str:
        keys = sorted(k for k, _ in self.values)
        return f"SecretValues(scheme={self.scheme!r}, origin={self.origin!r}, keys={keys!r})"


@dataclasses.dataclass(frozen=True, slots=True)
class SourceAccess:
    """A policy's `spec.sources`: hosts it allows modelward to reach for the references it
    governs (ClusterModelPolicy only), a Hugging Face endpoint (a private hub mirror), and
    object-store endpoints and credentials per scheme."""

    allow: netrules.Allowance = dataclasses.field(default_factory=netrules.Allowance)
    hf_endpoint: str | None = None
    endpoints: tuple[tuple[str, Endpoint], ...] = ()
    credentials: tuple[SecretValues, ...] = ()

    def endpoint(self, scheme: str) -> Endpoint | None:
        return next((e for s, e in self.endpoints if s == scheme), None)

    def secret(self, scheme: str) -> SecretValues | None:
        return next((c for c in self.credentials if c.scheme == scheme), None)

    def configures(self, scheme: str) -> bool:
        """Whether this policy says anything about how `scheme` is reached."""
        return self.endpoint(scheme) is not None or self.secret(scheme) is not None
