"""ModelVerification records: verdicts as the status of a cluster-scoped object per digest.

Plain conversions between the pipeline's PolicyResults and the record's wire format, with no
API calls. A record is read defensively: an entry of the wrong shape is skipped, never trusted.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from modelward.structs import evidence, policy, refs

GROUP, VERSION, PLURAL, KIND = "modelward.io", "v1alpha1", "modelverifications", "ModelVerification"
DIGEST = re.compile(r"^sha256:([0-9a-f]{64})$")
ORIGIN_LABEL = "modelward.io/origin"
MAX_ENTRIES = 64
MAX_REFERENCES = 32
MAX_FILES = 4096
MAX_MESSAGE = 4096
MAX_ATTESTATIONS = 16


class Verdict:
    VERIFIED = "Verified"
    FAILED = "Failed"
    ERROR = "Error"
    PENDING = "Pending"


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    """One policy's verdict on one digest, as a record holds it."""

    kind: str
    namespace: str | None
    name: str
    uid: str
    generation: int
    revision: str
    passed: bool
    reason: str
    message: str
    authorities: tuple[str, ...]
    signers: tuple[str, ...]
    files: tuple[tuple[str, str], ...]
    ignored: tuple[str, ...]
    checked_at: datetime.datetime
    expires_at: datetime.datetime
    # Predicate types of the attestations the policy required and verified.
    attestations: tuple[str, ...] = ()
    scanned: bool = False

    @property
    def policy_id(self) -> tuple[str, str | None, str]:
        return (self.kind, self.namespace, self.name)

    def answers(self, pol: policy.Policy, now: datetime.datetime) -> bool:
        """Whether this entry stands for `pol`'s verdict now: the same policy object, the same
        revision (keys included), and not expired."""
        return (
            self.policy_id == (pol.key.kind, pol.key.namespace, pol.key.name)
            and self.uid == pol.key.uid
            and self.revision == pol.revision
            and now < self.expires_at
        )

    def result(self, pol: policy.Policy) -> evidence.PolicyResult:
        return evidence.PolicyResult(
            policy=pol.key,
            mode=pol.mode,
            passed=self.passed,
            reason=self.reason,
            message=self.message,
            authorities=self.authorities,
            signers=self.signers,
            on_error=pol.on_error,
            files=self.files,
            ignored=self.ignored,
            attestations=self.attestations,
            scanned=self.scanned,
        )


def record_name(digest: str) -> str:
    """The name of the operator's record for a digest: `sha256-<hex>`."""
    match = DIGEST.match(digest)
    if match is None:
        raise ValueError(f"not a sha256 digest: {digest!r}")
    return f"sha256-{match[1]}"


def timestamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any) -> datetime.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def entry_of(
    pol: policy.Policy,
    result: evidence.PolicyResult,
    *,
    now: datetime.datetime,
    ttl: datetime.timedelta,
) -> Entry:
    return Entry(
        kind=pol.key.kind,
        namespace=pol.key.namespace,
        name=pol.key.name,
        uid=pol.key.uid,
        generation=pol.key.generation,
        revision=pol.revision,
        passed=result.passed,
        reason=result.reason,
        message=result.message[:MAX_MESSAGE],
        authorities=result.authorities,
        signers=result.signers,
        files=result.files[:MAX_FILES],
        ignored=result.ignored,
        checked_at=now,
        expires_at=now + ttl,
        attestations=result.attestations[:MAX_ATTESTATIONS],
        scanned=result.scanned,
    )


def entry_json(entry: Entry) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": entry.kind,
        "name": entry.name,
        "uid": entry.uid,
        "generation": entry.generation,
        "revision": entry.revision,
        "passed": entry.passed,
        "reason": entry.reason,
        "message": entry.message,
        "authorities": list(entry.authorities),
        "signers": list(entry.signers),
        "checkedAt": timestamp(entry.checked_at),
        "expiresAt": timestamp(entry.expires_at),
    }
    if entry.namespace:
        out["namespace"] = entry.namespace
    if entry.files:
        out["files"] = [{"path": p, "sha256": h} for p, h in entry.files]
    if entry.ignored:
        out["ignored"] = list(entry.ignored)
    if entry.attestations:
        out["attestations"] = list(entry.attestations)
    if entry.scanned:
        out["scanned"] = True
    return out


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str))


