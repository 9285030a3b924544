"""A claim naming its model's digest: the files a ModelVerification record holds for it."""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from modelward.pipeline import claimrecords, claims
from modelward.structs import evidence, policy, refs

NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
DIGEST = "sha256:" + "ab" * 32
KEY = policy.PolicyKey("ClusterModelPolicy", None, "signed", "uid-1", 3)
POLICY = policy.Policy(
    KEY,
    policy.Mode.ENFORCE,
    policy.Match(),
    ("**",),
    (policy.Authority("release", policy.AuthorityType.KEY, b"PEM"),),
    runtime_check=True,
)
FILES = [{"path": "config.json", "sha256": "01" * 32}, {"path": "w.bin", "sha256": "02" * 32}]


def record() -> dict[str, Any]:
    entry = {
        "kind": "ClusterModelPolicy",
        "name": "signed",
        "uid": "uid-1",
        "revision": POLICY.revision,
        "passed": True,
        "reason": "Verified",
        "files": copy.deepcopy(FILES),
        "ignored": [".git"],
        "expiresAt": "2026-12-02T00:00:00Z",
    }
    return {
        "metadata": {"name": "sha256-" + "ab" * 32},
        "status": {"digest": DIGEST, "policies": [entry]},
    }


def test_a_current_passing_entry_gives_its_files() -> None:
    found = claimrecords.from_record(record(), DIGEST, [POLICY], now=NOW)
    assert found == claimrecords.Recorded(
        files=(("config.json", "01" * 32), ("w.bin", "02" * 32)), ignored=(".git",)
    )


def entry(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    found = record()
    change(found["status"]["policies"][0])
    return found


@pytest.mark.parametrize(
    ("found", "digest"),
    [
        (None, DIGEST),
        (record(), "sha256:" + "cd" * 32),
        (entry(lambda e: e.update(passed=False)), DIGEST),
        (entry(lambda e: e.update(revision="older")), DIGEST),
        (entry(lambda e: e.update(uid="uid-of-a-deleted-policy")), DIGEST),
        (entry(lambda e: e.update(namespace="team-a")), DIGEST),
        (entry(lambda e: e.update(expiresAt="2026-11-30T23:59:59Z")), DIGEST),
        (entry(lambda e: e.update(expiresAt="tomorrow")), DIGEST),
        (entry(lambda e: e.update(files=[])), DIGEST),
        (entry(lambda e: e["files"].append({"path": "x", "sha256": "not-hex"})), DIGEST),
        ({"status": {"digest": DIGEST, "policies": "nope"}}, DIGEST),
    ],
)
def test_no_files_unless_every_policy_passed_it_now(found: Any, digest: str) -> None:
    assert claimrecords.from_record(found, digest, [POLICY], now=NOW) is None


def test_every_governing_policy_must_have_passed_it() -> None:
    other = policy.Policy(
        policy.PolicyKey("ModelPolicy", "ml", "team", "uid-2", 1),
        policy.Mode.ENFORCE,
        policy.Match(),
        ("**",),
        (),
        runtime_check=True,
    )
    assert claimrecords.from_record(record(), DIGEST, [POLICY, other], now=NOW) is None


def decision(uri: str, reason: str = claims.RUNTIME_CHECK) -> evidence.Decision:
    result = evidence.PolicyResult(KEY, policy.Mode.ENFORCE, True, reason, "")
    ref = refs.ModelRef(uri, "metadata.annotations['modelward.io/models']")
    return evidence.Decision(True, "", (), (evidence.RefResult(ref=ref, results=(result,)),))


@pytest.mark.parametrize(
    ("uri", "annotations", "reason", "looked_up"),
    [
        ("pvc://models/bert", {claimrecords.DIGEST_ANNOTATION: DIGEST}, claims.RUNTIME_CHECK, True),
        (
            "pvc://models/bert",
            {claimrecords.DIGEST_ANNOTATION: "sha256:short"},
            claims.RUNTIME_CHECK,
            False,
        ),
        ("pvc://models/bert", {}, claims.RUNTIME_CHECK, False),
        ("pvc://models/bert", None, claims.RUNTIME_CHECK, False),
        ("pvc://models/bert", {claimrecords.DIGEST_ANNOTATION: DIGEST}, "Verified", False),
    ],
)
async def test_the_claim_annotation_points_at_a_record(
    uri: str, annotations: Mapping[str, str] | None, reason: str, looked_up: bool
) -> None:
    asked: list[tuple[str, str]] = []
    files = claimrecords.Recorded(files=(("w.bin", "02" * 32),))

    async def read_claim(namespace: str, name: str) -> Mapping[str, str] | None:
        asked.append((namespace, name))
        return annotations

    async def lookup(
        digest: str, policies: Sequence[policy.Policy]
    ) -> claimrecords.Recorded | None:
        assert (digest, list(policies)) == (DIGEST, [POLICY])
        return files

    found = await claimrecords.recorded(
        "ml", decision(uri, reason), [POLICY], read_claim=read_claim, lookup=lookup
    )
    assert found == ({uri: files} if looked_up else {})
    assert asked == ([] if reason != claims.RUNTIME_CHECK else [("ml", "models")])
