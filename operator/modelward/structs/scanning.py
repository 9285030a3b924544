"""The scan part of a policy: the threshold, exceptions, trusted scan attestations, and
digests that are always denied."""

from __future__ import annotations

import dataclasses

from modelward.scanners.base import Severity
from modelward.structs import policy as policy_


@dataclasses.dataclass(frozen=True, slots=True)
class ScanException:
    """A finding of `rule` that does not deny the model whose digest (or file's) is `digest`."""

    rule: str
    digest: str
    reason: str


@dataclasses.dataclass(frozen=True, slots=True)
class Attestations:
    """Whose signed scan results stand in for a scan, and how old they may be."""

    authorities: tuple[policy_.Authority, ...]
    max_age_seconds: float


@dataclasses.dataclass(frozen=True, slots=True)
class ScanPolicy:
    fail_on: Severity = Severity.HIGH
    exceptions: tuple[ScanException, ...] = ()
    attestations: Attestations | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class KnownBad:
    """A digest that is always denied, with the reason shown to the user."""

    digest: str
    reason: str
