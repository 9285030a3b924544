"""Scan time of a 1 GB PyTorch-style checkpoint: modelward against picklescan, modelscan and
modelaudit (each tool's Python API, imports excluded; median of --runs).

Run: `.venv/bin/python bench/scan_speed.py [--size-mb 1024] [--runs 3]`. The checkpoint is a
zip laid out as torch.save writes it (archive/data.pkl + one stored entry per tensor), built
by hand: torch is not needed.
"""

from __future__ import annotations

import argparse
import collections
import pathlib
import statistics
import sys
import tempfile
import time

sys.path[:0] = [
    str(pathlib.Path(__file__).resolve().parent.parent / p) for p in ("operator", ".", "bench")
]

import _tools  # noqa: E402
from tests.scanners import corpus  # noqa: E402

from modelward.scanners import dispatch  # noqa: E402

TENSOR_MB = 64


def build(path: pathlib.Path, size_mb: int) -> None:
    count = max(1, size_mb // TENSOR_MB)
    side = int((TENSOR_MB * 1024 * 1024 // 4) ** 0.5)
    with corpus.stand_in_modules():
        state = collections.OrderedDict(
            (f"layers.{i}.weight", corpus._tensor(str(i), side, side)) for i in range(count)
        )
        corpus.torch_zip(path, state)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--venv", type=pathlib.Path, default=_tools.DEFAULT_VENV)
    args = parser.parse_args()
    _tools.ensure_venv(args.venv)
    with tempfile.TemporaryDirectory(dir=pathlib.Path.home()) as scratch:
        path = pathlib.Path(scratch) / "checkpoint.pt"
        build(path, args.size_mb)
        size = path.stat().st_size
        rows = []
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            findings = dispatch.scan_path(path)
            times.append(time.perf_counter() - started)
        assert not findings, findings
        rows.append(("modelward", times))
        for tool in ("picklescan", "modelscan", "modelaudit"):
            rows.append((tool, _tools.timed(args.venv, tool, path, args.runs)))
    print(f"checkpoint: {size / 1024**3:.2f} GiB, {args.runs} runs, median seconds\n")
    print("| scanner | median s | min s |\n|---|---|---|")
    for tool, values in rows:
        print(f"| {tool} | {statistics.median(values):.3f} | {min(values):.3f} |")


if __name__ == "__main__":
    main()
