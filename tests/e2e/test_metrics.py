"""/metrics, /healthz and /readyz of the real operator, scraped after real admissions."""

from __future__ import annotations

import pathlib
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_operator import apply_policy, cluster_policy, isvc, response
from tests.fixtures import ocipush, signing
from tests.fixtures.kube import OperatorHandle
from tests.fixtures.registry import Registry

ISVC = "serving.kserve.io/InferenceService"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def operator_settings(registry: Registry) -> dict[str, Any]:
    return {"insecure_registries": frozenset({registry.host})}


async def get(operator: OperatorHandle, path: str) -> tuple[int, str]:
    url = f"http://127.0.0.1:{operator.settings.metrics_port}{path}"
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
        session.get(url) as answer,
    ):
        return answer.status, await answer.text()


async def scrape(operator: OperatorHandle) -> Samples:
    status, text = await get(operator, "/metrics")
    assert status == 200
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("modelward_")
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum over samples named `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


async def test_health_and_readiness(operator: OperatorHandle) -> None:
    assert await get(operator, "/healthz") == (200, "ok\n")
    status, body = await get(operator, "/readyz")
    assert status == 200
    assert '"checks": {"pipeline": true, "policies": true, "webhook": true}' in body


async def test_counters_move_with_admissions(
    operator: OperatorHandle,
    registry: Registry,
    tmp_path: pathlib.Path,
    bert_model: pathlib.Path,
) -> None:
    key = signing.make_ec_key(tmp_path, "ml-release")
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    signed, unsigned = ocipush.unique_repo("signed"), ocipush.unique_repo("unsigned")
    ocipush.push_model(registry, signed, bert_model, signature=sig)
    ocipush.push_model(registry, unsigned, bert_model)
    await apply_policy(operator, cluster_policy("require-signed", key))
    model_bytes = sum(p.stat().st_size for p in bert_model.rglob("*") if p.is_file())

    before = await scrape(operator)
    good, bad = f"oci://{registry.host}/{signed}:v1", f"oci://{registry.host}/{unsigned}:v1"
    down = "oci://127.0.0.1:1/models/down:v1"  # nothing listens on port 1
    answers = [
        response(await operator.review(isvc(name, uri)))["allowed"]
        for name, uri in [("a", good), ("b", bad), ("c", good), ("d", down)]
    ]
    assert answers == [True, False, True, False]
    after = await scrape(operator)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("modelward_admission_requests_total", verdict="allow", kind=ISVC) == 2
    assert delta("modelward_admission_requests_total", verdict="deny", kind=ISVC) == 2
    assert delta("modelward_admission_duration_seconds_count", kind=ISVC) == 4
    passed = {"verdict": "pass", "policy": "require-signed", "kind": ISVC, "reason": "Verified"}
    assert delta("modelward_decisions_total", **passed) == 2
    assert delta("modelward_decisions_total", verdict="fail", reason="SignatureMissing") == 1
    # The second admission of the signed model is answered from the verdict cache.
    assert delta("modelward_verdict_cache_lookups_total", result="hit") >= 1
    assert delta("modelward_verification_duration_seconds_count", scheme="oci") == 2
    assert delta("modelward_fetched_bytes_total") >= model_bytes
    assert delta("modelward_errors_total", source="oci") == 1
    # Label values are bounded: no reference, host or object name ever becomes one.
    for _, labels in after:
        for _, label_value in labels:
            assert "127.0.0.1" not in label_value
            assert label_value not in {"a", "b", "c", "d"}
