"""GGUF: walk the metadata (never the tensors) and check chat templates for Jinja escapes."""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from typing import BinaryIO

from modelward.scanners.base import Blob, Budget, Finding, Severity, malformed

MAGIC = b"GGUF"
_SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
STRING, ARRAY = 8, 9
MAX_KV = 1_000_000
MAX_STRING = 64 * 1024**2
# Server-side template injection needs Python internals or helpers that reach them; a chat
# template needs none of these.
SUSPICIOUS = re.compile(
    r"__\w+__|\bmro\b|\bsubclasses\b|\bglobals\b|\bbuiltins\b|\bimport\b|\bos\.|\bpopen\b|"
    r"\beval\b|\bexec\b|\bsubprocess\b|\blipsum\b|\bcycler\b|\bjoiner\b|\|\s*attr\b|"
    r"\battr\s*\(|\bgetattr\b|\bself\._"
)


class _Truncated(Exception):
    pass


class GgufScanner:
    name = "gguf"

    def scan(self, blob: Blob, budget: Budget) -> Iterator[Finding]:
        with blob.open() as stream:
            try:
                yield from _scan(stream, blob, budget)
            except _Truncated as e:
                yield malformed(blob, "gguf", str(e) or "truncated metadata")


def _read(stream: BinaryIO, n: int) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise _Truncated("the metadata ends early")
    return data


def _string(stream: BinaryIO) -> bytes:
    (n,) = struct.unpack("<Q", _read(stream, 8))
    if n > MAX_STRING:
        raise _Truncated(f"a string of {n} bytes exceeds the bound")
    return _read(stream, n)


def _skip_value(stream: BinaryIO, vtype: int, depth: int = 0) -> None:
    if vtype in _SCALAR:
        _read(stream, _SCALAR[vtype])
    elif vtype == STRING:
        _string(stream)
    elif vtype == ARRAY and depth < 4:
        (etype,) = struct.unpack("<I", _read(stream, 4))
        (count,) = struct.unpack("<Q", _read(stream, 8))
        if etype in _SCALAR:
            _read_skip(stream, count * _SCALAR[etype])
        else:
            for _ in range(count):
                _skip_value(stream, etype, depth + 1)
    else:
        raise _Truncated(f"unknown metadata value type {vtype}")


def _read_skip(stream: BinaryIO, n: int) -> None:
    pos = stream.tell()
    end = stream.seek(0, 2)
    if pos + n > end:
        raise _Truncated("an array runs past the end of the file")
    stream.seek(pos + n)


def _scan(stream: BinaryIO, blob: Blob, budget: Budget) -> Iterator[Finding]:
    if _read(stream, 4) != MAGIC:
        raise _Truncated("no GGUF magic")
    (version,) = struct.unpack("<I", _read(stream, 4))
    if version not in (2, 3):
        raise _Truncated(f"unsupported GGUF version {version}")
    _tensors, kv_count = struct.unpack("<QQ", _read(stream, 16))
    if kv_count > MAX_KV:
        raise _Truncated(f"{kv_count} metadata entries exceed the bound")
    for _ in range(kv_count):
        key = _string(stream).decode("utf-8", "replace")
        (vtype,) = struct.unpack("<I", _read(stream, 4))
        if vtype == STRING and key.startswith("tokenizer.chat_template"):
            template = _string(stream).decode("utf-8", "replace")
            hits = sorted({m.group(0) for m in SUSPICIOUS.finditer(template)})
            if hits:
                yield Finding(
                    "gguf.suspicious-template",
                    Severity.HIGH,
                    blob.at(name=key),
                    "the chat template uses constructs that reach Python internals "
                    f"({', '.join(hits[:5])}): a template injection runs code in the server",
                )
        else:
            _skip_value(stream, vtype)
