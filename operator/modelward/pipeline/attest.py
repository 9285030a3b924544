"""Check the in-toto attestations a policy requires of a model whose signature passed it:
one per requirement, of its predicate type, signed by one of its authorities, about this
model, young enough, meeting every condition. Needs only the bundles, never the model's bytes."""

from __future__ import annotations

import dataclasses
import datetime
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

from modelward import errors
from modelward.pipeline import predicates, verify
from modelward.structs import attesting, evidence, policy
from modelward.trust import intoto

CLOCK_SKEW = datetime.timedelta(minutes=5)
# Each bundle is verified against each authority: bound the work a crowded registry can cause.
MAX_BUNDLES = 64
HINT = (
    "Attach a Sigstore bundle holding the signed in-toto statement (e.g. made with "
    "`cosign attest --new-bundle-format` or `modelward scan --attest`) as an OCI referrer of "
    "the model's manifest (`oras attach`, `cosign attest`), or publish it next to the model "
    "as a detached signature file"
)


@dataclasses.dataclass(frozen=True, slots=True)
class Opened:
    """A bundle whose signature verified with one authority, and the Statement it holds."""

    authority: str
    statement: dict[str, Any]


def open_all(
    bundles: Sequence[pathlib.Path], authorities: Sequence[policy.Authority]
) -> list[Opened]:
    """Every (bundle, authority) pair that verifies; model signatures among them are
    statements too, of another predicate type."""
    out = []
    for path in bundles[:MAX_BUNDLES]:
        for authority in authorities:
            try:
                out.append(Opened(authority.name, intoto.statement(path, authority, "a bundle")))
            except errors.ModelwardError:
                continue
    return out


def apply(
    pol: policy.Policy,
    signed: evidence.PolicyResult,
    bundles: Sequence[pathlib.Path],
    digest: str,
    files: Mapping[str, str],
    manifests: Sequence[tuple[str, evidence.SignedManifest]],
    now: datetime.datetime | None = None,
) -> evidence.PolicyResult:
    """The policy's result once its required attestations are checked: `signed` with the
    attested predicate types added, or a denial naming the attestation and what failed.

    `manifests` are the verified signatures: the files they cover are what a Statement
    without the model's digest must name."""
    if not pol.attestations:
        return signed
    when = now or datetime.datetime.now(datetime.UTC)
    wanted = {n for r in pol.attestations for n in r.authorities}
    pool = [*pol.authorities, *(a for r in pol.attestations for a in r.inline)]
    opened = open_all(bundles, [a for a in pool if a.name in wanted])
    manifest = next((m for a, m in manifests if a in signed.authorities), None)
    covered = verify.covered(manifest, files) if manifest is not None else dict(files)
    for req in pol.attestations:
        failure = _requirement(req, opened, bundles, digest, covered, when)
        if failure is not None:
            reason, problem = failure
            return dataclasses.replace(
                signed,
                passed=False,
                reason=reason,
                message=f"attestation {req.name!r} ({req.predicate_type}): {problem}",
                files=(),
                ignored=(),
            )
    names = ", ".join(r.name for r in pol.attestations)
    return dataclasses.replace(
        signed,
        message=f"{signed.message}; attestations verified: {names}",
        attestations=tuple(dict.fromkeys(r.predicate_type for r in pol.attestations)),
    )


def _requirement(
    req: attesting.Requirement,
    opened: Sequence[Opened],
    bundles: Sequence[pathlib.Path],
    digest: str,
    files: Mapping[str, str],
    now: datetime.datetime,
) -> tuple[str, str] | None:
    """None when one attestation satisfies the requirement; else (reason, why) for the first."""
    candidates = [
        o
        for o in opened
        if o.authority in req.authorities and o.statement.get("predicateType") == req.predicate_type
    ]
    first: tuple[str, str] | None = None
    for candidate in candidates:
        problem = _candidate(req, candidate, digest, files, now)
        if problem is None:
            return None
        first = first or problem
    if first is not None:
        return first
    trusted = ", ".join(req.authorities)
    if any(intoto.unverified_type(p) == req.predicate_type for p in bundles):
        return (
            "AttestationUntrusted",
            f"an attestation of this type is attached but none is signed by {trusted}. {HINT}",
        )
    return ("AttestationMissing", f"no attestation of this type signed by {trusted}. {HINT}")


def _candidate(
    req: attesting.Requirement,
    found: Opened,
    digest: str,
    files: Mapping[str, str],
    now: datetime.datetime,
) -> tuple[str, str] | None:
    stmt = found.statement
    try:
        intoto.check_subject(stmt.get("subject"), digest, files, "the attestation")
    except errors.VerificationFailed as e:
        return e.reason, f"signed by {found.authority}, but {e.message}"
    predicate = stmt.get("predicate")
    if not isinstance(predicate, dict):
        return "InvalidAttestation", "the statement has no predicate object"
    if req.max_age_seconds is not None:
        problem = _age(req, predicate, now)
        if problem is not None:
            return "AttestationTooOld", problem
    for condition in req.conditions:
        problem = predicates.check(condition, predicate)
        if problem is not None:
            return "AttestationConditionFailed", problem
    return None


def _age(req: attesting.Requirement, predicate: Any, now: datetime.datetime) -> str | None:
    assert req.max_age_seconds is not None
    for path in req.time_paths:
        values, missing = predicates.locate(predicate, path.steps)
        if missing is not None or len(values) != 1 or not isinstance(values[0][1], str):
            continue
        raw = values[0][1]
        try:
            when = datetime.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return f"{path.text} {predicates.show(raw)} is not an RFC 3339 time"
        if when.tzinfo is None:
            return f"{path.text} {predicates.show(raw)} has no time zone"
        if when > now + CLOCK_SKEW:
            return f"{path.text} is in the future ({when.isoformat()})"
        limit = datetime.timedelta(seconds=req.max_age_seconds)
        if now - when > limit:
            return f"made at {when.isoformat()} ({path.text}), older than maxAge {limit}"
        return None
    tried = ", ".join(p.text for p in req.time_paths)
    return f"no time to check maxAge against (looked at {tried}); set timePath"
