"""Policies as the pipeline sees them: parsed, validated, with key material loaded."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelward.structs import attesting, scanning

from modelward.structs import access as access_


class Mode(enum.StrEnum):
    """What a failed policy does to the request."""

    ENFORCE = "enforce"
    WARN = "warn"
    AUDIT = "audit"


class OnError(enum.StrEnum):
    """What a policy does when a model cannot be checked at all (outage, timeout), in
    order of strictness."""

    DENY = "deny"
    WARN = "warn"
    ALLOW = "allow"


class Operator(enum.StrEnum):
    """LabelSelector requirement operators."""

    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


@dataclasses.dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: Operator
    values: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class LabelSelector:
    """A Kubernetes LabelSelector; the empty selector matches everything."""

    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[Requirement, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Match:
    """Which objects a policy applies to. `None` selectors mean "not constrained"."""

    namespace_selector: LabelSelector | None = None
    object_selector: LabelSelector | None = None
    kinds: tuple[str, ...] = ()


class AuthorityType(enum.StrEnum):
    KEY = "key"
    CERTIFICATE = "certificate"
    STATIC = "static"
    KEYLESS = "keyless"


class StaticAction(enum.StrEnum):
    """What a static authority does to the references its policy governs, unverified."""

    PASS = "pass"  # noqa: S105 (an action, not a password)
    FAIL = "fail"


@dataclasses.dataclass(frozen=True, slots=True)
class Identity:
    """A keyless signer: OIDC issuer and subject (exact or a full-match regular expression) and
    Fulcio extension claims that must equal the given values."""

    issuer: str = ""
    issuer_regexp: str = ""
    subject: str = ""
    subject_regexp: str = ""
    extensions: tuple[tuple[str, str], ...] = ()
    trust_root: str = ""
    # Demand an RFC 3161 timestamp from the root's timestamp authorities, beyond the
    # transparency-log entry every keyless bundle carries.
    require_signed_timestamp: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Authority:
    """Who may sign: a public key or a CA chain as PEM, or a keyless identity whose `pem` holds
    the trusted_root.json it is verified against; or a static verdict (`action`, with an
    optional `message` for `fail`) and no key at all."""

    name: str
    type: AuthorityType
    pem: bytes
    action: StaticAction | None = None
    message: str = ""
    identity: Identity | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class PolicyKey:
    """Identifies a policy and its generation; part of every verdict cache key."""

    kind: str
    namespace: str | None
    name: str
    uid: str
    generation: int

    @property
    def display(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclasses.dataclass(frozen=True, slots=True)
class Policy:
    """A usable ClusterModelPolicy or ModelPolicy."""

    key: PolicyKey
    mode: Mode
    match: Match
    globs: tuple[str, ...]
    authorities: tuple[Authority, ...]
    require_count: int = 1
    on_error: OnError = OnError.DENY
    # Deny references that could name other bytes tomorrow (tags, branches, plain URLs).
    require_digest: bool = False
    # Verify the mounted model again in the pod, from an init container the mutating webhook adds.
    runtime_check: bool = False
    # Egress allowances, endpoints and credentials for the references it governs (`spec.sources`).
    sources: access_.SourceAccess = dataclasses.field(default_factory=access_.SourceAccess)
    # A policy that failed to load keeps its match and globs so that the references it governs
    # are denied with its problem, never silently admitted.
    error_reason: str = ""
    error_message: str = ""
    scan: scanning.ScanPolicy | None = None
    known_bad: tuple[scanning.KnownBad, ...] = ()
    # In-toto attestations the model must carry (`spec.attestations`).
    attestations: tuple[attesting.Requirement, ...] = ()
    # A fingerprint of everything a verdict depends on. Keys read from Secrets change without
    # a new generation, so cached verdicts are keyed by this too. Computed once: every cached
    # admission looks it up.
    revision: str = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "revision", self._fingerprint())

    def _fingerprint(self) -> str:
        digest = hashlib.sha256()
        flags = f"{self.require_digest:d}{self.runtime_check:d}"
        for part in (self.mode, self.on_error, str(self.require_count), flags, *self.globs):
            digest.update(part.encode() + b"\0")
        for authority in self.authorities:
            digest.update(f"{authority.name}\0{authority.type}\0".encode() + authority.pem + b"\0")
            digest.update(f"{authority.action or ''}\0{authority.message}\0".encode())
            digest.update(repr(authority.identity).encode() + b"\0")
        digest.update(repr((self.scan, self.known_bad, self.attestations)).encode())
        return digest.hexdigest()

    @property
    def static(self) -> Authority | None:
        """The static authority of a policy that passes or fails without verifying, if any."""
        return next((a for a in self.authorities if a.type is AuthorityType.STATIC), None)

    @property
    def needs_content(self) -> bool:
        """True when the policy reads the model's bytes (scanning), not only its signature:
        the digest-bound fast path then steps aside and the model is downloaded."""
        return self.scan is not None

    @property
    def ready(self) -> bool:
        return not self.error_reason

    @property
    def name(self) -> str:
        return self.key.display
