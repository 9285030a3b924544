"""The probe server: readiness follows every check, liveness the loop, /metrics the registry."""

from __future__ import annotations

import aiohttp
import pytest

from modelward.adapters import probes


async def fetch(port: int, path: str) -> tuple[int, str, str]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
        session.get(f"http://127.0.0.1:{port}{path}") as answer,
    ):
        return answer.status, answer.headers.get("Content-Type", ""), await answer.text()


@pytest.mark.parametrize(
    ("checks", "status"),
    [
        ({}, 503),
        ({"pipeline": True}, 503),
        ({"pipeline": True, "policies": True}, 503),
        ({"policies": True, "webhook": True}, 503),
        ({"pipeline": True, "policies": True, "webhook": True}, 200),
    ],
)
async def test_readiness_needs_every_check(checks: dict[str, bool], status: int) -> None:
    server = probes.ProbeServer(probes.Health(**checks), addr="127.0.0.1", port=0)
    await server.start()
    try:
        assert server.port != 0
        code, _, body = await fetch(server.port, "/readyz")
        assert code == status
        assert f'"ready": {"true" if status == 200 else "false"}' in body
        assert await fetch(server.port, "/healthz") == (200, "text/plain; charset=utf-8", "ok\n")
    finally:
        await server.stop()


async def test_metrics_are_served_in_the_prometheus_text_format() -> None:
    server = probes.ProbeServer(probes.Health(), addr="127.0.0.1", port=0)
    await server.start()
    try:
        code, content_type, body = await fetch(server.port, "/metrics")
    finally:
        await server.stop()
    assert code == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    assert "# TYPE modelward_decisions_total counter" in body
    assert "# TYPE modelward_admission_duration_seconds histogram" in body
