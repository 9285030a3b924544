"""Which exception waives which policy for which reference: namespace, expiry, policy name,
model glob and workload."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest

from modelward.pipeline import decode, exempt
from modelward.structs import exceptions, policy

NOW = datetime.datetime(2026, 5, 1, tzinfo=datetime.UTC)
URI = "oci://r/experiments/bert:v1"
EXCEPTION = exceptions.PolicyException(
    namespace="ml",
    name="vendor",
    generation=1,
    policies=("require-signed",),
    globs=("oci://r/experiments/**",),
    workloads=exceptions.Workloads(),
    owner="ml-platform",
    reason="pending",
    expires=NOW + datetime.timedelta(days=1),
)
POLICY = policy.Policy(
    key=policy.PolicyKey("ClusterModelPolicy", None, "require-signed", "u", 1),
    mode=policy.Mode.ENFORCE,
    match=policy.Match(),
    globs=("**",),
    authorities=(),
)


def ctx(namespace: str = "ml", kind: str = "Deployment", name: str = "bert", **labels: str) -> Any:
    api = "v1" if kind == "Pod" else "apps/v1"
    return decode.from_object(
        {
            "apiVersion": api,
            "kind": kind,
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
        }
    )


def test_matching_exception_waives_the_policy_naming_its_owner() -> None:
    found = exempt.find([EXCEPTION], ctx(), URI, POLICY, now=NOW)
    assert found is EXCEPTION
    result = exempt.result(POLICY, EXCEPTION)
    assert result.passed
    assert result.reason == "Exempted"
    assert result.exception == ("ml/vendor", "ml-platform")
    assert "ModelPolicyException ml/vendor (owner ml-platform" in result.message


@pytest.mark.parametrize(
    ("exception", "context", "uri"),
    [
        (EXCEPTION, ctx(namespace="other"), URI),
        (dataclasses.replace(EXCEPTION, expires=NOW), ctx(), URI),
        (dataclasses.replace(EXCEPTION, policies=("other",)), ctx(), URI),
        (EXCEPTION, ctx(), "oci://r/production/bert:v1"),
        (
            dataclasses.replace(EXCEPTION, workloads=exceptions.Workloads(kinds=("Pod",))),
            ctx(),
            URI,
        ),
        (
            dataclasses.replace(EXCEPTION, workloads=exceptions.Workloads(names=("gpt",))),
            ctx(),
            URI,
        ),
        (
            dataclasses.replace(
                EXCEPTION, workloads=exceptions.Workloads(match_labels=(("team", "ml"),))
            ),
            ctx(team="ops"),
            URI,
        ),
        (dataclasses.replace(EXCEPTION, error_reason="InvalidSpec"), ctx(), URI),
    ],
    ids=[
        "other-namespace",
        "expired",
        "other-policy",
        "other-model",
        "other-kind",
        "other-name",
        "other-labels",
        "invalid",
    ],
)
def test_exception_does_not_apply(
    exception: exceptions.PolicyException, context: Any, uri: str
) -> None:
    assert exempt.find([exception], context, uri, POLICY, now=NOW) is None


def test_workload_constraints_that_match() -> None:
    narrowed = dataclasses.replace(
        EXCEPTION,
        workloads=exceptions.Workloads(
            kinds=("apps/Deployment",), names=("bert",), match_labels=(("team", "ml"),)
        ),
    )
    assert exempt.find([narrowed], ctx(team="ml"), URI, POLICY, now=NOW) is narrowed
