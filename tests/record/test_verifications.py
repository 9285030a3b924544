"""ModelVerification wire format: entries round-trip, hostile entries are skipped, the summary
says what failed, and an entry stands only for the same policy, revision and time."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest

from modelward.record import verifications
from modelward.structs import evidence, policy, refs

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)
TTL = datetime.timedelta(hours=24)
DIGEST = "sha256:" + "ab" * 32


def make_policy(name: str = "require-signed", uid: str = "u1", **kw: Any) -> policy.Policy:
    key = policy.PolicyKey("ClusterModelPolicy", None, name, uid, 1)
    return policy.Policy(
        key=key,
        mode=policy.Mode.ENFORCE,
        match=policy.Match(),
        globs=kw.pop("globs", ("oci://reg/**",)),
        authorities=kw.pop(
            "authorities", (policy.Authority("ml", policy.AuthorityType.KEY, b"pem-1"),)
        ),
        **kw,
    )


def passed(pol: policy.Policy, **kw: Any) -> evidence.PolicyResult:
    return evidence.PolicyResult(
        policy=pol.key,
        mode=pol.mode,
        passed=True,
        reason="Verified",
        message="signature verified",
        authorities=("ml",),
        signers=("key:ml",),
        **kw,
    )


def test_an_entry_round_trips_through_json() -> None:
    pol = make_policy()
    result = passed(
        pol,
        files=(("model.bin", "cd" * 32),),
        ignored=("README.md",),
        attestations=("https://slsa.dev/provenance/v1",),
    )
    entry = verifications.entry_of(pol, result, now=NOW, ttl=TTL)
    parsed = verifications.parse_entry(verifications.entry_json(entry))
    assert parsed == entry
    assert parsed.result(pol) == dataclasses.replace(result, on_error=pol.on_error)


def test_the_summary_lists_the_attested_predicate_types() -> None:
    slsa, data = "https://slsa.dev/provenance/v1", "https://modelward.io/training-data/v1"
    a, b, c = make_policy("a", "ua"), make_policy("b", "ub"), make_policy("c", "uc")
    entries = [
        verifications.entry_of(a, passed(a, attestations=(slsa,)), now=NOW, ttl=TTL),
        verifications.entry_of(b, passed(b, attestations=(slsa, data)), now=NOW, ttl=TTL),
        verifications.entry_of(
            c, dataclasses.replace(passed(c), passed=False, reason="X"), now=NOW, ttl=TTL
        ),
    ]
    assert verifications.summary(entries, now=NOW)["attestations"] == [slsa, data]


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "Pod"},
        {"name": ""},
        {"uid": 7},
        {"passed": "true"},
        {"revision": None},
        {"checkedAt": "yesterday"},
        {"expiresAt": "2026-12-01T00:00:00"},  # no zone: not comparable, not trusted
        {"files": [{"path": "a", "sha256": "xyz"}]},
        {"files": "model.bin"},
        {"namespace": "ml"},  # a cluster policy with a namespace
        {"generation": "1"},
    ],
)
def test_a_malformed_entry_is_skipped(change: dict[str, Any]) -> None:
    pol = make_policy()
    good = verifications.entry_json(verifications.entry_of(pol, passed(pol), now=NOW, ttl=TTL))
    assert verifications.parse_entry(good) is not None
    assert verifications.parse_entry({**good, **change}) is None
    assert verifications.entries_of({"policies": [{**good, **change}, good]}) == [
        verifications.parse_entry(good)
    ]


@pytest.mark.parametrize(
    ("other", "at", "stands"),
    [
        (make_policy(), NOW, True),
        (make_policy(uid="u2"), NOW, False),  # deleted and created again
        (make_policy(name="another"), NOW, False),
        (make_policy(require_digest=True), NOW, False),  # a new revision
        (
            make_policy(authorities=(policy.Authority("ml", policy.AuthorityType.KEY, b"pem-2"),)),
            NOW,
            False,
        ),  # a rotated key: the same generation can carry it (Secrets)
        (make_policy(), NOW + TTL, False),  # expired
    ],
)
def test_an_entry_answers_only_for_the_same_policy_revision_and_time(
    other: policy.Policy, at: datetime.datetime, stands: bool
) -> None:
    pol = make_policy()
    entry = verifications.entry_of(pol, passed(pol), now=NOW, ttl=TTL)
    assert entry.answers(other, at) is stands


def test_the_summary_names_the_failing_policy() -> None:
    good, bad = make_policy("a"), make_policy("b", uid="u2")
    failure = evidence.PolicyResult(
        policy=bad.key,
        mode=bad.mode,
        passed=False,
        reason="UntrustedSigner",
        message="signed by an unknown key",
    )
    entries = [
        verifications.entry_of(good, passed(good), now=NOW, ttl=TTL),
        verifications.entry_of(bad, failure, now=NOW, ttl=TTL),
    ]
    out = verifications.summary(entries, now=NOW)
    assert out["verdict"] == "Failed"
    assert out["reason"] == "UntrustedSigner"
    assert out["message"] == "ClusterModelPolicy b: signed by an unknown key"
    assert out["signers"] == ["key:ml"]
    assert verifications.summary(entries[:1], now=NOW)["verdict"] == "Verified"
    assert verifications.summary(entries[:1], now=NOW + TTL)["verdict"] == "Pending"
    error = verifications.summary(entries, now=NOW, error=("DigestMismatch", "x"))
    assert error["verdict"] == "Error"


def test_merge_replaces_per_policy_drops_and_bounds() -> None:
    pols = [make_policy(f"p{i}", uid=f"u{i}") for i in range(verifications.MAX_ENTRIES + 5)]
    old = [
        verifications.entry_of(p, passed(p), now=NOW - datetime.timedelta(minutes=i), ttl=TTL)
        for i, p in enumerate(pols)
    ]
    newer = verifications.entry_of(pols[-1], passed(pols[-1]), now=NOW, ttl=TTL)
    merged = verifications.merge(old, [newer], drop=[("ClusterModelPolicy", None, "p0")])
    assert len(merged) == verifications.MAX_ENTRIES
    assert merged[0] == newer
    assert all(e.name != "p0" for e in merged)


def test_status_keeps_the_transition_time_while_the_verdict_holds() -> None:
    pol = make_policy()
    entries = [verifications.entry_of(pol, passed(pol), now=NOW, ttl=TTL)]
    pinned = refs.PinnedRef(
        refs.ModelRef("oci://reg/m:v1", "spec.ref"), DIGEST, f"oci://reg/m@{DIGEST}"
    )
    first = verifications.status(
        previous=None, digest=DIGEST, pinned=pinned, entries=entries, now=NOW
    )
    later = NOW + datetime.timedelta(hours=1)
    again = verifications.status(
        previous=first, digest=DIGEST, pinned=None, entries=entries, now=later
    )
    assert first["conditions"][0]["status"] == "True"
    assert (
        again["conditions"][0]["lastTransitionTime"] == first["conditions"][0]["lastTransitionTime"]
    )
    assert again["pinnedRef"] == f"oci://reg/m@{DIGEST}"
    assert again["references"] == ["oci://reg/m:v1"]


def test_references_are_latest_first_and_bounded() -> None:
    seen: list[str] = []
    for i in range(verifications.MAX_REFERENCES + 3):
        seen = verifications.references(seen, f"oci://reg/m:{i}")
    seen = verifications.references(seen, "oci://reg/m:5")
    assert len(seen) == verifications.MAX_REFERENCES
    assert seen[0] == "oci://reg/m:5"
    assert seen.count("oci://reg/m:5") == 1


@pytest.mark.parametrize("digest", ["sha256:abc", "sha512:" + "a" * 128, "sha256:" + "A" * 64])
def test_record_names_need_a_sha256_digest(digest: str) -> None:
    with pytest.raises(ValueError, match="not a sha256 digest"):
        verifications.record_name(digest)
    assert verifications.record_name(DIGEST) == "sha256-" + "ab" * 32


def test_the_scan_summary_names_the_first_failing_scan() -> None:
    clean, flagged, unscanned = make_policy("a"), make_policy("b", uid="u2"), make_policy("c")
    finding = evidence.PolicyResult(
        policy=flagged.key,
        mode=flagged.mode,
        passed=False,
        reason="ScanFinding",
        message="the scan found 1 finding(s) at or above high",
        scanned=True,
    )
    entries = [
        verifications.entry_of(clean, passed(clean, scanned=True), now=NOW, ttl=TTL),
        verifications.entry_of(flagged, finding, now=NOW, ttl=TTL),
        verifications.entry_of(unscanned, passed(unscanned), now=NOW, ttl=TTL),
    ]
    out = verifications.summary(entries, now=NOW)
    assert out["scan"] == {"scanned": True, "passed": False, "reason": "ScanFinding"}
    assert "scan" not in verifications.summary(entries[2:], now=NOW)
    # The flag survives the wire format.
    assert verifications.parse_entry(verifications.entry_json(entries[1])) == entries[1]
