"""Signed scan attestations: an in-toto Statement about a model's files with the scanner's
findings as predicate, in a DSSE envelope inside a Sigstore bundle, signed with
model_signing's machinery and verified as any in-toto attestation is (trust/intoto.py)."""

from __future__ import annotations

import dataclasses
import datetime
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

from in_toto_attestation.v1 import resource_descriptor, statement
from model_signing._signing import sign_ec_key

import modelward
from modelward import errors
from modelward.scanners.base import Finding, Location, Severity
from modelward.structs import policy, scanning
from modelward.trust import intoto

PREDICATE_TYPE = "https://modelward.io/scan/v1"
WHAT = "the scan attestation"
CLOCK_SKEW = datetime.timedelta(minutes=5)
MAX_FINDINGS = 10_000


@dataclasses.dataclass(frozen=True, slots=True)
class Attested:
    """A verified scan attestation: who signed it, when the scan ran, what it found."""

    authority: str
    scanned_at: datetime.datetime
    findings: tuple[Finding, ...]


def build_statement(
    findings: Sequence[Finding],
    files: Mapping[str, str],
    *,
    name: str,
    digest: str | None,
    now: datetime.datetime,
) -> statement.Statement:
    """The Statement: subjects are the model's files (and its digest when given)."""
    subjects = [
        resource_descriptor.ResourceDescriptor(name=path, digest={"sha256": hexdigest}).pb
        for path, hexdigest in sorted(files.items())
    ]
    if digest:
        algorithm, _, value = digest.partition(":")
        subjects.insert(
            0, resource_descriptor.ResourceDescriptor(name=name, digest={algorithm: value}).pb
        )
    predicate = {
        "scanner": {"name": "modelward", "version": modelward.__version__},
        "scannedAt": now.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
        "findings": [_finding_json(f) for f in findings],
    }
    return statement.Statement(subjects, PREDICATE_TYPE, predicate)


def _finding_json(f: Finding) -> dict[str, Any]:
    location = {k: v for k, v in dataclasses.asdict(f.location).items() if v is not None}
    return {
        "rule": f.rule,
        "severity": f.severity.label,
        "location": location,
        "message": f.message,
    }


class _Payload:
    """What model_signing's signers sign: an object with an in-toto `statement`."""

    def __init__(self, stmt: statement.Statement) -> None:
        self.statement = stmt


def sign(stmt: statement.Statement, key_path: pathlib.Path, out: pathlib.Path) -> None:
    """Sign with an EC private key (PEM) into a Sigstore bundle at `out`."""
    try:
        signer = sign_ec_key.Signer(key_path)
    except (ValueError, TypeError, OSError) as e:
        raise errors.InputError(f"{key_path}: not a usable EC private key ({e})") from None
    signer.sign(_Payload(stmt)).write(out)  # type: ignore[arg-type]


def verify(
    path: pathlib.Path,
    authority: policy.Authority,
    *,
    digest: str,
    files: Mapping[str, str],
    max_age: datetime.timedelta,
    now: datetime.datetime,
) -> Attested:
    """Verify one bundle as a scan attestation for this model; raise VerificationFailed."""
    stmt = intoto.statement(path, authority, WHAT)
    if stmt.get("predicateType") != PREDICATE_TYPE:
        raise _invalid(f"the statement's predicate type is not {PREDICATE_TYPE}")
    intoto.check_subject(stmt.get("subject"), digest, files, WHAT)
    predicate = stmt.get("predicate")
    if not isinstance(predicate, dict):
        raise _invalid("the statement has no predicate")
    scanned_at = _time(predicate.get("scannedAt"))
    if scanned_at > now + CLOCK_SKEW:
        raise _invalid(
            f"the scan is dated in the future ({scanned_at.isoformat()})", "AttestationTooOld"
        )
    if now - scanned_at > max_age:
        raise _invalid(
            f"the scan from {scanned_at.isoformat()} is older than the policy's maxAge ({max_age})",
            "AttestationTooOld",
        )
    return Attested(authority.name, scanned_at, _findings(predicate.get("findings")))


_invalid = intoto.invalid


def _time(raw: Any) -> datetime.datetime:
    try:
        value = datetime.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise _invalid(f"scannedAt {raw!r} is not an RFC 3339 time") from None
    if value.tzinfo is None:
        raise _invalid("scannedAt has no time zone")
    return value


def _findings(raw: Any) -> tuple[Finding, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_FINDINGS:
        raise _invalid("the predicate's findings are not a list")
    out = []
    for item in raw:
        try:
            loc = item.get("location") or {}
            out.append(
                Finding(
                    rule=str(item["rule"]),
                    severity=Severity.parse(str(item["severity"])),
                    location=Location(
                        file=str(loc.get("file", "")),
                        offset=int(loc["offset"]) if loc.get("offset") is not None else None,
                        opcode=loc.get("opcode"),
                        name=loc.get("name"),
                    ),
                    message=str(item.get("message", "")),
                )
            )
        except (KeyError, ValueError, TypeError, AttributeError):
            raise _invalid("a finding in the predicate is malformed") from None
    return tuple(out)


def find(
    paths: Sequence[pathlib.Path],
    settings: scanning.Attestations,
    digest: str,
    files: Mapping[str, str],
    now: datetime.datetime | None = None,
) -> Attested | None:
    """The first bundle that is a valid scan attestation for this model from a trusted
    authority, or None (the model is then scanned)."""
    when = now or datetime.datetime.now(datetime.UTC)
    age = datetime.timedelta(seconds=settings.max_age_seconds)
    for path in paths:
        for authority in settings.authorities:
            try:
                return verify(path, authority, digest=digest, files=files, max_age=age, now=when)
            except errors.ModelwardError:
                continue
    return None
