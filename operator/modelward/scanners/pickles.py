"""Pickle scanner: walks opcodes with `pickletools.genops` and tracks the stack symbolically.

Nothing is ever unpickled. The symbolic stack knows constants, containers and imported
globals, which is enough to resolve STACK_GLOBAL operands built from strings and the memo,
to see what REDUCE/INST/OBJ/NEWOBJ call, to skip the raw array data joblib writes inside its
pickle stream, and to scan pickles nested in byte strings.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import pickletools
import struct
from collections.abc import Iterator
from typing import Any, BinaryIO, cast

from modelward.scanners import allowlist
from modelward.scanners.base import Blob, Budget, Finding, Severity, malformed

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pt", ".pth", ".ckpt", ".p", ".dill", ".sav")
# torch.save's legacy (non-zip) format starts with this magic number, then 4 more pickles.
TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
PARSE_ERRORS = (
    ValueError,
    UnicodeDecodeError,
    EOFError,
    struct.error,
    OverflowError,
    IndexError,
    KeyError,
    TypeError,
)


@dataclasses.dataclass(frozen=True, slots=True)
class Global:
    module: str
    name: str


@dataclasses.dataclass(frozen=True, slots=True)
class Call:
    func: object
    args: object


class _Opaque:
    """A value the scanner does not model (the result of a call it allowed, a buffer)."""


OPAQUE = _Opaque()
_MARK = object()
MAX_LINE = 64 * 1024 * 1024  # protocol 0 arguments are lines
_JOBLIB_WRAPPERS = {
    Global("joblib.numpy_pickle", "NumpyArrayWrapper"),
    Global("sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper"),
}
_CONSTANTS = {
    "INT",
    "BININT",
    "BININT1",
    "BININT2",
    "LONG",
    "LONG1",
    "LONG4",
    "STRING",
    "BINSTRING",
    "SHORT_BINSTRING",
    "BINBYTES",
    "SHORT_BINBYTES",
    "BINBYTES8",
    "BYTEARRAY8",
    "UNICODE",
    "SHORT_BINUNICODE",
    "BINUNICODE",
    "BINUNICODE8",
    "FLOAT",
    "BINFLOAT",
}


class _Malformed(Exception):
    def __init__(self, why: str, offset: int | None) -> None:
        super().__init__(why)
        self.why = why
        self.offset = offset


def looks_like_pickle(name: str, head: bytes) -> bool:
    """Pickle by name, or by the PROTO opcode every protocol-2+ pickle starts with."""
    if name.lower().endswith(PICKLE_SUFFIXES):
        return True
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


class PickleScanner:
    """Pickles of every protocol, consecutive pickles in one file (legacy torch.save,
    joblib), and pickles nested in the byte strings of another."""

    name = "pickle"

    def scan(self, blob: Blob, budget: Budget) -> Iterator[Finding]:
        with blob.open() as stream:
            yield from scan_stream(stream, blob, budget)


def scan_stream(
    stream: BinaryIO, blob: Blob, budget: Budget, *, nested: int = 0
) -> Iterator[Finding]:
    """Scan the pickle at the stream's position and any that follow it."""
    machine = _Machine(blob, budget, stream, nested)
    count = 0
    legacy_left = 0
    while True:
        start = _tell(stream)
        findings, value, ok = machine.run_one()
        yield from findings
        count += 1
        if not ok:
            return
        if count == 1 and value == TORCH_LEGACY_MAGIC:
            legacy_left = 4  # protocol version, sys info, the object, the storage keys
        if legacy_left:
            legacy_left -= 1
            if legacy_left == 0:
                return  # raw tensor storage follows: not code
            continue
        head = _peek(stream, 2)
        if not (len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5):
            return
        if start == _tell(stream):
            return


def _tell(stream: BinaryIO) -> int | None:
    try:
        return stream.tell()
    except (OSError, AttributeError, io.UnsupportedOperation):
        return None


def _peek(stream: BinaryIO, n: int) -> bytes:
    pos = _tell(stream)
    data = stream.read(n)
    if pos is not None:
        stream.seek(pos)
    return data


