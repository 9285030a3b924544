"""NumPy `.npy` files: the header is a Python literal; object arrays carry a pickle."""

from __future__ import annotations

import ast
import struct
from collections.abc import Iterator
from typing import BinaryIO

from modelward.scanners import pickles
from modelward.scanners.base import Blob, Budget, Finding, Severity, malformed

MAGIC = b"\x93NUMPY"
MAX_HEADER = 1 << 20


class NpyScanner:
    name = "numpy"

    def scan(self, blob: Blob, budget: Budget) -> Iterator[Finding]:
        with blob.open() as stream:
            yield from scan_npy(stream, blob, budget)


def scan_npy(stream: BinaryIO, blob: Blob, budget: Budget) -> Iterator[Finding]:
    head = stream.read(8)
    if len(head) < 8 or not head.startswith(MAGIC):
        yield malformed(blob, "numpy", "no .npy magic")
        return
    major = head[6]
    if major == 1:
        raw = stream.read(2)
        size = struct.unpack("<H", raw)[0] if len(raw) == 2 else -1
    elif major in (2, 3):
        raw = stream.read(4)
        size = struct.unpack("<I", raw)[0] if len(raw) == 4 else -1
    else:
        yield malformed(blob, "numpy", f"unknown format version {major}")
        return
    if not 0 <= size <= MAX_HEADER:
        yield malformed(blob, "numpy", "header length out of bounds")
        return
    text = stream.read(size)
    try:
        header = ast.literal_eval(text.decode("utf-8" if major == 3 else "latin1"))
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError):
        yield malformed(blob, "numpy", "the header is not a Python literal")
        return
    if not isinstance(header, dict) or not {"descr", "fortran_order", "shape"} <= set(header):
        yield malformed(blob, "numpy", "the header lacks descr, fortran_order or shape")
        return
    if _has_object(header["descr"]):
        yield Finding(
            "numpy.object-array",
            Severity.MEDIUM,
            blob.at(),
            "the array has dtype object: its data is a pickle, loaded only with allow_pickle=True",
        )
        yield from pickles.scan_stream(stream, blob, budget)


def _has_object(descr: object) -> bool:
    if isinstance(descr, str):
        return "O" in descr.lstrip("<>|=")[:1]
    if isinstance(descr, list | tuple):
        return any(_has_object(part) for part in descr)
    return False
