"""Which pull Secrets and service account each kind of workload names."""

from __future__ import annotations

from typing import Any

import pytest

from modelward.pipeline import pullsecrets

SPEC = {
    "imagePullSecrets": [{"name": "a"}, {"name": "b"}, {"name": "a"}, {}],
    "serviceAccountName": "sa",
}


@pytest.mark.parametrize(
    "obj",
    [
        {"kind": "Pod", "spec": SPEC},
        {"kind": "Deployment", "spec": {"template": {"spec": SPEC}}},
        {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": SPEC}}}}},
        {"kind": "InferenceService", "spec": {"predictor": SPEC}},
    ],
)
def test_pull_secret_refs(obj: dict[str, Any]) -> None:
    refs = pullsecrets.pull_secret_refs(obj)
    assert refs == pullsecrets.PullSecretRefs(secrets=("a", "b"), service_account="sa")


def test_defaults() -> None:
    refs = pullsecrets.pull_secret_refs({"kind": "Pod", "spec": {"imagePullSecrets": "x"}})
    assert refs == pullsecrets.PullSecretRefs(secrets=(), service_account="default")
