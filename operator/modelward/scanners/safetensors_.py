"""safetensors: no code, but a header a loader trusts; check it is sane before anyone does."""

from __future__ import annotations

import itertools
import json
import struct
from collections.abc import Iterator
from typing import Any

from modelward.scanners.base import Blob, Budget, Finding, Severity

MAX_HEADER = 100 * 1024**2  # the safetensors library's own bound
DTYPE_BYTES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E5M2": 1,
    "F8_E4M3": 1,
    "F8_E8M0": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
    "C64": 8,
    "C128": 16,
}


class SafetensorsScanner:
    name = "safetensors"

    def scan(self, blob: Blob, budget: Budget) -> Iterator[Finding]:
        with blob.open() as stream:
            raw = stream.read(8)
            size = blob.size
            if size is None:
                size = stream.seek(0, 2)
                stream.seek(8)
            problem = _check(
                raw, stream.read(min(MAX_HEADER, max(0, size - 8))) if len(raw) == 8 else b"", size
            )
        if problem:
            yield Finding(
                "safetensors.invalid-header",
                Severity.HIGH,
                blob.at(),
                f"the safetensors header is invalid: {problem}",
            )


def _check(raw: bytes, rest: bytes, size: int) -> str | None:
    if len(raw) < 8:
        return "the file is shorter than the 8-byte header length"
    (length,) = struct.unpack("<Q", raw)
    if length > MAX_HEADER:
        return f"header length {length} exceeds {MAX_HEADER} bytes"
    if 8 + length > size:
        return f"header length {length} runs past the end of the file"
    try:
        header = json.loads(rest[:length])
    except (ValueError, UnicodeDecodeError, RecursionError):
        return "the header is not JSON"
    if not isinstance(header, dict):
        return "the header is not a JSON object"
    data_size = size - 8 - length
    spans: list[tuple[int, int, str]] = []
    for name, entry in header.items():
        if name == "__metadata__":
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                return "__metadata__ must map strings to strings"
            continue
        problem = _entry(name, entry, data_size, spans)
        if problem:
            return problem
    spans.sort()
    for (_, end, a), (start, _, b) in itertools.pairwise(spans):
        if start < end:
            return f"tensors {a!r} and {b!r} overlap"
    return None


def _entry(name: str, entry: Any, data_size: int, spans: list[tuple[int, int, str]]) -> str | None:
    if not isinstance(entry, dict):
        return f"tensor {name!r} is not an object"
    offsets, shape, dtype = entry.get("data_offsets"), entry.get("shape"), entry.get("dtype")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
    ):
        return f"tensor {name!r} has no [start, end] data_offsets"
    start, end = offsets
    if not 0 <= start <= end <= data_size:
        return f"tensor {name!r} data_offsets {offsets} fall outside the {data_size}-byte data"
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        return f"tensor {name!r} has a bad shape"
    if dtype not in DTYPE_BYTES:
        return f"tensor {name!r} has unknown dtype {dtype!r}"
    count = 1
    for d in shape:
        count *= d
    if count * DTYPE_BYTES[dtype] != end - start:
        return f"tensor {name!r} shape {shape} does not match its {end - start} bytes"
    spans.append((start, end, name))
    return None
