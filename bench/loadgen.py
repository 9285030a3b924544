"""A load generator for the webhook, run as its own process so it does not share the GIL
with the operator under test.

Closed loop (`--concurrency N`): N keep-alive clients send back to back; gives the maximum
sustained rate. Open loop (`--rate R`): requests start on a fixed schedule whatever the
answers do, and latency counts from the scheduled start (no coordinated omission).
Prints one JSON object: count, errors, seconds, rate, p50_ms, p99_ms, max_ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pathlib
import ssl
import statistics
import time

import aiohttp


async def _one(session: aiohttp.ClientSession, url: str, body: bytes, tls: ssl.SSLContext) -> bool:
    async with session.post(
        url, data=body, ssl=tls, headers={"Content-Type": "application/json"}
    ) as response:
        if response.status != 200:
            return False
        answer = json.loads(await response.read())
        return bool(answer["response"]["allowed"])


async def closed_loop(
    url: str, body: bytes, tls: ssl.SSLContext, concurrency: int, seconds: float
) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    end = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal errors
            while time.monotonic() < end:
                start = time.monotonic()
                ok = await _one(session, url, body, tls)
                latencies.append(time.monotonic() - start)
                errors += not ok

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors


async def open_loop(
    url: str, body: bytes, tls: ssl.SSLContext, rate: float, seconds: float
) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def fire(scheduled: float) -> None:
            nonlocal errors
            ok = await _one(session, url, body, tls)
            latencies.append(time.monotonic() - scheduled)
            errors += not ok

        tasks = []
        start = time.monotonic()
        total = int(rate * seconds)
        for i in range(total):
            scheduled = start + i / rate
            delay = scheduled - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(fire(scheduled)))
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=seconds + 30)
    return latencies, errors


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--body", required=True, help="file holding the AdmissionReview")
    parser.add_argument("--seconds", type=float, default=5.0)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--concurrency", type=int)
    group.add_argument("--rate", type=float)
    args = parser.parse_args()
    tls = ssl.create_default_context(cafile=args.ca)
    body = pathlib.Path(args.body).read_bytes()
    started = time.monotonic()
    if args.concurrency:
        latencies, errors = asyncio.run(
            closed_loop(args.url, body, tls, args.concurrency, args.seconds)
        )
    else:
        latencies, errors = asyncio.run(open_loop(args.url, body, tls, args.rate, args.seconds))
    took = time.monotonic() - started
    ms = sorted(x * 1000 for x in latencies)
    print(
        json.dumps(
            {
                "count": len(ms),
                "errors": errors,
                "seconds": round(took, 2),
                "rate": round(len(ms) / took, 1),
                "p50_ms": round(statistics.median(ms), 2) if ms else None,
                "p99_ms": round(ms[int(len(ms) * 0.99) - 1], 2) if ms else None,
                "max_ms": round(ms[-1], 2) if ms else None,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
