"""Metrics: one count per admission and per verdict, with label values from bounded sets."""

from __future__ import annotations

import pathlib

from prometheus_client import generate_latest

from modelward.pipeline import scan
from modelward.record import metrics
from modelward.structs import context, evidence, policy, refs


def sample(name: str, **labels: str) -> float:
    return metrics.registry().get_sample_value(name, labels) or 0.0


def ctx(group: str, kind: str) -> context.AdmissionContext:
    return context.AdmissionContext(
        uid="u", operation="CREATE", group=group, version="v1", kind=kind,
        namespace="ml", name="bert-7f9c", obj={}, labels={},
    )  # fmt: skip


KEY = policy.PolicyKey(kind="ClusterModelPolicy", namespace=None, name="p", uid="", generation=1)


def test_a_decision_counts_its_admission_and_each_verdict() -> None:
    ok = evidence.PolicyResult(
        policy=KEY, mode=policy.Mode.ENFORCE, passed=True, reason="Verified", message=""
    )
    decision = evidence.Decision(
        allowed=False,
        message="",
        warnings=(),
        refs=(
            evidence.RefResult(ref=refs.ModelRef("oci://r/a:1", "f"), results=(ok,)),
            evidence.RefResult(ref=refs.ModelRef("gopher://r/b", "f"), error=("Unverifiable", "")),
            evidence.RefResult(ref=refs.ModelRef("https://h/c", "f"), unmatched=True),
        ),
    )
    kind = "apps/Deployment"
    names = [
        ("modelward_admission_requests_total", {"verdict": "deny", "kind": kind}),
        ("modelward_decisions_total", {"verdict": "pass", "policy": "p", "kind": kind,
                                       "reason": "Verified"}),
        ("modelward_decisions_total", {"verdict": "fail", "policy": "none", "kind": kind,
                                       "reason": "Unverifiable"}),
        ("modelward_decisions_total", {"verdict": "unmatched", "policy": "none", "kind": kind,
                                       "reason": "NoPolicy"}),
        ("modelward_errors_total", {"source": "other", "reason": "Unverifiable"}),
        ("modelward_admission_duration_seconds_count", {"kind": kind}),
    ]  # fmt: skip
    before = [sample(n, **labels) for n, labels in names]
    metrics.observe_decision(ctx("apps", "Deployment"), decision, 0.2)
    after = [sample(n, **labels) for n, labels in names]
    assert [a - b for a, b in zip(after, before, strict=True)] == [1] * len(names)


def test_label_values_are_bounded() -> None:
    assert metrics.bounded("serving.kserve.io/InferenceService") == (
        "serving.kserve.io/InferenceService"
    )
    assert metrics.bounded("x" * 200) == "other"
    assert metrics.bounded('a"} evil{') == "other"
    assert metrics.scheme_label("oci") == "oci"
    assert metrics.scheme_label("registry.example.com/models") == "other"
    assert metrics.scheme_label("") == "none"


def test_every_exported_metric_is_in_the_registry_served() -> None:
    served = generate_latest(metrics.registry()).decode()
    for metric in metrics.EXPORTED:
        for family in metric.describe():
            suffix = "_total" if family.type == "counter" else ""
            assert f"# TYPE {family.name}{suffix} {family.type}" in served


async def test_a_scan_is_timed(bert_model: pathlib.Path) -> None:
    files = [p.relative_to(bert_model).as_posix() for p in bert_model.rglob("*") if p.is_file()]
    name = "modelward_scan_duration_seconds_count"
    before = sample(name, scanner="builtin")
    await scan.scan_model(bert_model, files, ref="oci://r/bert:1")
    assert sample(name, scanner="builtin") - before == 1
