from __future__ import annotations

import io

import pytest

from modelward.scanners import base, safetensors_
from tests.scanners import corpus

T = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\x01\x00", "shorter"),
        (corpus.safetensors({"w": T}, b"\0" * 8, length=3), "not JSON"),
        (corpus.safetensors({"w": {**T, "dtype": "X9"}}, b"\0" * 8), "unknown dtype"),
        (corpus.safetensors({"w": {**T, "shape": [3]}}, b"\0" * 8), "does not match"),
        (corpus.safetensors({"w": {**T, "data_offsets": [4, 2]}}, b"\0" * 8), "fall outside"),
        (corpus.safetensors({"__metadata__": {"a": 1}}, b""), "__metadata__"),
        (corpus.safetensors([1], b""), "not a JSON object"),  # type: ignore[arg-type]
    ],
)
def test_invalid_headers(data: bytes, why: str) -> None:
    blob = base.Blob("m.safetensors", lambda: io.BytesIO(data), len(data))
    (finding,) = safetensors_.SafetensorsScanner().scan(blob, base.Budget(base.Limits()))
    assert finding.rule == "safetensors.invalid-header"
    assert why in finding.message
