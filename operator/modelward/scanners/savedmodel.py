"""TensorFlow SavedModel (`saved_model.pb`): graph ops that touch files or run Python.

Field numbers are those of tensorflow's saved_model.proto, meta_graph.proto, graph.proto,
function.proto and node_def.proto.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from modelward.scanners import protowire
from modelward.scanners.base import Blob, Budget, Finding, Severity, malformed

DANGEROUS_OPS = {
    "PyFunc": Severity.CRITICAL,
    "PyFuncStateless": Severity.CRITICAL,
    "EagerPyFunc": Severity.CRITICAL,
    "ReadFile": Severity.HIGH,
    "WriteFile": Severity.HIGH,
    "MatchingFiles": Severity.MEDIUM,
    "ImmutableConst": Severity.MEDIUM,
}
_SAVED_META_GRAPHS = 2
_META_GRAPH_DEF = 2
_GRAPH_NODE, _GRAPH_LIBRARY = 1, 2
_LIBRARY_FUNCTION = 1
_FUNCTION_NODE = 3
_NODE_NAME, _NODE_OP = 1, 2


class SavedModelScanner:
    name = "savedmodel"

    def scan(self, blob: Blob, budget: Budget) -> Iterator[Finding]:
        findings: list[Finding] = []
        with blob.open() as stream:
            end = stream.seek(0, 2)
            try:
                for number, wire, begin, length in protowire.fields(stream, 0, end):
                    if wire == protowire.LENGTH and number == _SAVED_META_GRAPHS:
                        _meta_graph(stream, begin, begin + length, blob, findings)
            except protowire.WireError as e:
                findings.append(malformed(blob, "savedmodel", str(e)))
        yield from findings


def _meta_graph(stream: BinaryIO, start: int, end: int, blob: Blob, out: list[Finding]) -> None:
    for number, wire, begin, length in protowire.fields(stream, start, end):
        if wire == protowire.LENGTH and number == _META_GRAPH_DEF:
            _graph(stream, begin, begin + length, blob, out)


def _graph(stream: BinaryIO, start: int, end: int, blob: Blob, out: list[Finding]) -> None:
    for number, wire, begin, length in protowire.fields(stream, start, end):
        if wire != protowire.LENGTH:
            continue
        if number == _GRAPH_NODE:
            _node(stream, begin, begin + length, blob, out)
        elif number == _GRAPH_LIBRARY:
            for n, w, b, ln in protowire.fields(stream, begin, begin + length):
                if w == protowire.LENGTH and n == _LIBRARY_FUNCTION:
                    for n2, w2, b2, ln2 in protowire.fields(stream, b, b + ln):
                        if w2 == protowire.LENGTH and n2 == _FUNCTION_NODE:
                            _node(stream, b2, b2 + ln2, blob, out)


def _node(stream: BinaryIO, start: int, end: int, blob: Blob, out: list[Finding]) -> None:
    name = op = ""
    for number, wire, begin, length in protowire.fields(stream, start, end):
        if wire != protowire.LENGTH:
            continue
        if number == _NODE_NAME:
            name = protowire.read(stream, begin, length).decode("utf-8", "replace")
        elif number == _NODE_OP:
            op = protowire.read(stream, begin, length).decode("utf-8", "replace")
    if op in DANGEROUS_OPS:
        out.append(
            Finding(
                "tensorflow.dangerous-op",
                DANGEROUS_OPS[op],
                blob.at(opcode=op, name=name),
                f"graph node {name!r} uses op {op}, which reads or writes files or runs Python",
            )
        )
