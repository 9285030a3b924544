"""What verification found, and the decision made from it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from modelward.structs import policy as policy_
from modelward.structs import refs


@dataclasses.dataclass(frozen=True, slots=True)
class SignedManifest:
    """The content of a verified signature: which files, with which digests, signed by whom.

    `files` maps a POSIX path relative to the model root to a hex digest of `hash_type`.
    """

    files: Mapping[str, str]
    hash_type: str
    method: str
    ignore_paths: tuple[str, ...]
    signer: str


@dataclasses.dataclass(frozen=True, slots=True)
class PolicyResult:
    """The verdict of one policy on one pinned reference."""

    policy: policy_.PolicyKey
    mode: policy_.Mode
    passed: bool
    reason: str
    message: str
    authorities: tuple[str, ...] = ()
    signers: tuple[str, ...] = ()
    on_error: policy_.OnError = policy_.OnError.DENY
    # (namespace/name, owner) of the ModelPolicyException that waived this policy.
    exception: tuple[str, str] | None = None
    # On a pass: the files the signature covers, (path, sha256 hex), and the paths it leaves
    # out; what a runtime check of the mounted model compares against.
    files: tuple[tuple[str, str], ...] = ()
    ignored: tuple[str, ...] = ()
    # On a pass: the predicate types of the attestations verified for the model (the in-toto
    # attestations the policy required, attested scan results).
    attestations: tuple[str, ...] = ()
    # Whether the built-in scan, or a scan attestation, judged the model's content.
    scanned: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class RefResult:
    """Everything decided about one reference in one request.

    `error` holds a reason code and message when the reference could not be evaluated at all
    (unresolvable, source down, deadline); `unmatched` when no policy governs it. `mutable`
    says the reference as written could name other bytes later (a tag); `fast_path` that the
    files were judged by their content-addressed layer digests, without a download.
    """

    ref: refs.ModelRef
    digest: str | None = None
    pinned_uri: str | None = None
    results: tuple[PolicyResult, ...] = ()
    unmatched: bool = False
    error: tuple[str, str] | None = None
    cached: bool = False
    # The strictest onError of the policies governing the reference, for `error`.
    on_error: policy_.OnError = policy_.OnError.DENY
    mutable: bool = False
    fast_path: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one admission request."""

    allowed: bool
    message: str
    warnings: tuple[str, ...]
    refs: tuple[RefResult, ...]
    reason: str = ""
    # Outages admitted because the governing policies' onError is warn or allow.
    tolerated: tuple[str, ...] = ()
