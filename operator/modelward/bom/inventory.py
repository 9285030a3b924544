"""What a BOM lists: models (one per digest, or per unresolved reference) and the workloads
that use them, gathered from pipeline results or from ModelVerification records."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable


class Verdict(enum.StrEnum):
    """A model's verdict; the first four are a ModelVerification's, `Unverified` says that
    nothing verified the reference (no record, no governing policy, or not resolvable)."""

    VERIFIED = "Verified"
    FAILED = "Failed"
    ERROR = "Error"
    PENDING = "Pending"
    UNVERIFIED = "Unverified"


# Worst first: a model seen twice with different verdicts (namespaced policies) shows the worst.
_SEVERITY = (Verdict.ERROR, Verdict.FAILED, Verdict.UNVERIFIED, Verdict.PENDING, Verdict.VERIFIED)


@dataclasses.dataclass(frozen=True, slots=True)
class Workload:
    """An object that references models: `apps/Deployment ml/bert`."""

    kind: str
    namespace: str | None
    name: str

    @property
    def display(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


@dataclasses.dataclass(frozen=True, slots=True)
class Use:
    """One reference to a model in one workload, at one field."""

    workload: Workload
    field_path: str
    uri: str


@dataclasses.dataclass(frozen=True, slots=True)
class PolicyVerdict:
    """One policy's verdict on the model."""

    policy: str  # `ClusterModelPolicy/name`, `ModelPolicy/namespace/name`
    passed: bool
    reason: str
    message: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Scan:
    """The built-in scan (or a trusted scan attestation) of the model's files."""

    scanned: bool
    passed: bool
    reason: str


@dataclasses.dataclass(frozen=True, slots=True)
class Facts:
    """What is known about the model one reference names."""

    digest: str | None
    pinned_uri: str | None
    verdict: Verdict
    reason: str = ""
    message: str = ""
    signers: tuple[str, ...] = ()
    attestations: tuple[str, ...] = ()
    scan: Scan | None = None
    policies: tuple[PolicyVerdict, ...] = ()
    # (path, sha256 hex) of the files the signature covers.
    files: tuple[tuple[str, str], ...] = ()
    checked_at: str = ""
    expires_at: str = ""
    # Other references known to name the same digest (a record's `status.references`).
    references: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Model:
    """One BOM component: a model by digest, or an unresolved reference."""

    key: str
    facts: Facts
    references: tuple[str, ...]
    uses: tuple[Use, ...]


def model_key(uri: str, digest: str | None) -> str:
    """Models are identified by digest; an unresolved reference stands for itself."""
    return digest or f"unresolved:{uri}"


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _merge(a: Facts, b: Facts) -> Facts:
    worst = min(a, b, key=lambda f: _SEVERITY.index(f.verdict))
    policies = {p.policy: p for p in a.policies + b.policies}
    return dataclasses.replace(
        worst,
        signers=_unique(a.signers + b.signers),
        attestations=_unique(a.attestations + b.attestations),
        references=_unique(a.references + b.references),
        policies=tuple(sorted(policies.values(), key=lambda p: p.policy)),
        files=tuple(sorted(set(a.files) | set(b.files))),
    )


def group(sightings: Iterable[tuple[Use | None, Facts]]) -> list[Model]:
    """One Model per digest (or unresolved reference), with every reference and use of it,
    in the order first seen. A sighting without a use is a model no workload references."""
    facts: dict[str, Facts] = {}
    references: dict[str, list[str]] = {}
    uses: dict[str, list[Use]] = {}
    for use, fact in sightings:
        uri = use.uri if use is not None else fact.pinned_uri or ""
        key = model_key(uri, fact.digest)
        facts[key] = _merge(facts[key], fact) if key in facts else fact
        references.setdefault(key, [])
        uses.setdefault(key, [])
        if use is not None:
            references[key].append(use.uri)
            if use not in uses[key]:
                uses[key].append(use)
    return [
        Model(
            key,
            facts[key],
            _unique(references[key] + list(facts[key].references)),
            tuple(uses[key]),
        )
        for key in facts
    ]
