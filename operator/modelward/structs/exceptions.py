"""ModelPolicyExceptions as the pipeline sees them: parsed, with their expiry."""

from __future__ import annotations

import dataclasses
import datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Workloads:
    """Which workloads an exception covers; empty fields do not constrain."""

    kinds: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    match_labels: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class PolicyException:
    """A time-boxed exemption of references in one namespace from named policies."""

    namespace: str
    name: str
    generation: int
    policies: tuple[str, ...]
    globs: tuple[str, ...]
    workloads: Workloads
    owner: str
    reason: str
    expires: datetime.datetime
    error_reason: str = ""
    error_message: str = ""

    @property
    def valid(self) -> bool:
        return not self.error_reason

    def active(self, now: datetime.datetime) -> bool:
        """Valid and not yet expired: only then does it exempt anything."""
        return self.valid and now < self.expires

    @property
    def display(self) -> str:
        return f"{self.namespace}/{self.name}"
