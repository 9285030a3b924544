"""ONNX: external data paths that leave the model directory, and operators from custom domains.

Field numbers are those of onnx.proto (ModelProto, GraphProto, NodeProto, TensorProto,
AttributeProto, StringStringEntryProto).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import BinaryIO

from modelward.scanners import protowire
from modelward.scanners.base import Blob, Budget, Finding, Severity, malformed

STANDARD_DOMAINS = frozenset(
    {"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training", "com.microsoft"}
)
MAX_DEPTH = 32
_MODEL_GRAPH, _MODEL_FUNCTIONS = 7, 25
_GRAPH_NODE, _GRAPH_INITIALIZER, _GRAPH_SPARSE = 1, 5, 15
_NODE_OP, _NODE_DOMAIN, _NODE_ATTRIBUTE = 4, 7, 5
_FUNCTION_NODE = 7
_ATTR_T, _ATTR_G, _ATTR_TENSORS, _ATTR_GRAPHS = 5, 6, 10, 11
_TENSOR_EXTERNAL = 13
_SPARSE_VALUES, _SPARSE_INDICES = 1, 2


class OnnxScanner:
    name = "onnx"

    def scan(self, blob: Blob, budget: Budget) -> Iterator[Finding]:
        with blob.open() as stream:
            end = stream.seek(0, 2)
            walker = _Walker(stream, blob)
            try:
                walker.model(0, end)
            except protowire.WireError as e:
                walker.findings.append(malformed(blob, "onnx", str(e)))
        yield from walker.findings


class _Walker:
    def __init__(self, stream: BinaryIO, blob: Blob) -> None:
        self.stream = stream
        self.blob = blob
        self.findings: list[Finding] = []
        self.custom: set[tuple[str, str]] = set()

    def model(self, start: int, end: int) -> None:
        for number, wire, begin, length in protowire.fields(self.stream, start, end):
            if wire != protowire.LENGTH:
                continue
            if number == _MODEL_GRAPH:
                self.graph(begin, begin + length, 0)
            elif number == _MODEL_FUNCTIONS:
                self.function(begin, begin + length, 0)

    def graph(self, start: int, end: int, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise protowire.WireError("subgraphs nested too deeply")
        for number, wire, begin, length in protowire.fields(self.stream, start, end):
            if wire != protowire.LENGTH:
                continue
            if number == _GRAPH_NODE:
                self.node(begin, begin + length, depth)
            elif number == _GRAPH_INITIALIZER:
                self.tensor(begin, begin + length)
            elif number == _GRAPH_SPARSE:
                for n, w, b, ln in protowire.fields(self.stream, begin, begin + length):
                    if w == protowire.LENGTH and n in (_SPARSE_VALUES, _SPARSE_INDICES):
                        self.tensor(b, b + ln)

    def function(self, start: int, end: int, depth: int) -> None:
        for number, wire, begin, length in protowire.fields(self.stream, start, end):
            if wire == protowire.LENGTH and number == _FUNCTION_NODE:
                self.node(begin, begin + length, depth)

    def node(self, start: int, end: int, depth: int) -> None:
        op = domain = ""
        for number, wire, begin, length in protowire.fields(self.stream, start, end):
            if wire != protowire.LENGTH:
                continue
            if number == _NODE_OP:
                op = protowire.read(self.stream, begin, length).decode("utf-8", "replace")
            elif number == _NODE_DOMAIN:
                domain = protowire.read(self.stream, begin, length).decode("utf-8", "replace")
            elif number == _NODE_ATTRIBUTE:
                self.attribute(begin, begin + length, depth)
        if domain not in STANDARD_DOMAINS and (domain, op) not in self.custom:
            self.custom.add((domain, op))
            self.findings.append(
                Finding(
                    "onnx.custom-op",
                    Severity.MEDIUM,
                    self.blob.at(name=f"{domain}::{op}"),
                    f"operator {op!r} of custom domain {domain!r} needs a custom-op library "
                    "(native code) in the runtime",
                )
            )

    def attribute(self, start: int, end: int, depth: int) -> None:
        for number, wire, begin, length in protowire.fields(self.stream, start, end):
            if wire != protowire.LENGTH:
                continue
            if number in (_ATTR_G, _ATTR_GRAPHS):
                self.graph(begin, begin + length, depth + 1)
            elif number in (_ATTR_T, _ATTR_TENSORS):
                self.tensor(begin, begin + length)

    def tensor(self, start: int, end: int) -> None:
        for number, wire, begin, length in protowire.fields(self.stream, start, end):
            if wire != protowire.LENGTH or number != _TENSOR_EXTERNAL:
                continue
            key = value = ""
            for n, w, b, ln in protowire.fields(self.stream, begin, begin + length):
                if w == protowire.LENGTH and n == 1:
                    key = protowire.read(self.stream, b, ln).decode("utf-8", "replace")
                elif w == protowire.LENGTH and n == 2:
                    value = protowire.read(self.stream, b, ln).decode("utf-8", "replace")
            if key == "location" and _escapes(value):
                self.findings.append(
                    Finding(
                        "onnx.external-data-escape",
                        Severity.HIGH,
                        self.blob.at(name=value),
                        f"external data location {value!r} points outside the model directory: "
                        "loading reads an arbitrary file",
                    )
                )


def _escapes(location: str) -> bool:
    path = location.replace("\\", "/")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        return True
    return posixpath.normpath(path).startswith("..")