class _Machine:
    def __init__(self, blob: Blob, budget: Budget, stream: BinaryIO, nested: int) -> None:
        self.blob = blob
        self.budget = budget
        self.stream = stream
        self.nested = nested

    def run_one(self) -> tuple[list[Finding], Any, bool]:
        """Scan one pickle up to its STOP: (findings, the value it leaves, parsed cleanly)."""
        findings: list[Finding] = []
        stack: list[Any] = []
        memo: dict[int, Any] = {}
        opcodes = 0
        last_offset: int | None = _tell(self.stream)
        try:
            ops = pickletools.genops(cast(BinaryIO, _Bounded(self.stream)))
            for opcode, arg, offset in ops:
                last_offset = offset
                opcodes += 1
                if opcodes > self.budget.limits.max_opcodes:
                    raise _Malformed(f"more than {self.budget.limits.max_opcodes} opcodes", offset)
                if opcode.name == "STOP":
                    value = stack.pop() if stack else None
                    return findings, value, True
                self._step(opcode.name, arg, offset, stack, memo, findings)
        except _Malformed as e:
            findings.append(malformed(self.blob, "pickle", e.why, e.offset))
            return findings, None, False
        except MemoryError:
            findings.append(
                malformed(self.blob, "pickle", "an argument too large to read", last_offset)
            )
            return findings, None, False
        except PARSE_ERRORS as e:
            findings.append(malformed(self.blob, "pickle", str(e) or type(e).__name__, last_offset))
            return findings, None, False
        findings.append(malformed(self.blob, "pickle", "no STOP opcode", last_offset))
        return findings, None, False

    def _step(
        self,
        name: str,
        arg: Any,
        offset: int | None,
        stack: list[Any],
        memo: dict[int, Any],
        findings: list[Finding],
    ) -> None:
        def pop() -> Any:
            if not stack or stack[-1] is _MARK:
                raise _Malformed(f"{name} on an empty stack", offset)
            return stack.pop()

        def pop_mark() -> list[Any]:
            for i in range(len(stack) - 1, -1, -1):
                if stack[i] is _MARK:
                    items = stack[i + 1 :]
                    del stack[i:]
                    return items
            raise _Malformed(f"{name} without a MARK", offset)

        def importing(module: Any, attr: Any) -> Any:
            if not isinstance(module, str) or not isinstance(attr, str):
                findings.append(
                    Finding(
                        "pickle.dynamic-global",
                        Severity.HIGH,
                        self.blob.at(offset, name),
                        "STACK_GLOBAL takes its module or name from a value that is not a "
                        "constant string",
                    )
                )
                return OPAQUE
            self._check_global(module, attr, offset, name, findings)
            return Global(module, attr)

        def calling(func: Any, args: Any) -> Any:
            if not isinstance(func, Global):
                findings.append(
                    Finding(
                        "pickle.indirect-call",
                        Severity.HIGH,
                        self.blob.at(offset, name),
                        "the pickle calls a value that is not an imported global "
                        "(a callable built at load time)",
                    )
                )
            return Call(func, args)

        if name in _CONSTANTS:
            if isinstance(arg, bytes | bytearray) and len(arg) >= 4 and arg[0] == 0x80:
                self._nested(bytes(arg), offset, findings)
            stack.append(arg)
        elif name in ("NONE", "NEWTRUE", "NEWFALSE"):
            stack.append({"NONE": None, "NEWTRUE": True, "NEWFALSE": False}[name])
        elif name in ("PROTO", "FRAME"):
            pass
        elif name == "MARK":
            stack.append(_MARK)
        elif name == "EMPTY_LIST":
            stack.append([])
        elif name in ("EMPTY_DICT",):
            stack.append({})
        elif name == "EMPTY_TUPLE":
            stack.append(())
        elif name == "EMPTY_SET":
            stack.append(set())
        elif name in ("TUPLE", "LIST", "FROZENSET"):
            items = pop_mark()
            stack.append(tuple(items) if name != "LIST" else items)
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            n = int(name[-1])
            items = [pop() for _ in range(n)][::-1]
            stack.append(tuple(items))
        elif name == "DICT":
            items = pop_mark()
            stack.append(_dict(items))
        elif name == "APPEND":
            value = pop()
            _append(pop_keep(stack, name, offset), [value])
        elif name == "APPENDS":
            items = pop_mark()
            _append(pop_keep(stack, name, offset), items)
        elif name == "SETITEM":
            value, key = pop(), pop()
            _setitems(pop_keep(stack, name, offset), [key, value])
        elif name == "SETITEMS":
            items = pop_mark()
            _setitems(pop_keep(stack, name, offset), items)
        elif name == "ADDITEMS":
            pop_mark()
        elif name == "POP":
            if stack:
                stack.pop()
            else:
                raise _Malformed("POP on an empty stack", offset)
        elif name == "POP_MARK":
            pop_mark()
        elif name == "DUP":
            stack.append(pop_keep(stack, name, offset))
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[int(arg)] = pop_keep(stack, name, offset)
        elif name == "MEMOIZE":
            memo[len(memo)] = pop_keep(stack, name, offset)
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            if int(arg) not in memo:
                raise _Malformed(f"{name} reads memo slot {arg}, which was never set", offset)
            stack.append(memo[int(arg)])
        elif name == "GLOBAL":
            module, _, attr = str(arg).partition(" ")
            stack.append(importing(module, attr))
        elif name == "STACK_GLOBAL":
            attr, module = pop(), pop()
            stack.append(importing(module, attr))
        elif name == "INST":
            module, _, attr = str(arg).partition(" ")
            func = importing(module, attr)
            stack.append(calling(func, tuple(pop_mark())))
        elif name == "OBJ":
            items = pop_mark()
            if not items:
                raise _Malformed("OBJ without a class", offset)
            stack.append(calling(items[0], tuple(items[1:])))
        elif name in ("REDUCE", "NEWOBJ"):
            args = pop()
            stack.append(calling(pop(), args))
        elif name == "NEWOBJ_EX":
            kwargs, args = pop(), pop()
            stack.append(calling(pop(), (args, kwargs)))
        elif name == "BUILD":
            state = pop()
            target = pop_keep(stack, name, offset)
            if isinstance(target, Call) and target.func in _JOBLIB_WRAPPERS:
                self._joblib_array(state, offset, findings)
        elif name in ("PERSID", "BINPERSID"):
            if name == "BINPERSID":
                pop()
            stack.append(OPAQUE)
        elif name in ("EXT1", "EXT2", "EXT4"):
            findings.append(
                Finding(
                    "pickle.extension-code",
                    Severity.HIGH,
                    self.blob.at(offset, name),
                    f"the pickle imports through copyreg extension code {arg}, which can name "
                    "any global",
                )
            )
            stack.append(OPAQUE)
        elif name in ("NEXT_BUFFER",):
            stack.append(OPAQUE)
        elif name == "READONLY_BUFFER":
            pass
        else:
            raise _Malformed(f"unsupported opcode {name}", offset)

    def _check_global(
        self, module: str, attr: str, offset: int | None, opcode: str, findings: list[Finding]
    ) -> None:
        if allowlist.allowed(module, attr):
            return
        where = self.blob.at(offset, opcode, f"{module}.{attr}")
        if allowlist.dangerous(module, attr):
            findings.append(
                Finding(
                    "pickle.dangerous-global",
                    Severity.CRITICAL,
                    where,
                    f"the pickle imports {module}.{attr}, which can run commands or code "
                    "when the model is loaded",
                )
            )
        else:
            findings.append(
                Finding(
                    "pickle.unsafe-global",
                    Severity.HIGH,
                    where,
                    f"the pickle imports {module}.{attr}, which is not on the list of "
                    "globals known to be safe in model files",
                )
            )

    def _nested(self, data: bytes, offset: int | None, findings: list[Finding]) -> None:
        if self.nested >= self.budget.limits.max_depth:
            return
        if len(data) > self.budget.limits.max_nested_pickle_bytes or not 2 <= data[1] <= 5:
            return
        inner = Blob(
            f"{self.blob.name}@{offset}", lambda: io.BytesIO(data), len(data), self.blob.depth
        )
        nested = list(scan_stream(io.BytesIO(data), inner, self.budget, nested=self.nested + 1))
        # Bytes that merely start like a pickle but are not one (tensor data) are not a finding.
        if nested and not all(f.rule == "pickle.malformed" for f in nested):
            findings.extend(nested)

    def _joblib_array(self, state: Any, offset: int | None, findings: list[Finding]) -> None:
        """Skip (or scan, for object arrays) the array data joblib writes after the wrapper."""
        if not isinstance(state, dict):
            raise _Malformed("joblib array wrapper without a state dict", offset)
        dtype = state.get("dtype")
        shape = state.get("shape")
        if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise _Malformed("joblib array wrapper with a bad shape", offset)
        itemsize, is_object = _dtype_itemsize(dtype)
        if is_object:
            findings.extend(
                scan_stream(self.stream, self.blob, self.budget, nested=self.nested + 1)
            )
            return
        if itemsize is None:
            raise _Malformed("joblib array wrapper with a dtype the scanner cannot size", offset)
        if state.get("numpy_array_alignment_bytes") is not None:
            pad = self.stream.read(1)
            if len(pad) != 1:
                raise _Malformed("truncated joblib array padding", offset)
            self._skip(pad[0], offset)
        count = 1
        for d in shape:
            count *= d
        self._skip(count * itemsize, offset)

    def _skip(self, n: int, offset: int | None) -> None:
        pos = _tell(self.stream)
        if pos is not None and self.stream.seekable():
            end = self.stream.seek(0, io.SEEK_END)
            if pos + n > end:
                raise _Malformed("joblib array data runs past the end of the file", offset)
            self.stream.seek(pos + n)
            return
        while n > 0:
            chunk = self.stream.read(min(n, 1 << 20))
            if not chunk:
                raise _Malformed("joblib array data runs past the end of the file", offset)
            n -= len(chunk)


