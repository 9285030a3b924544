"""Globs, label selectors and policy applicability."""

from __future__ import annotations

import pytest

from modelward.pipeline import decode, match
from modelward.policies import globs
from modelward.structs import policy


@pytest.mark.parametrize(
    ("glob", "uri", "expected"),
    [
        ("oci://reg/models/**", "oci://reg/models/a/b:v1", True),
        ("oci://reg/models/*", "oci://reg/models/bert:v1", True),
        ("oci://reg/models/*", "oci://reg/models/team/bert:v1", False),
        ("oci://reg/models/bert", "oci://reg/models/bert@sha256:" + "a" * 64, True),
        ("oci://reg/models/bert:v1", "oci://reg/models/bert:v2", False),
        ("oci://reg/models/**", "oci://evil/models/bert", False),
        ("https://h/**", "https://h/x/model.tar.gz", True),
        ("https://h/*.bin", "https://h/x/model.bin", False),
        ("oci://reg/m?", "oci://reg/m1", True),
        ("oci://reg.example/**", "oci://regXexample/x", False),
        ("s3://b/models/bert.tar", "s3://b/models/bert.tar?versionId=3HL4kqtJ", True),
        ("s3://b/models/*.tar", "s3://b/models/bert.tar?versionId=3HL4kqtJ", True),
        ("s3://b/models/bert", "s3://b/models/bert-evil?versionId=x", False),
        ("gs://b/models/bert.tar", "gs://b/models/bert.tar#1712", True),
        ("gs://b/models/**", "gs://other/models/bert.tar#1712", False),
    ],
)
def test_glob(glob: str, uri: str, expected: bool) -> None:
    assert globs.matches(glob, uri) is expected


SEL = policy.LabelSelector(
    match_labels=(("team", "ml"),),
    match_expressions=(
        policy.Requirement("tier", policy.Operator.IN, ("prod", "stage")),
        policy.Requirement("legacy", policy.Operator.DOES_NOT_EXIST),
    ),
)


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"team": "ml", "tier": "prod"}, True),
        ({"team": "ml", "tier": "dev"}, False),
        ({"team": "ml", "tier": "prod", "legacy": "1"}, False),
        ({"tier": "prod"}, False),
    ],
)
def test_selector(labels: dict[str, str], expected: bool) -> None:
    assert match.selector_matches(SEL, labels) is expected


def _policy(namespace: str | None = None, **kw: object) -> policy.Policy:
    key = policy.PolicyKey(
        kind="ModelPolicy" if namespace else "ClusterModelPolicy",
        namespace=namespace,
        name="p",
        uid="u",
        generation=1,
    )
    return policy.Policy(
        key=key,
        mode=policy.Mode.ENFORCE,
        match=policy.Match(**kw),  # type: ignore[arg-type]
        globs=("oci://reg/**",),
        authorities=(),
    )


def _ctx(
    namespace: str,
    kind: str = "Pod",
    labels: dict[str, str] | None = None,
    ns_labels: dict[str, str] | None = None,
):  # type: ignore[no-untyped-def]
    api = "v1" if kind == "Pod" else "serving.kserve.io/v1beta1"
    return decode.from_object(
        {
            "apiVersion": api,
            "kind": kind,
            "metadata": {"name": "x", "namespace": namespace, "labels": labels or {}},
        },
        namespace_labels=ns_labels or {},
    )


def test_namespaced_policy_applies_only_in_its_namespace() -> None:
    pol = _policy("team-a")
    assert match.applies_to(pol, _ctx("team-a"), home_namespace="modelward")
    assert not match.applies_to(pol, _ctx("team-b"), home_namespace="modelward")


def test_default_match_excludes_own_namespace() -> None:
    pol = _policy()
    assert match.applies_to(pol, _ctx("ml"), home_namespace="modelward")
    assert not match.applies_to(pol, _ctx("modelward"), home_namespace="modelward")


def test_kinds_and_selectors() -> None:
    pol = _policy(
        kinds=("serving.kserve.io/InferenceService",),
        namespace_selector=policy.LabelSelector(match_labels=(("team", "ml"),)),
        object_selector=policy.LabelSelector(match_labels=(("gate", "on"),)),
    )
    good = _ctx("ml", "InferenceService", {"gate": "on"}, {"team": "ml"})
    assert match.applies_to(pol, good, home_namespace="modelward")
    assert not match.applies_to(
        pol, _ctx("ml", "Pod", {"gate": "on"}, {"team": "ml"}), home_namespace="modelward"
    )
    assert not match.applies_to(
        pol, _ctx("ml", "InferenceService", {}, {"team": "ml"}), home_namespace="modelward"
    )
    assert not match.applies_to(
        pol, _ctx("ml", "InferenceService", {"gate": "on"}, {}), home_namespace="modelward"
    )


def test_governing_needs_a_matching_glob() -> None:
    pol = _policy()
    assert match.governing([pol], _ctx("ml"), "oci://reg/m:1", home_namespace="mw") == [pol]
    assert match.governing([pol], _ctx("ml"), "oci://other/m:1", home_namespace="mw") == []
