"""Hostile bodies over real HTTPS to the running operator's webhook: every answer is a 400
for what is not an AdmissionReview or a 200 review answer, within the budget; never a 500,
never a hang, and the server keeps serving afterwards."""

from __future__ import annotations

import json
import random
import ssl
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fixtures import hostile
from tests.fixtures.kube import OperatorHandle, build_review

ANSWER_BUDGET = 5.0  # seconds per hostile request; the webhook's own deadline is below it
VALID = build_review(
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "x"}}
)


def _post(operator: OperatorHandle, body: bytes) -> tuple[int, bytes, float]:
    """A blocking HTTPS POST (the operator serves from its own thread)."""
    tls = ssl.create_default_context(cafile=operator.ca_path)
    request = urllib.request.Request(
        operator.webhook_url + "/models",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, context=tls, timeout=ANSWER_BUDGET + 5) as response:
            status, data = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, data = e.code, e.read()
    return status, data, time.monotonic() - started


def _check(name: str, status: int, data: bytes, took: float) -> None:
    assert took < ANSWER_BUDGET, f"{name}: answered after {took:.1f}s"
    assert status in (200, 400, 413), f"{name}: HTTP {status} {data[:300]!r}"
    if status == 200:
        answer: dict[str, Any] = json.loads(data)
        assert answer["kind"] == "AdmissionReview"
        assert isinstance(answer["response"]["allowed"], bool)


def _crafted() -> list[tuple[str, bytes]]:
    rng = random.Random(1234)  # reproducible: a failure names its case
    text = json.dumps(VALID).encode()
    return [
        ("empty", b""),
        ("random bytes", bytes(rng.randrange(256) for _ in range(4096))),
        ("utf-16", text.decode().encode("utf-16")),
        ("deep nesting", b"[" * 100_000 + b"]" * 100_000),
        ("deep objects", b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
        ("huge string", json.dumps({"kind": "x" * 3_000_000}).encode()),
        ("nan", b'{"apiVersion": NaN}'),
        ("duplicate keys", b'{"kind": "AdmissionReview", "kind": "Other"}'),
        *[(f"truncated at {cut}", text[:cut]) for cut in (1, len(text) // 2, len(text) - 1)],
    ]


@pytest.mark.parametrize(("name", "body"), _crafted(), ids=[n for n, _ in _crafted()])
def test_crafted_bodies_get_400(operator: OperatorHandle, name: str, body: bytes) -> None:
    status, data, took = _post(operator, body)
    _check(name, status, data, took)
    assert status in (400, 413), f"{name}: {status}"


def test_generated_reviews_get_an_answer_and_the_server_survives(operator: OperatorHandle) -> None:
    @settings(max_examples=60, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(hostile.reviews)
    def post_one(review: Any) -> None:
        status, data, took = _post(operator, json.dumps(review, default=str).encode())
        _check("generated review", status, data, took)

    post_one()
    status, data, _ = _post(operator, json.dumps(VALID).encode())
    assert status == 200, data
    assert json.loads(data)["response"]["allowed"] is True