class _Bounded:
    """The pickle stream as genops reads it, where a length field larger than the rest of
    the file reads what is there (and fails as truncated) instead of allocating it."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._end: int | None = None
        if stream.seekable():
            pos = stream.tell()
            self._end = stream.seek(0, io.SEEK_END)
            stream.seek(pos)

    def read(self, n: int = -1) -> bytes:
        if self._end is not None and n > 1 << 16:
            n = max(0, min(n, self._end - self._stream.tell()))
        return self._stream.read(n)

    def readline(self) -> bytes:
        return self._stream.readline(MAX_LINE)

    def tell(self) -> int:
        return self._stream.tell()


def pop_keep(stack: list[Any], name: str, offset: int | None) -> Any:
    """The top of the stack, left in place."""
    if not stack or stack[-1] is _MARK:
        raise _Malformed(f"{name} on an empty stack", offset)
    return stack[-1]


def _dict(items: list[Any]) -> Any:
    result: dict[Any, Any] = {}
    _setitems(result, items)
    return result


def _append(target: Any, items: list[Any]) -> None:
    if isinstance(target, list):
        target.extend(items)


def _setitems(target: Any, items: list[Any]) -> None:
    if not isinstance(target, dict):
        return
    for key, value in zip(items[::2], items[1::2], strict=False):
        # An unhashable key (a list): such dicts are not read by the scanner.
        with contextlib.suppress(TypeError):
            target[key] = value


_DTYPE_SIZES = {"b": 1, "?": 1}


def _dtype_itemsize(dtype: Any) -> tuple[int | None, bool]:
    """(itemsize, is object dtype) of a pickled `numpy.dtype(...)` call with its BUILD state."""
    if not isinstance(dtype, Call) or dtype.func != Global("numpy", "dtype"):
        return None, False
    args = dtype.args
    if not isinstance(args, tuple) or not args or not isinstance(args[0], str):
        return None, False
    code = args[0]
    if code.startswith("O"):
        return None, True
    digits = "".join(c for c in code if c.isdigit())
    if digits:
        size = int(digits)
        return (size * 4 if code.startswith("U") else size), False
    return _DTYPE_SIZES.get(code[:1]), False
