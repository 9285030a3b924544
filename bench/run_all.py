"""`make bench`: every benchmark in one run, side by side, then one summary table.

Each script is run as its own process (its output is shown as it comes); the table collects
the headline figures, with the target each is measured against. Sizes can be lowered for a
quick look: `make bench BENCH_ARGS="--quick"`.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import re
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent


def run(script: str, *args: str) -> str:
    print(f"\n=== {script} {' '.join(args)}", flush=True)
    out = subprocess.run(
        [sys.executable, str(HERE / script), *args],
        capture_output=True,
        text=True,
        timeout=3600,
        env={**os.environ, "PYTHONPATH": str(HERE.parent / "operator")},
    )
    print(out.stdout, end="", flush=True)
    if out.returncode:
        print(out.stderr[-3000:], flush=True)
        raise SystemExit(f"{script} failed with exit code {out.returncode}")
    return out.stdout


def _json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _cold(text: str) -> dict[str, float]:
    rows = re.findall(r"^(.+?)\s{2,}(\d+\.\d+)\s+(\d+\.\d+)\s+(\d+)$", text, re.M)
    return {name.strip(): float(seconds) for name, seconds, _, _ in rows}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, short runs")
    args = parser.parse_args()
    gb = "0.25" if args.quick else "1"
    mb = "256" if args.quick else "1024"
    table: list[tuple[str, str, str, str]] = []

    latency = _json_lines(run("admission_latency.py", "--seconds", "3" if args.quick else "5"))
    closed = latency[0]
    table.append(
        (
            "1. cached admissions over HTTPS",
            f"{closed['rate']}/s max; p99 {closed['p99_ms']} ms at c=16",
            "p99 <= 5 ms, >= 1000/s",
            ", ".join(f"{r['mode']}: p99 {r['p99_ms']} ms" for r in latency[1:]),
        )
    )
    for files in ("1", "20"):
        cold = _cold(run("cold_verify.py", "--size-mb", mb, "--files", files, "--runs", "3"))
        floor = cold.get("openssl dgst -sha256", 0.0)
        ours = cold.get("modelward pull+verify", 0.0)
        table.append(
            (
                f"2. cold verify {mb} MiB in {files} file(s)",
                f"{ours:.2f} s ({ours / floor:.2f} x openssl)" if floor else f"{ours:.2f} s",
                "<= 1.1 x openssl per core",
                f"openssl {floor:.2f} s, curl piped to openssl "
                f"{cold.get('curl piped to openssl dgst', 0):.2f} s, "
                f"sha256sum {cold.get('sha256sum', 0):.2f} s, "
                f"model_signing CLI {cold.get('model_signing verify (CLI)', 0):.2f} s",
            )
        )
    fast = run("fast_path.py", "--sizes-gb", "1", "20", "--runs", "3")
    found = re.findall(r"^\s*(\d+)GB\s+by digest \(fast path\)\s+(\d+\.\d+)$", fast, re.M)
    table.append(
        (
            "3. digest-bound fast path",
            ", ".join(f"{size} GB: {seconds} s" for size, seconds in found),
            "equal for 1 and 20 GB; no blob bytes",
            "decision from manifests and the signature only",
        )
    )
    scan = run("scan_speed.py", "--size-mb", mb, "--runs", "3")
    speeds = dict(re.findall(r"^\| (\w+) \| (\d+\.\d+) \|", scan, re.M))
    table.append(
        (
            f"4. scan a {mb} MiB PyTorch checkpoint",
            f"{speeds.get('modelward', '?')} s",
            "<= the fastest reference",
            ", ".join(f"{k} {v} s" for k, v in speeds.items() if k != "modelward"),
        )
    )
    rows = {
        r["bench"]: r
        for r in _json_lines(run("herd_memory.py", "--size-gb", "5" if not args.quick else gb))
    }
    memory, herd = rows["memory"], rows["herd"]
    table.append(
        (
            f"5. peak RSS verifying {memory['model_gb']} GB",
            f"{memory['peak_rss_mb']} MB",
            "bounded (streaming)",
            f"{memory['seconds']} s cold",
        )
    )
    table.append(
        (
            f"6. {herd['admissions']} concurrent admissions, one model",
            f"{herd['verifications']} verification, {herd['blob_reads']} blob reads",
            "one fetch, one verification",
            f"{herd['seconds']} s for all",
        )
    )
    print(f"\n{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| benchmark | modelward | target | reference / detail |\n|---|---|---|---|")
    for row in table:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
