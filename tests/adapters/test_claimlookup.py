"""Record lookups for claims: the files a current, passing ModelVerification entry holds."""

from __future__ import annotations

import dataclasses
import datetime

import pytest

from modelward.adapters import claimlookup
from modelward.pipeline import claimrecords
from modelward.record import verification_index, verifications
from modelward.structs import evidence, policy

DIGEST = "sha256:" + "ab" * 32
FILES = (("config.json", "01" * 32), ("w.bin", "02" * 32))
NOW = datetime.datetime.now(datetime.UTC)


def pol(name: str, uid: str = "uid-1") -> policy.Policy:
    return policy.Policy(
        policy.PolicyKey("ClusterModelPolicy", None, name, uid, 1),
        policy.Mode.ENFORCE,
        policy.Match(),
        ("**",),
        (policy.Authority("release", policy.AuthorityType.KEY, b"PEM"),),
        runtime_check=True,
    )


SIGNED = pol("signed")


def index_with(*entries: verifications.Entry) -> verification_index.RecordIndex:
    index = verification_index.RecordIndex()
    index.put(
        {
            "metadata": {"name": verifications.record_name(DIGEST)},
            "status": {
                "digest": DIGEST,
                "policies": [verifications.entry_json(e) for e in entries],
            },
        }
    )
    return index


def entry(p: policy.Policy, *, ok: bool = True, ttl: float = 3600) -> verifications.Entry:
    result = evidence.PolicyResult(
        p.key, p.mode, ok, "Verified" if ok else "SignerMismatch", "", files=FILES
    )
    return verifications.entry_of(p, result, now=NOW, ttl=datetime.timedelta(seconds=ttl))


@pytest.mark.parametrize(
    ("entries", "asked", "found"),
    [
        ([entry(SIGNED)], [SIGNED], True),
        ([entry(SIGNED, ok=False)], [SIGNED], False),
        ([entry(SIGNED, ttl=-1)], [SIGNED], False),
        ([entry(SIGNED)], [pol("signed", uid="uid-of-a-new-policy")], False),
        ([entry(SIGNED)], [dataclasses.replace(SIGNED, require_count=1, globs=("x/**",))], False),
        ([entry(SIGNED)], [SIGNED, pol("second")], False),
        ([entry(SIGNED), entry(pol("second"))], [SIGNED, pol("second")], True),
        ([], [SIGNED], False),
    ],
)
async def test_files_from_the_index_only_for_current_passing_verdicts(
    entries: list[verifications.Entry], asked: list[policy.Policy], found: bool
) -> None:
    got = await claimlookup.lookup(index_with(*entries))(DIGEST, asked)
    assert got == (claimrecords.Recorded(files=FILES) if found else None)
