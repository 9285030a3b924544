"""Planning re-verification: what a record needs after policies change or time passes."""

from __future__ import annotations

import dataclasses
import datetime

from modelward.pipeline import reverify
from modelward.record import verification_index, verifications
from modelward.structs import policy
from tests.record.test_verification_index import body
from tests.record.test_verifications import DIGEST, NOW, TTL, make_policy, passed

SOON = datetime.timedelta(hours=1)


def record(entries: list[verifications.Entry], **spec: object) -> verification_index.Record:
    raw = body("r", DIGEST, entries)
    raw["spec"].update(spec)
    raw["status"]["pinnedRef"] = f"oci://reg/m@{DIGEST}"
    raw["status"]["observedGeneration"] = 1
    parsed = verification_index.parse(raw)
    assert parsed is not None
    return parsed


def entry(pol: policy.Policy, at: datetime.datetime = NOW) -> verifications.Entry:
    return verifications.entry_of(pol, passed(pol), now=at, ttl=TTL)


def test_nothing_to_do_while_every_entry_stands() -> None:
    pol = make_policy()
    assert reverify.plan(record([entry(pol)]), [pol], now=NOW, refresh_before=SOON) is None


def test_a_changed_policy_is_verified_again() -> None:
    pol = make_policy()
    changed = make_policy(require_digest=True)
    work = reverify.plan(record([entry(pol)]), [changed], now=NOW, refresh_before=SOON)
    assert work is not None
    assert work.policies == (changed,)
    assert work.uri == f"oci://reg/m@{DIGEST}"
    assert work.drop == ()
    assert work.why == "policy changed"


def test_an_entry_near_its_expiry_is_refreshed() -> None:
    pol = make_policy()
    old = entry(pol, NOW - TTL + datetime.timedelta(minutes=30))
    work = reverify.plan(record([old]), [pol], now=NOW, refresh_before=SOON)
    assert work is not None
    assert work.why == "expiring"


def test_entries_of_deleted_or_recreated_policies_are_dropped() -> None:
    gone, recreated = make_policy("gone"), make_policy("again", uid="u1")
    work = reverify.plan(
        record([entry(gone), entry(recreated)]),
        [make_policy("again", uid="u9")],
        now=NOW,
        refresh_before=SOON,
    )
    assert work is not None
    assert work.policies == ()
    assert set(work.drop) == {
        ("ClusterModelPolicy", None, "gone"),
        ("ClusterModelPolicy", None, "again"),
    }


def test_a_new_pre_verification_takes_the_cluster_policies_matching_its_reference() -> None:
    matching = make_policy("models", globs=("oci://reg/**",))
    elsewhere = make_policy("others", uid="u2", globs=("s3://bucket/**",))
    namespaced = policy.Policy(
        key=policy.PolicyKey("ModelPolicy", "ml", "team", "u3", 1),
        mode=policy.Mode.ENFORCE,
        match=policy.Match(),
        globs=("**",),
        authorities=(),
    )
    raw = record([], ref="oci://reg/m:v1")
    fresh = dataclasses.replace(raw, observed_generation=None)
    work = reverify.plan(fresh, [matching, elsewhere, namespaced], now=NOW, refresh_before=SOON)
    assert work is not None
    assert work.uri == "oci://reg/m:v1"
    assert work.policies == (matching,)
    named = dataclasses.replace(fresh, spec_policies=("others",))
    work = reverify.plan(named, [matching, elsewhere], now=NOW, refresh_before=SOON)
    assert work is not None
    assert work.policies == (elsewhere,)
