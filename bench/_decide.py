"""One cold admission decision, timed: a fresh pipeline (no cache) and one key policy, for the
benchmarks that measure verification against a loopback registry."""

from __future__ import annotations

import dataclasses
import pathlib
import time

from modelward import netrules
from modelward import settings as settings_
from modelward.pipeline import admit, decode
from modelward.policies import parse

LOOPBACK = netrules.parse_allowance(["127.0.0.0/8", "::1"], what="bench")


def loopback_settings() -> settings_.Settings:
    """Default settings that may reach the benchmarks' loopback servers."""
    return dataclasses.replace(settings_.Settings(), egress_allow=LOOPBACK)


async def cold_decision(
    uri: str, host: str, public_pem: str, work: pathlib.Path, *, timeout: float
) -> float:
    """Seconds to admit `uri` (from the registry at `host`), signed by the key `public_pem`."""
    settings = dataclasses.replace(
        loopback_settings(),
        work_dir=work,
        insecure_registries=frozenset({host}),
        timeout_seconds=timeout,
        limits=dataclasses.replace(settings_.Limits(), download_timeout_seconds=timeout),
    )
    pol = parse.parse_policy(
        {
            "kind": "ClusterModelPolicy",
            "metadata": {"name": "p"},
            "spec": {
                "models": [{"glob": "**"}],
                "authorities": [{"name": "k", "key": {"data": public_pem}}],
            },
        },
        secrets=lambda *a: b"",
        home_namespace="modelward",
    )
    obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "ml", "annotations": {"modelward.io/models": uri}},
        "spec": {},
    }
    async with admit.running(settings) as admitter:
        start = time.perf_counter()
        decision = await admitter.admit(decode.from_object(obj), [pol])
        elapsed = time.perf_counter() - start
    assert decision.allowed, decision.message
    return elapsed
