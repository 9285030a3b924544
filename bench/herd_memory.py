"""Two benchmarks on a model in a local registry: a thundering herd (50 concurrent admissions of
one unverified model) and the peak memory of verifying a large model (hashing streams, so
RSS stays bounded whatever the model's size).

Run: `.venv/bin/python bench/herd_memory.py [--herd 50] [--size-gb 5]`. Prints JSON lines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.test_sources import isvc, key_auth, make_policy  # noqa: E402
from tests.fixtures import ocipush, signing  # noqa: E402
from tests.fixtures.registry import CountingProxy, start_registry  # noqa: E402
from tests.fixtures.settings import make_settings  # noqa: E402

from modelward.pipeline import admit, decode  # noqa: E402


def make_model(root: pathlib.Path, size: int) -> pathlib.Path:
    root.mkdir(parents=True)
    (root / "config.json").write_text('{"architectures": ["Bench"]}')
    with (root / "weights.bin").open("wb") as out:
        out.truncate(size)  # sparse: cheap to make, read back as zeros at full cost
    return root


async def herd(uri: str, host: str, key: signing.KeyPair, work: pathlib.Path, n: int) -> dict:
    settings = make_settings(work_dir=work, insecure_registries={host}, timeout_seconds=600)
    policy = make_policy(key_auth(key), scan={"failOn": "high"})  # every byte is needed
    async with admit.running(settings) as admitter:
        started = time.perf_counter()
        decisions = await asyncio.gather(
            *(admitter.admit(decode.from_object(isvc(uri)), [policy]) for _ in range(n))
        )
        took = time.perf_counter() - started
    assert all(d.allowed for d in decisions), decisions[0].message
    verified = sum(not r.cached for d in decisions for r in d.refs)
    return {"admissions": n, "verifications": verified, "seconds": round(took, 3)}


def peak_rss(uri: str, host: str, key: signing.KeyPair, work: pathlib.Path) -> dict:
    """One cold verification in a fresh process, which reports its own peak RSS (VmHWM: reset
    by exec, unlike getrusage's maxrss, which a child inherits)."""
    code = (
        "import asyncio, json, sys, time\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from bench.herd_memory import one\n"
        "t = time.perf_counter()\n"
        f"asyncio.run(one({uri!r}, {host!r}, {str(key.public_path)!r}, {str(work)!r}))\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
        "print(json.dumps({'seconds': round(time.perf_counter() - t, 2),"
        " 'peak_rss_mb': int(hwm.split()[1]) // 1024}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=1800
    )
    result: dict = json.loads(out.stdout.strip().splitlines()[-1])
    return result


async def one(uri: str, host: str, public_key: str, work: str) -> None:
    settings = make_settings(
        work_dir=pathlib.Path(work), insecure_registries={host}, timeout_seconds=1800
    )
    pem = pathlib.Path(public_key).read_text()
    policy = make_policy({"name": "k", "key": {"data": pem}}, scan={"failOn": "high"})
    async with admit.running(settings) as admitter:
        decision = await admitter.admit(decode.from_object(isvc(uri)), [policy])
    assert decision.allowed, decision.message


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--herd", type=int, default=50)
    parser.add_argument("--size-gb", type=float, default=5.0)
    args = parser.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="mw-herd-", dir=pathlib.Path.home()))
    try:
        key = signing.make_ec_key(work, "bench")
        small = make_model(work / "small", 64 * 1024 * 1024)
        large = make_model(work / "large", int(args.size_gb * 1024**3))
        with start_registry(work / "registry") as registry, CountingProxy(registry.url) as proxy:
            for name, model in (("small", small), ("large", large)):
                sig = signing.sign_with_key(model, key, work / f"{name}.sig")
                ocipush.push_model(registry, f"bench/{name}", model, signature=sig)
            shutil.rmtree(large)
            uri = f"oci://{proxy.host}/bench/small:v1"
            proxy.clear()
            row = asyncio.run(herd(uri, proxy.host, key, work / "w1", args.herd))
            row["blob_reads"] = len(proxy.blob_reads())
            print(json.dumps({"bench": "herd", **row}))
            uri = f"oci://{registry.host}/bench/large:v1"
            row = peak_rss(uri, registry.host, key, work / "w2")
            print(json.dumps({"bench": "memory", "model_gb": args.size_gb, **row}))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
