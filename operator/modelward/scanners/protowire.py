"""A minimal protobuf wire-format walker over a file: reads the few fields a scanner needs
and seeks over the rest (tensor data), so cost follows the graph, not the weights.

The ONNX and TensorFlow packages would parse these files fully, but they pull in numpy and
hundreds of megabytes for three fields each.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

VARINT, FIXED64, LENGTH, START_GROUP, END_GROUP, FIXED32 = 0, 1, 2, 3, 4, 5


class WireError(Exception):
    """The bytes are not a well-formed protobuf message."""


def _varint(stream: BinaryIO, end: int) -> int:
    result = shift = 0
    while True:
        if stream.tell() >= end:
            raise WireError("a varint runs past its message")
        byte = stream.read(1)
        if not byte:
            raise WireError("truncated varint")
        result |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return result
        shift += 7
        if shift > 63:
            raise WireError("varint too long")


def fields(stream: BinaryIO, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """Yield (field number, wire type, value or payload start, payload length) in [start, end).

    For VARINT the third item is the value; for LENGTH, the payload is left unread: the
    caller reads it or recurses into it. Fixed-size fields are skipped.
    """
    pos = start
    while pos < end:
        stream.seek(pos)
        key = _varint(stream, end)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            yield number, wire, _varint(stream, end), 0
        elif wire == LENGTH:
            length = _varint(stream, end)
            begin = stream.tell()
            if begin + length > end:
                raise WireError(f"field {number} runs past its message")
            yield number, wire, begin, length
            stream.seek(begin + length)
        elif wire == FIXED64:
            stream.seek(stream.tell() + 8)
        elif wire == FIXED32:
            stream.seek(stream.tell() + 4)
        else:
            raise WireError(f"unsupported wire type {wire}")
        pos = stream.tell()
        if pos > end:
            raise WireError("a field runs past its message")


def read(stream: BinaryIO, begin: int, length: int, limit: int = 1 << 20) -> bytes:
    """A length-delimited payload (strings), bounded."""
    if length > limit:
        raise WireError(f"a string of {length} bytes exceeds the bound")
    stream.seek(begin)
    data = stream.read(length)
    if len(data) != length:
        raise WireError("truncated string")
    return data
