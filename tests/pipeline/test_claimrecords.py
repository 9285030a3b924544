"""A claim naming its model's digest: the files a ModelVerification record holds for it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from modelward.pipeline import claimrecords, claims
from modelward.structs import evidence, policy, refs

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
FILES = (("config.json", "01" * 32), ("w.bin", "02" * 32))


def passed(files: tuple[tuple[str, str], ...] = FILES, ok: bool = True) -> evidence.PolicyResult:
    return evidence.PolicyResult(
        KEY, policy.Mode.ENFORCE, ok, "Verified", "", files=files, ignored=(".git",)
    )


def test_the_files_of_passing_verdicts() -> None:
    assert claimrecords.from_results([passed(), passed()]) == claimrecords.Recorded(
        files=FILES, ignored=(".git",)
    )


@pytest.mark.parametrize(
    "results",
    [
        [],
        [None],
        [passed(), None],
        [passed(ok=False)],
        [passed(files=())],
    ],
)
def test_no_files_unless_every_policy_has_a_passing_verdict_with_files(
    results: list[evidence.PolicyResult | None],
) -> None:
    assert claimrecords.from_results(results) is None


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
