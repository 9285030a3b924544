"""The probe port: Prometheus metrics, liveness and readiness, on one small aiohttp server.

Liveness answers while the event loop runs. Readiness waits for what an admission needs:
the pipeline started, the policy index loaded from the API, and the webhook server listening.
Before that, a replica that received admissions would judge them without the policies that
govern them.
"""

from __future__ import annotations

import dataclasses
import json
import logging

import aiohttp.web
from prometheus_client import generate_latest

from modelward.record import metrics

logger = logging.getLogger(__name__)

# The classic text format: what Prometheus 2 and 3 and every agent scrape.
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclasses.dataclass
class Health:
    """What readiness depends on; the operator's handlers set each part when it holds."""

    pipeline: bool = False
    policies: bool = False
    webhook: bool = False

    def checks(self) -> dict[str, bool]:
        return dataclasses.asdict(self)

    @property
    def ready(self) -> bool:
        return all(self.checks().values())


class ProbeServer:
    """Serves /metrics, /healthz and /readyz on `addr:port` (port 0: any free port)."""

    def __init__(self, health: Health, *, addr: str, port: int) -> None:
        self.health = health
        self._addr = addr
        self._port = port
        self._runner: aiohttp.web.AppRunner | None = None
        self.port = port

    def app(self) -> aiohttp.web.Application:
        app = aiohttp.web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._live)
        app.router.add_get("/readyz", self._ready)
        return app

    async def start(self) -> None:
        self._runner = aiohttp.web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = aiohttp.web.TCPSite(self._runner, self._addr, self._port)
        await site.start()
        for address in self._runner.addresses:
            self.port = int(address[1])
        logger.info("probe server started", extra={"addr": self._addr, "port": self.port})

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: aiohttp.web.Request) -> aiohttp.web.Response:
        body = generate_latest(metrics.registry())
        return aiohttp.web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})

    async def _live(self, request: aiohttp.web.Request) -> aiohttp.web.Response:
        return aiohttp.web.Response(text="ok\n")

    async def _ready(self, request: aiohttp.web.Request) -> aiohttp.web.Response:
        status = 200 if self.health.ready else 503
        body = json.dumps({"ready": self.health.ready, "checks": self.health.checks()})
        return aiohttp.web.Response(status=status, text=body, content_type="application/json")
