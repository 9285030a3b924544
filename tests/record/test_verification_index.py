"""The record index: lookups by digest across records, passes only, standing entries only."""

from __future__ import annotations

import datetime
from typing import Any

from modelward.record import verification_index, verifications
from modelward.structs import evidence
from tests.record.test_verifications import DIGEST, NOW, TTL, make_policy, passed


def body(name: str, digest: str, entries: list[verifications.Entry], **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "generation": 1, **meta},
        "spec": {"digest": digest},
        "status": {
            "digest": digest,
            "policies": [verifications.entry_json(e) for e in entries],
        },
    }


def test_lookup_finds_a_standing_pass_in_any_record_of_the_digest() -> None:
    pol = make_policy()
    index = verification_index.RecordIndex(clock=lambda: NOW)
    entry = verifications.entry_of(pol, passed(pol), now=NOW, ttl=TTL)
    index.put(body("other", "sha256:" + "cd" * 32, [entry]))
    assert index.lookup(DIGEST, pol) is None
    index.put(body("team-preverified", DIGEST, [entry]))
    found = index.lookup(DIGEST, pol)
    assert found is not None
    assert found.signers == ("key:ml",)
    assert index.hits == 1
    index.remove("team-preverified")
    assert index.lookup(DIGEST, pol) is None


def test_a_failure_never_answers_an_admission() -> None:
    pol = make_policy()
    failure = evidence.PolicyResult(
        policy=pol.key, mode=pol.mode, passed=False, reason="UntrustedSigner", message="no"
    )
    index = verification_index.RecordIndex(clock=lambda: NOW)
    index.put(body("r", DIGEST, [verifications.entry_of(pol, failure, now=NOW, ttl=TTL)]))
    assert index.lookup(DIGEST, pol) is None


def test_an_expired_entry_does_not_answer() -> None:
    pol = make_policy()
    index = verification_index.RecordIndex(clock=lambda: NOW + TTL + datetime.timedelta(seconds=1))
    index.put(body("r", DIGEST, [verifications.entry_of(pol, passed(pol), now=NOW, ttl=TTL)]))
    assert index.lookup(DIGEST, pol) is None


def test_a_record_changing_its_digest_moves_in_the_index() -> None:
    pol = make_policy()
    index = verification_index.RecordIndex(clock=lambda: NOW)
    entry = verifications.entry_of(pol, passed(pol), now=NOW, ttl=TTL)
    index.put(body("r", DIGEST, [entry]))
    index.put(body("r", "sha256:" + "ef" * 32, [entry]))
    assert index.lookup(DIGEST, pol) is None
    assert index.lookup("sha256:" + "ef" * 32, pol) is not None
    assert len(index) == 1


def test_parse_reads_spec_and_origin() -> None:
    record = verification_index.parse(
        {
            "metadata": {
                "name": "llm",
                "generation": 2,
                "labels": {verifications.ORIGIN_LABEL: "admission"},
            },
            "spec": {"ref": "oci://reg/m:v1", "policies": ["a", 3]},
            "status": {"observedGeneration": 1, "policies": "not a list"},
        }
    )
    assert record is not None
    assert record.spec_changed
    assert record.spec_policies == ("a",)
    assert record.operator_made
    assert record.entries == ()
    assert record.digest is None
    assert verification_index.parse({"metadata": {}}) is None
