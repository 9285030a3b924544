"""Damaged copies of every corpus file: each scanner reports what it cannot parse as a
finding of its own format, never crashes."""

from __future__ import annotations

import pathlib
import random

import pytest

from modelward.scanners import dispatch
from tests.scanners import corpus

with corpus.stand_in_modules():
    NAMES = [s.name for s, _ in corpus._samples()]


@pytest.mark.parametrize("name", NAMES)
def test_damaged_files_never_crash_a_scanner(
    corpus_dir: pathlib.Path, tmp_path: pathlib.Path, name: str
) -> None:
    data = (corpus_dir / name).read_bytes()
    rng = random.Random(name)
    variants = [data[: len(data) * k // 5] for k in range(1, 5)]
    for _ in range(8):
        damaged = bytearray(data)
        for _ in range(4):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        variants.append(bytes(damaged))
    target = tmp_path / pathlib.PurePath(name).name
    for variant in variants:
        target.write_bytes(variant)
        findings = dispatch.scan_path(target)
        assert not [f for f in findings if f.rule == "scanner.error"], [str(f) for f in findings]
