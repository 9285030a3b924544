"""ModelVerification records read defensively, and workload references matched to them."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from modelward.bom import inventory, records
from modelward.record import verifications
from modelward.structs import evidence, policy, refs

DIGEST = "sha256:" + "a" * 64
TAGGED = "oci://reg/team/bert:v1"
PINNED = f"oci://reg/team/bert@{DIGEST}"


def record(**status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "modelward.io/v1alpha1",
        "kind": "ModelVerification",
        "metadata": {"name": "sha256-" + "a" * 64},
        "spec": {"ref": TAGGED},
        "status": {"digest": DIGEST, "pinnedRef": PINNED, "verdict": "Verified", **status},
    }


def entry(**overrides: Any) -> dict[str, Any]:
    """A `status.policies` entry as the operator writes it."""
    return {
        "kind": "ClusterModelPolicy",
        "name": "p",
        "uid": "u",
        "revision": "r",
        "passed": True,
        "reason": "Verified",
        "checkedAt": "2026-11-30T10:00:00Z",
        "expiresAt": "2026-12-01T10:00:00Z",
        **overrides,
    }


def pod(*uris: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "p",
            "namespace": "ml",
            "annotations": {"modelward.io/models": ",".join(uris)},
        },
        "spec": {"containers": [{"name": "c", "image": "i"}]},
    }


@pytest.mark.parametrize(
    ("uri", "matched"),
    [
        (TAGGED, True),  # spec.ref
        (PINNED, True),  # status.pinnedRef
        ("oci://mirror/bert:v1", True),  # status.references
        (f"oci://elsewhere/copy@{DIGEST}", True),  # carries the digest
        ("oci://reg/team/bert:v2", False),
        (f"oci://reg/team/bert@sha256:{'b' * 64}", False),
    ],
)
def test_references_match_records(uri: str, matched: bool) -> None:
    (model,) = [
        m
        for m in records.models([pod(uri)], [record(references=["oci://mirror/bert:v1"])])
        if m.uses
    ]
    assert (model.key == DIGEST) is matched
    assert model.uses[0].uri == uri
    if not matched:
        assert (model.facts.verdict, model.facts.reason) == (
            inventory.Verdict.UNVERIFIED,
            "NoRecord",
        )


def test_an_unused_record_is_still_listed() -> None:
    (model,) = records.models([], [record()])
    assert (model.key, model.uses) == (DIGEST, ())


def test_kserve_storage_key_is_unresolvable_in_the_cluster() -> None:
    isvc = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "s", "namespace": "ml"},
        "spec": {"predictor": {"model": {"storage": {"key": "k", "path": "m/"}}}},
    }
    (model,) = records.models([isvc], [])
    assert model.facts.reason == "Unresolvable"


@pytest.mark.parametrize(
    ("status", "check"),
    [
        ({"verdict": "Bogus"}, lambda f: f.verdict is inventory.Verdict.PENDING),
        ({"verdict": "Unverified"}, lambda f: f.verdict is inventory.Verdict.PENDING),
        ({"digest": "sha256:short"}, lambda f: f.digest is None),
        ({"signers": "not-a-list"}, lambda f: f.signers == ()),
        ({"signers": [1, None, "ok", "ok"]}, lambda f: f.signers == ("ok",)),
        (
            {"signers": [f"s{i}" for i in range(1000)]},
            lambda f: len(f.signers) == records.MAX_ITEMS,
        ),
        ({"message": "x" * 100_000}, lambda f: len(f.message) == records.MAX_TEXT),
        ({"scan": "yes"}, lambda f: f.scan is None),
        ({"policies": ["junk", entry(passed="yes"), entry()]}, lambda f: len(f.policies) == 1),
        (
            {"policies": [entry(files=[{"path": "a", "sha256": "1" * 64}])]},
            lambda f: f.files == (("a", "1" * 64),),
        ),
        # One bad file and the operator would not trust the entry: neither does the BOM.
        (
            {"policies": [entry(files=[{"path": "a", "sha256": "1" * 64}, {"path": "b"}])]},
            lambda f: (f.files, f.policies) == ((), ()),
        ),
        (
            {"policies": [entry(passed=False, files=[{"path": "a", "sha256": "1" * 64}])]},
            lambda f: f.files == () and not f.policies[0].passed,
        ),
    ],
)
def test_hostile_record_fields_are_left_out_or_cut(status: dict[str, Any], check: Any) -> None:
    assert check(records.record_facts(record(**status)))


def test_a_record_without_status_is_pending() -> None:
    facts = records.record_facts({"spec": {"ref": TAGGED}})
    assert (facts.verdict, facts.digest, facts.pinned_uri) == (
        inventory.Verdict.PENDING,
        None,
        TAGGED,
    )


def test_a_record_naming_no_model_is_left_out() -> None:
    assert records.models([], [{"spec": {}, "status": {"verdict": "Verified"}}]) == []


def test_a_record_as_the_operator_writes_it() -> None:
    pol = policy.Policy(
        key=policy.PolicyKey("ModelPolicy", "ml", "signed", "uid", 2),
        mode=policy.Mode.ENFORCE,
        match=policy.Match(),
        globs=("**",),
        authorities=(),
    )
    result = evidence.PolicyResult(
        pol.key,
        pol.mode,
        True,
        "Verified",
        "signature verified",
        signers=("ml@example.com",),
        files=(("model.safetensors", "1" * 64),),
    )
    now = datetime.datetime(2026, 11, 30, tzinfo=datetime.UTC)
    pinned = refs.PinnedRef(refs.ModelRef(TAGGED, "spec.x"), DIGEST, PINNED)
    status = verifications.status(
        previous=None,
        digest=DIGEST,
        pinned=pinned,
        entries=[verifications.entry_of(pol, result, now=now, ttl=datetime.timedelta(hours=1))],
        now=now,
    )
    facts = records.record_facts({"spec": {"ref": TAGGED}, "status": status})
    assert (facts.digest, facts.pinned_uri, facts.verdict) == (
        DIGEST,
        PINNED,
        inventory.Verdict.VERIFIED,
    )
    assert facts.references == (TAGGED,)
    assert facts.signers == ("ml@example.com",)
    assert facts.policies == (
        inventory.PolicyVerdict("ModelPolicy/ml/signed", True, "Verified", "signature verified"),
    )
    assert facts.files == (("model.safetensors", "1" * 64),)
    assert facts.expires_at == "2026-11-30T01:00:00Z"