def _files(value: Any) -> tuple[tuple[str, str], ...] | None:
    if value is None:
        return ()
    if not isinstance(value, list):
        return None
    out = []
    for item in value:
        if not isinstance(item, Mapping):
            return None
        path, sha = item.get("path"), item.get("sha256")
        if (
            not isinstance(path, str)
            or not isinstance(sha, str)
            or not re.fullmatch(r"[0-9a-f]{64}", sha)
        ):
            return None
        out.append((path, sha))
    return tuple(out)


def parse_entry(raw: Any) -> Entry | None:
    """An entry of `status.policies`, or None when any field is missing or of the wrong type."""
    if not isinstance(raw, Mapping):
        return None
    kind, name, uid, revision = (raw.get(k) for k in ("kind", "name", "uid", "revision"))
    namespace = raw.get("namespace")
    passed, reason = raw.get("passed"), raw.get("reason")
    checked, expires = parse_time(raw.get("checkedAt")), parse_time(raw.get("expiresAt"))
    files = _files(raw.get("files"))
    generation = raw.get("generation", 0)
    if (
        kind not in ("ClusterModelPolicy", "ModelPolicy")
        or not all(isinstance(v, str) and v for v in (name, uid, revision, reason))
        or not isinstance(passed, bool)
        or not isinstance(generation, int)
        or (namespace is not None and not isinstance(namespace, str))
        or (kind == "ModelPolicy") != bool(namespace)
        or checked is None
        or expires is None
        or files is None
    ):
        return None
    message = raw.get("message", "")
    return Entry(
        kind=str(kind),
        namespace=namespace or None,
        name=str(name),
        uid=str(uid),
        generation=generation,
        revision=str(revision),
        passed=passed,
        reason=str(reason),
        message=message if isinstance(message, str) else "",
        authorities=_strings(raw.get("authorities")),
        signers=_strings(raw.get("signers")),
        files=files,
        ignored=_strings(raw.get("ignored")),
        checked_at=checked,
        expires_at=expires,
        attestations=_strings(raw.get("attestations"))[:MAX_ATTESTATIONS],
        scanned=raw.get("scanned") is True,
    )


def entries_of(status: Any) -> list[Entry]:
    if not isinstance(status, Mapping) or not isinstance(status.get("policies"), list):
        return []
    return [e for e in map(parse_entry, status["policies"]) if e is not None]


def record_digest(body: Mapping[str, Any]) -> str | None:
    """The digest a record is about: its status's, else its spec's; None when neither is one."""
    for part in ("status", "spec"):
        section = body.get(part)
        value = section.get("digest") if isinstance(section, Mapping) else None
        if isinstance(value, str) and DIGEST.match(value):
            return value
    return None


def merge(
    current: Iterable[Entry],
    new: Iterable[Entry],
    *,
    drop: Iterable[tuple[str, str | None, str]] = (),
) -> list[Entry]:
    """The entries after `new` replaced those of the same policies, without `drop`ped ones;
    the newest first, at most MAX_ENTRIES."""
    gone = set(drop)
    by_policy: dict[tuple[str, str | None, str], Entry] = {}
    for entry in current:
        by_policy[entry.policy_id] = entry
    for entry in new:
        by_policy[entry.policy_id] = entry
    kept = [e for k, e in by_policy.items() if k not in gone]
    kept.sort(key=lambda e: e.checked_at, reverse=True)
    return kept[:MAX_ENTRIES]


