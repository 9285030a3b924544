"""Sustained mixed load on the real operator: cached and uncached references under several
policies. No error responses, every decision right, and memory flat after warm-up.

`MODELWARD_LOAD_REQUESTS` sets the count (the suite's default is short; `make soak` runs 10,000).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import pathlib
import ssl
from typing import Any

import aiohttp
import pytest

from tests.e2e.test_operator import apply_policy, cluster_policy, isvc
from tests.fixtures import ocipush, signing
from tests.fixtures.kube import OperatorHandle, build_review
from tests.fixtures.registry import Registry

REQUESTS = int(os.environ.get("MODELWARD_LOAD_REQUESTS", "800"))
CONCURRENCY = 8
WARM_UP = 200
GROWTH_LIMIT_MB = 25.0  # allocator noise and caches filling; a leak per request exceeds it


@pytest.fixture
def operator_settings(registry: Registry) -> dict[str, Any]:
    return {"insecure_registries": frozenset({registry.host})}


def _rss_mb() -> float:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def test_mixed_load_answers_right_with_flat_memory(
    operator: OperatorHandle, tmp_path: pathlib.Path, registry: Registry, bert_model: pathlib.Path
) -> None:
    ml, sec = signing.make_ec_key(tmp_path, "ml"), signing.make_ec_key(tmp_path, "sec")
    sigs = tmp_path / "sigs"
    uris = {}
    for name, key in (("signed", ml), ("unsigned", None), ("other-signer", sec)):
        repo = ocipush.unique_repo(name)
        sig = signing.sign_with_key(bert_model, key, sigs / f"{name}.sig") if key else None
        ocipush.push_model(registry, repo, bert_model, signature=sig)
        uris[name] = f"oci://{registry.host}/{repo}:v1"
    await apply_policy(operator, cluster_policy("ml", ml, glob=f"oci://{registry.host}/**"))
    await apply_policy(
        operator, cluster_policy("audit", sec, glob=f"oci://{registry.host}/**", mode="audit")
    )
    expected = {"signed": True, "unsigned": False, "other-signer": False}
    bodies = {
        name: json.dumps(build_review(isvc(f"load-{name}", uri))).encode()
        for name, uri in uris.items()
    }
    cases = [name for _ in range(REQUESTS // 3 + 1) for name in expected][:REQUESTS]
    tls = ssl.create_default_context(cafile=operator.ca_path)
    url = operator.webhook_url + "/models"
    errors: list[str] = []
    rss: dict[str, float] = {}
    done = 0

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as s:
        queue: asyncio.Queue[str] = asyncio.Queue()
        for case in cases:
            queue.put_nowait(case)

        async def worker() -> None:
            nonlocal done
            while not queue.empty():
                case = queue.get_nowait()
                async with s.post(url, data=bodies[case], ssl=tls) as resp:
                    data = await resp.read()
                if resp.status != 200:
                    errors.append(f"{case}: HTTP {resp.status}")
                elif json.loads(data)["response"]["allowed"] is not expected[case]:
                    errors.append(f"{case}: wrong decision")
                done += 1
                if done == WARM_UP:
                    gc.collect()
                    rss["warm"] = _rss_mb()

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    gc.collect()
    rss["end"] = _rss_mb()
    assert not errors, errors[:5]
    assert done == REQUESTS
    growth = rss["end"] - rss["warm"]
    assert growth < GROWTH_LIMIT_MB, f"RSS grew {growth:.1f} MB over {REQUESTS - WARM_UP} requests"