def summary(
    entries: Sequence[Entry],
    *,
    now: datetime.datetime,
    error: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The record-level fields: verdict, reason, message, signers, attestations, scan,
    checkedAt, expiresAt."""
    live = [e for e in entries if now < e.expires_at]
    failed = [e for e in live if not e.passed]
    out: dict[str, Any]
    if error is not None:
        out = {"verdict": Verdict.ERROR, "reason": error[0], "message": error[1][:MAX_MESSAGE]}
    elif failed:
        first = failed[0]
        where = f"{first.kind} {first.namespace + '/' if first.namespace else ''}{first.name}"
        out = {
            "verdict": Verdict.FAILED,
            "reason": first.reason,
            "message": f"{where}: {first.message}"[:MAX_MESSAGE],
        }
    elif live:
        out = {"verdict": Verdict.VERIFIED, "reason": "Verified", "message": ""}
    else:
        out = {"verdict": Verdict.PENDING, "reason": "NotChecked", "message": ""}
    signers: list[str] = []
    for entry in live:
        signers.extend(s for s in entry.signers if entry.passed and s not in signers)
    out["signers"] = signers[:32]
    attested: list[str] = []
    for entry in live:
        attested.extend(t for t in entry.attestations if entry.passed and t not in attested)
    out["attestations"] = attested[:32]
    scanned = [e for e in live if e.scanned]
    if scanned:
        # A content verdict: the first scan that failed, else the scans all passed.
        bad = next((e for e in scanned if not e.passed), None)
        out["scan"] = {
            "scanned": True,
            "passed": bad is None,
            "reason": bad.reason if bad is not None else "NoBlockingFinding",
        }
    if live:
        out["checkedAt"] = timestamp(max(e.checked_at for e in live))
        out["expiresAt"] = timestamp(min(e.expires_at for e in live))
    else:
        out["checkedAt"] = timestamp(now)
    return out


def references(previous: Any, uri: str | None) -> list[str]:
    """The references seen resolving to a record's digest, the latest first, bounded."""
    seen = [r for r in previous if isinstance(r, str)] if isinstance(previous, list) else []
    if uri:
        seen = [uri] + [r for r in seen if r != uri]
    return seen[:MAX_REFERENCES]


def status(
    *,
    previous: Mapping[str, Any] | None,
    digest: str | None,
    pinned: refs.PinnedRef | None,
    entries: Sequence[Entry],
    now: datetime.datetime,
    generation: int | None = None,
    error: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The whole status to write (a merge patch replaces lists whole)."""
    previous = previous or {}
    out: dict[str, Any] = {
        "policies": [entry_json(e) for e in entries],
        "references": references(
            previous.get("references"), pinned.ref.uri if pinned is not None else None
        ),
        **summary(entries, now=now, error=error),
    }
    if digest is not None:
        out["digest"] = digest
    pinned_uri = pinned.pinned_uri if pinned is not None else previous.get("pinnedRef")
    if isinstance(pinned_uri, str):
        out["pinnedRef"] = pinned_uri
    if generation is not None:
        out["observedGeneration"] = generation
    elif isinstance(previous.get("observedGeneration"), int):
        out["observedGeneration"] = previous["observedGeneration"]
    out["conditions"] = [_condition(out, previous, now)]
    return out


def _condition(
    out: Mapping[str, Any], previous: Mapping[str, Any], now: datetime.datetime
) -> dict[str, Any]:
    ok = out["verdict"] == Verdict.VERIFIED
    state = "True" if ok else ("Unknown" if out["verdict"] == Verdict.PENDING else "False")
    since = timestamp(now)
    for old in previous.get("conditions") or ():
        if (
            isinstance(old, Mapping)
            and old.get("type") == "Verified"
            and old.get("status") == state
            and isinstance(old.get("lastTransitionTime"), str)
        ):
            since = old["lastTransitionTime"]
    return {
        "type": "Verified",
        "status": state,
        "reason": out["reason"],
        "message": out["message"] or "every policy that checked the model passed it",
        "lastTransitionTime": since,
    }
