"""Generate a labelled corpus of malicious and benign model files, one per technique.

Payloads are harmless (`os.getcwd`, `builtins.print`, `getpass.getuser`) but every file is
crafted for real with the writer its format has: `pickle` at every protocol, `zipfile` for
PyTorch-style checkpoints, `joblib`, `numpy`, `h5py`, hand-encoded protobuf for ONNX and
SavedModel. Torch and scikit-learn are not installed: their globals are provided by stand-in
modules placed in `sys.modules` while pickling, so the pickles carry exactly the
`torch._utils._rebuild_tensor_v2` / `sklearn...` imports the real libraries write.

    python -m tests.scanners.corpus OUT_DIR   # writes the files and OUT_DIR/labels.json
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import io
import json
import os
import pathlib
import pickle
import struct
import sys
import tarfile
import types
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import h5py
import joblib
import numpy as np

MALICIOUS, BENIGN = "malicious", "benign"


@dataclasses.dataclass(frozen=True)
class Sample:
    name: str  # file name under the corpus directory
    label: str
    technique: str
    rules: tuple[str, ...] = ()  # rule ids a scanner must report (malicious samples)


# --- payloads -------------------------------------------------------------------------------


class Getcwd:
    def __reduce__(self) -> tuple[Any, ...]:
        return (os.getcwd, ())


class Print:
    def __reduce__(self) -> tuple[Any, ...]:
        return (print, ("harmless",))


class Getuser:
    """A global no denylist names: only an allowlist catches it."""

    def __reduce__(self) -> tuple[Any, ...]:
        import getpass

        return (getpass.getuser, ())


# --- stand-ins for torch and scikit-learn ---------------------------------------------------


def _rebuild_tensor_v2(*args: Any) -> None: ...
def _rebuild_parameter(*args: Any) -> None: ...


class FloatStorage: ...


class Size(tuple):  # type: ignore[type-arg]
    pass


@contextlib.contextmanager
def stand_in_modules() -> Iterator[dict[str, types.ModuleType]]:
    """`torch`, `torch._utils` and scikit-learn modules with the names their pickles import."""
    made: dict[str, types.ModuleType] = {}

    def module(name: str, **attrs: Any) -> types.ModuleType:
        mod = types.ModuleType(name)
        for key, value in attrs.items():
            if isinstance(value, type) or callable(value):
                value.__module__ = name
                value.__qualname__ = key
            setattr(mod, key, value)
        made[name] = mod
        return mod

    class LogisticRegression:
        def __init__(self) -> None:
            self.C = 1.0
            self.penalty = "l2"
            self.coef_ = np.arange(6, dtype=np.float64).reshape(2, 3)
            self.intercept_ = np.zeros(2)
            self.classes_ = np.array([0, 1])
            self._sklearn_version = "1.5.0"

    class Tree:
        def __init__(self, n_features: int, n_classes: Any, n_outputs: int) -> None:
            self.args = (n_features, n_classes, n_outputs)

        def __reduce__(self) -> tuple[Any, ...]:
            state = {"max_depth": 3, "node_count": 5, "nodes": np.zeros(5), "values": np.ones(5)}
            return (Tree, self.args, state)

    class DecisionTreeClassifier:
        def __init__(self) -> None:
            self.max_depth = 3
            self.tree_ = Tree(4, np.array([2]), 1)
            self.random_state = np.random.RandomState(0)

    class StandardScaler:
        def __init__(self) -> None:
            self.mean_ = np.ones(3)
            self.scale_ = np.ones(3)

    class Pipeline:
        def __init__(self) -> None:
            self.steps = [("scale", StandardScaler()), ("clf", LogisticRegression())]

    torch = module("torch", FloatStorage=FloatStorage, Size=Size)
    module(
        "torch._utils", _rebuild_tensor_v2=_rebuild_tensor_v2, _rebuild_parameter=_rebuild_parameter
    )
    module("sklearn.linear_model._logistic", LogisticRegression=LogisticRegression)
    module("sklearn.tree._tree", Tree=Tree)
    module("sklearn.tree._classes", DecisionTreeClassifier=DecisionTreeClassifier)
    module("sklearn.preprocessing._data", StandardScaler=StandardScaler)
    module("sklearn.pipeline", Pipeline=Pipeline)
    torch._utils = made["torch._utils"]  # type: ignore[attr-defined]
    for name in list(made):
        parts = name.split(".")
        for i in range(1, len(parts)):
            parent = ".".join(parts[:i])
            if parent not in made and parent not in sys.modules:
                made[parent] = types.ModuleType(parent)
    saved = {name: sys.modules.get(name) for name in made}
    sys.modules.update(made)
    try:
        yield made
    finally:
        for name, old in saved.items():
            if old is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = old


@dataclasses.dataclass
class _Storage:
    key: str
    data: bytes


class _Tensor:
    def __init__(self, storage: _Storage, shape: tuple[int, ...]) -> None:
        self.storage, self.shape = storage, shape

    def __reduce__(self) -> tuple[Any, ...]:
        stride = tuple(int(np.prod(self.shape[i + 1 :])) for i in range(len(self.shape)))
        return (
            _rebuild_tensor_v2,
            (self.storage, 0, Size(self.shape), stride, False, collections.OrderedDict()),
        )


class _TorchPickler(pickle.Pickler):
    """Writes storages as torch does: persistent ids ('storage', FloatStorage, key, 'cpu', n)."""

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, _Storage):
            return ("storage", FloatStorage, obj.key, "cpu", len(obj.data) // 4)
        return None


def _torch_pickle(obj: Any) -> tuple[bytes, list[_Storage]]:
    storages: list[_Storage] = []

    def collect(value: Any) -> None:
        if isinstance(value, _Tensor) and value.storage not in storages:
            storages.append(value.storage)
        elif isinstance(value, dict):
            for v in value.values():
                collect(v)
        elif isinstance(value, list | tuple):
            for v in value:
                collect(v)

    collect(obj)
    buf = io.BytesIO()
    _TorchPickler(buf, protocol=2).dump(obj)
    return buf.getvalue(), storages


def torch_zip(
    path: pathlib.Path | io.BytesIO, obj: Any, *, extra: dict[str, bytes] | None = None
) -> None:
    """A checkpoint laid out as torch.save's zip format: archive/data.pkl + archive/data/N."""
    data, storages = _torch_pickle(obj)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", data)
        z.writestr("archive/byteorder", "little")
        for s in storages:
            z.writestr(f"archive/data/{s.key}", s.data)
        z.writestr("archive/version", "3\n")
        for name, content in (extra or {}).items():
            z.writestr(name, content)


def torch_legacy(path: pathlib.Path, obj: Any) -> None:
    """torch.save(_use_new_zipfile_serialization=False): five pickles, then raw storages."""
    data, storages = _torch_pickle(obj)
    with path.open("wb") as f:
        for head in (
            0x1950A86A20F9469CFC6C,
            1001,
            {"protocol_version": 1001, "little_endian": True, "type_sizes": {"int": 4}},
        ):
            pickle.dump(head, f, protocol=2)
        f.write(data)
        pickle.dump([s.key for s in storages], f, protocol=2)
        for s in storages:
            f.write(struct.pack("<q", len(s.data) // 4) + s.data)


def _tensor(key: str, *shape: int) -> _Tensor:
    n = int(np.prod(shape))
    return _Tensor(_Storage(key, np.arange(n, dtype=np.float32).tobytes()), shape)


def state_dict() -> collections.OrderedDict[str, Any]:
    return collections.OrderedDict(
        [("fc.weight", _tensor("0", 4, 3)), ("fc.bias", _tensor("1", 4))]
    )


def checkpoint() -> dict[str, Any]:
    model = state_dict()
    return {
        "epoch": 7,
        "model": model,
        "optimizer": {
            "state": {0: {"step": _tensor("2", 1), "exp_avg": _tensor("3", 4, 3)}},
            "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1]}],
        },
        "args": argparse.Namespace(lr=1e-3, epochs=10),
    }


# --- hand-made pickles ----------------------------------------------------------------------


def _stack_global_from_memo() -> bytes:
    return (
        b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00"  # PROTO 4, FRAME 0
        b"\x8c\x02os\x94\x8c\x06getcwd\x94"  # strings, memoized at 0 and 1
        b"00"  # POP POP: the strings live on only in the memo
        b"h\x00h\x01\x93)R."  # BINGET 0, BINGET 1, STACK_GLOBAL, EMPTY_TUPLE, REDUCE, STOP
    )


def _stack_global_dynamic() -> bytes:
    # The module name is the result of a call (str('os')), not a constant.
    return b"\x80\x04cbuiltins\nstr\n\x8c\x02os\x85R\x8c\x06getcwd\x93)R."


def _indirect_call() -> bytes:
    # dict()() : calls what a call returned.
    return b"\x80\x02cbuiltins\ndict\n)R)R."


EXT_CODE = b"\x80\x02\x82\x01)R."
INST_PROTO0 = b"(iposix\ngetcwd\n."
OBJ_PROTO1 = b"(cposix\ngetcwd\no."


def _newobj_unknown() -> bytes:
    return b"\x80\x02cargparse\nArgumentParser\n)\x81."


# --- protobuf, hand-encoded -----------------------------------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def pb(number: int, value: bytes | str | int) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    raw = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(raw)) + raw


def onnx_model(*, nodes: list[tuple[str, str]], external: str | None = None) -> bytes:
    graph = b""
    for op, domain in nodes:
        node = pb(1, "x") + pb(2, "y") + pb(4, op) + (pb(7, domain) if domain else b"")
        graph += pb(1, node)
    tensor = pb(1, 3) + pb(2, 1) + pb(8, "w")
    if external:
        tensor += pb(13, pb(1, "location") + pb(2, external)) + pb(14, 1)
    else:
        tensor += pb(9, np.ones(3, dtype=np.float32).tobytes())
    graph += pb(5, tensor) + pb(2, "g")
    opset = pb(8, pb(1, "") + pb(2, 17))
    return pb(1, 8) + opset + pb(7, graph)


def saved_model(ops: list[str]) -> bytes:
    graph = b"".join(pb(1, pb(1, f"n{i}") + pb(2, op)) for i, op in enumerate(ops))
    func = pb(1, pb(3, pb(1, "f0") + pb(2, ops[-1])))
    meta = pb(2, graph + pb(2, func))
    return pb(1, 1) + pb(2, meta)


# --- other formats --------------------------------------------------------------------------


def safetensors(header: dict[str, Any], data: bytes, *, length: int | None = None) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def gguf(template: str) -> bytes:
    def string(s: str) -> bytes:
        raw = s.encode()
        return struct.pack("<Q", len(raw)) + raw

    kvs = [
        string("general.architecture") + struct.pack("<I", 8) + string("llama"),
        string("tokenizer.ggml.tokens")
        + struct.pack("<IIQ", 9, 8, 3)
        + b"".join(string(t) for t in ("<s>", "</s>", "hi")),
        string("llama.context_length") + struct.pack("<II", 4, 2048),
        string("tokenizer.chat_template") + struct.pack("<I", 8) + string(template),
    ]
    return b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)) + b"".join(kvs) + b"\0" * 64


CHATML = (
    "{% set ns = namespace(system=false) %}{% for message in messages %}"
    "{% if message['role'] not in ['user', 'assistant', 'system'] %}"
    "{{ raise_exception('bad role') }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] | trim + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
SSTI = "{{ cycler.__init__.__globals__.os.getcwd() }}" + CHATML


def keras_config(layers: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "seq", "layers": layers},
        "registered_name": None,
    }


DENSE = {
    "module": "keras.layers",
    "class_name": "Dense",
    "config": {"name": "dense", "units": 4, "activation": "relu"},
    "registered_name": None,
}
LAMBDA = {
    "module": "keras.layers",
    "class_name": "Lambda",
    "config": {
        "name": "evil",
        "function": {"class_name": "__lambda__", "config": {"code": "4wEA"}},
    },
    "registered_name": None,
}
CUSTOM = {
    "module": "mypackage.layers",
    "class_name": "Custom",
    "config": {"name": "custom"},
    "registered_name": "MyPackage>Custom",
}


def keras_file(path: pathlib.Path, layers: list[dict[str, Any]]) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.6.0"}))
        z.writestr("config.json", json.dumps(keras_config(layers)))
        z.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n" + b"\0" * 64)


def h5_file(path: pathlib.Path, layers: list[dict[str, Any]]) -> None:
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["model_config"] = json.dumps(keras_config(layers))
        f.create_dataset("model_weights/dense/kernel", data=np.ones((3, 4), dtype=np.float32))


def tar_of(path: pathlib.Path, members: dict[str, bytes], mode: str = "w:gz") -> None:
    with tarfile.open(path, mode) as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))


def zip_of(path: pathlib.Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)


# --- the corpus -----------------------------------------------------------------------------

Writer = Callable[[pathlib.Path], None]


def _bytes(data: bytes) -> Writer:
    return lambda p: p.write_bytes(data)


def _npy(array: Any) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


def _joblib(obj: Any, **kwargs: Any) -> Writer:
    return lambda p: joblib.dump(obj, p, **kwargs)


def _sklearn(name: str) -> Any:
    mods = sys.modules
    return {
        "logistic": lambda: mods["sklearn.linear_model._logistic"].LogisticRegression(),
        "tree": lambda: mods["sklearn.tree._classes"].DecisionTreeClassifier(),
        "pipeline": lambda: mods["sklearn.pipeline"].Pipeline(),
    }[name]()


def _samples() -> list[tuple[Sample, Writer]]:
    evil = pickle.dumps(Getcwd(), protocol=2)
    bad = "pickle.dangerous-global"
    unsafe = "pickle.unsafe-global"
    out: list[tuple[Sample, Writer]] = []

    def m(name: str, technique: str, rules: tuple[str, ...], write: Writer) -> None:
        out.append((Sample(name, MALICIOUS, technique, rules), write))

    def b(name: str, technique: str, write: Writer) -> None:
        out.append((Sample(name, BENIGN, technique), write))

    for proto in range(6):
        m(
            f"reduce-p{proto}.pkl",
            f"REDUCE os.getcwd, protocol {proto}",
            (bad,),
            _bytes(pickle.dumps(Getcwd(), protocol=proto)),
        )
    m("print.pkl", "REDUCE builtins.print", (unsafe,), _bytes(pickle.dumps(Print(), protocol=4)))
    m(
        "getuser.pkl",
        "global missing from denylists (getpass.getuser)",
        (unsafe,),
        _bytes(pickle.dumps(Getuser(), protocol=4)),
    )
    m(
        "stack-global-memo.pkl",
        "STACK_GLOBAL operands from the memo",
        (bad,),
        _bytes(_stack_global_from_memo()),
    )
    m(
        "stack-global-dynamic.pkl",
        "STACK_GLOBAL operand built by a call",
        ("pickle.dynamic-global",),
        _bytes(_stack_global_dynamic()),
    )
    m("inst.pkl", "INST opcode (protocol 0)", (bad,), _bytes(INST_PROTO0))
    m("obj.pkl", "OBJ opcode (protocol 1)", (bad,), _bytes(OBJ_PROTO1))
    m("newobj.pkl", "NEWOBJ of a class not allowed", (unsafe,), _bytes(_newobj_unknown()))
    m(
        "indirect-call.pkl",
        "REDUCE of a call's result",
        ("pickle.indirect-call",),
        _bytes(_indirect_call()),
    )
    m("ext.pkl", "EXT1 extension registry", ("pickle.extension-code",), _bytes(EXT_CODE))
    m(
        "nested.pkl",
        "pickle nested in a bytes value",
        (bad,),
        _bytes(pickle.dumps({"config": evil}, protocol=3)),
    )
    m(
        "truncated.pkl",
        "payload then truncation",
        (bad, "pickle.malformed"),
        _bytes(pickle.dumps(Getcwd(), protocol=2)[:-1]),
    )
    m("garbage.pkl", "unparseable pickle", ("pickle.malformed",), _bytes(b"\x80\x02\xff\xfe"))
    m(
        "second.pkl",
        "payload in a second pickle of the file",
        (bad,),
        _bytes(pickle.dumps({"a": 1}, protocol=2) + evil),
    )
    m(
        "model.pkl.gz",
        "gzip-compressed pickle",
        (bad,),
        lambda p: p.write_bytes(__import__("gzip").compress(evil, mtime=0)),
    )
    m(
        "torch-zip.pt",
        "PyTorch zip with payload in data.pkl",
        (bad,),
        lambda p: torch_zip(p, {"model": state_dict(), "hook": Getcwd()}),
    )
    m(
        "torch-legacy.pt",
        "legacy torch.save archive",
        (bad,),
        lambda p: torch_legacy(p, {"model": state_dict(), "hook": Getcwd()}),
    )
    m(
        "torchscript.pt",
        "TorchScript code in the archive",
        ("torch.torchscript",),
        lambda p: torch_zip(
            p, state_dict(), extra={"archive/code/__torch__/m.py": b"def f(): pass"}
        ),
    )
    m(
        "joblib-evil.joblib",
        "joblib dump with a payload",
        (bad,),
        _joblib({"weights": np.ones(3), "hook": Getcwd()}),
    )
    m(
        "joblib-evil-z.joblib",
        "zlib-compressed joblib dump",
        (bad,),
        _joblib({"weights": np.ones(3), "hook": Getcwd()}, compress=3),
    )
    m(
        "joblib-object-array.joblib",
        "joblib object array with a payload",
        (bad,),
        _joblib({"objs": np.array([Getcwd(), 1], dtype=object)}),
    )
    m(
        "object.npy",
        "npy object array",
        ("numpy.object-array", bad),
        _bytes(_npy(np.array([Getcwd(), 1], dtype=object))),
    )
    m(
        "object.npz",
        "npz member with an object array",
        ("numpy.object-array", bad),
        lambda p: np.savez(p, ok=np.ones(2), evil=np.array([Getcwd()], dtype=object)),
    )
    m(
        "lambda.keras",
        "Keras Lambda layer",
        ("keras.lambda-layer",),
        lambda p: keras_file(p, [DENSE, LAMBDA]),
    )
    m(
        "custom.keras",
        "Keras custom module",
        ("keras.custom-object",),
        lambda p: keras_file(p, [DENSE, CUSTOM]),
    )
    m(
        "lambda.h5",
        "Keras HDF5 with a Lambda layer",
        ("keras.lambda-layer",),
        lambda p: h5_file(p, [DENSE, LAMBDA]),
    )
    tensor = {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    m(
        "oob.safetensors",
        "safetensors offsets past the end",
        ("safetensors.invalid-header",),
        _bytes(
            safetensors({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8)
        ),
    )
    m(
        "overlap.safetensors",
        "safetensors overlapping tensors",
        ("safetensors.invalid-header",),
        _bytes(
            safetensors(
                {**tensor, "v": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12
            )
        ),
    )
    m(
        "huge-header.safetensors",
        "safetensors header length past the file",
        ("safetensors.invalid-header",),
        _bytes(safetensors(tensor, b"\0" * 8, length=1 << 40)),
    )
    m(
        "ssti.gguf",
        "GGUF chat template injection",
        ("gguf.suspicious-template",),
        _bytes(gguf(SSTI)),
    )
    m(
        "escape.onnx",
        "ONNX external data outside the model dir",
        ("onnx.external-data-escape",),
        _bytes(onnx_model(nodes=[("Add", "")], external="../../etc/hostname")),
    )
    m(
        "custom-op.onnx",
        "ONNX custom-domain operator",
        ("onnx.custom-op",),
        _bytes(onnx_model(nodes=[("Add", ""), ("Run", "com.example.evil")])),
    )
    m(
        "savedmodel-readfile/saved_model.pb",
        "SavedModel ReadFile op",
        ("tensorflow.dangerous-op",),
        _bytes(saved_model(["Placeholder", "ReadFile"])),
    )
    m(
        "savedmodel-pyfunc/saved_model.pb",
        "SavedModel PyFunc op",
        ("tensorflow.dangerous-op",),
        _bytes(saved_model(["Placeholder", "PyFunc"])),
    )
    m(
        "evil.tar.gz",
        "pickle in a tar.gz",
        (bad,),
        lambda p: tar_of(p, {"model/README": b"hi", "model/model.pkl": evil}),
    )
    m(
        "nested.zip",
        "pickle in a tar in a zip",
        (bad,),
        lambda p: zip_of(p, {"inner.tar": _tar_bytes({"m/model.pkl": evil})}),
    )
    m(
        "traversal.zip",
        "zip member escaping the directory",
        ("archive.path-traversal",),
        lambda p: zip_of(p, {"../../model.pkl": pickle.dumps({"a": 1})}),
    )
    m(
        "symlink.tar",
        "tar symlink out of the archive",
        ("archive.path-traversal",),
        lambda p: _symlink_tar(p),
    )
    m(
        "bomb.zip",
        "zip bomb (compression ratio)",
        ("archive.limit-exceeded",),
        lambda p: zip_of(p, {"zeros.pkl": b"\0" * (32 * 1024 * 1024)}),
    )

    for proto in (2, 3, 4, 5):
        b(
            f"numpy-p{proto}.pkl",
            f"numpy arrays pickled, protocol {proto}",
            _bytes(
                pickle.dumps(
                    {"w": np.ones((2, 3)), "i": np.arange(3), "s": np.float32(1)}, protocol=proto
                )
            ),
        )
    b("state-dict.pt", "PyTorch state_dict (zip)", lambda p: torch_zip(p, state_dict()))
    b("checkpoint.pt", "checkpoint with optimizer state", lambda p: torch_zip(p, checkpoint()))
    b(
        "checkpoint-legacy.pt",
        "legacy torch.save checkpoint",
        lambda p: torch_legacy(p, checkpoint()),
    )
    b(
        "logistic.joblib",
        "scikit-learn LogisticRegression (joblib)",
        lambda p: joblib.dump(_sklearn("logistic"), p),
    )
    b(
        "tree.joblib",
        "scikit-learn DecisionTree with RandomState (joblib)",
        lambda p: joblib.dump(_sklearn("tree"), p),
    )
    b(
        "pipeline-z.joblib",
        "scikit-learn Pipeline (joblib, compressed)",
        lambda p: joblib.dump(_sklearn("pipeline"), p, compress=3),
    )
    b(
        "pipeline.pkl",
        "scikit-learn Pipeline (pickle)",
        lambda p: p.write_bytes(pickle.dumps(_sklearn("pipeline"))),
    )
    b("arrays.npy", "npy float array", _bytes(_npy(np.ones((3, 4)))))
    b("arrays.npz", "npz arrays", lambda p: np.savez_compressed(p, a=np.ones(3), b=np.arange(4)))
    b("model.keras", "Keras Dense model", lambda p: keras_file(p, [DENSE]))
    b("model.h5", "Keras HDF5 model", lambda p: h5_file(p, [DENSE]))
    b(
        "model.safetensors",
        "safetensors",
        _bytes(safetensors({**tensor, "__metadata__": {"format": "pt"}}, b"\0" * 8)),
    )
    b("model.gguf", "GGUF with a ChatML template", _bytes(gguf(CHATML)))
    b(
        "model.onnx",
        "ONNX with inline and external weights",
        _bytes(
            onnx_model(
                nodes=[("Add", ""), ("FusedMatMul", "com.microsoft")], external="weights.bin"
            )
        ),
    )
    b(
        "savedmodel/saved_model.pb",
        "SavedModel with save/restore ops",
        _bytes(saved_model(["Placeholder", "MatMul", "SaveV2", "RestoreV2"])),
    )
    b(
        "models.tar.gz",
        "tar.gz of a checkpoint and safetensors",
        lambda p: tar_of(
            p,
            {
                "m/state.pt": _torch_zip_bytes(state_dict()),
                "m/model.safetensors": safetensors(tensor, b"\0" * 8),
            },
        ),
    )
    return out


def _tar_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _symlink_tar(path: pathlib.Path) -> None:
    with tarfile.open(path, "w") as t:
        info = tarfile.TarInfo("model/weights.pkl")
        info.type = tarfile.SYMTYPE
        info.linkname = "../../../etc/hostname"
        t.addfile(info)


def _torch_zip_bytes(obj: Any) -> bytes:
    buf = io.BytesIO()
    torch_zip(buf, obj)
    return buf.getvalue()


def build(directory: pathlib.Path) -> list[Sample]:
    """Write every sample under `directory`; return their labels."""
    samples = []
    with stand_in_modules():
        for sample, write in _samples():
            path = directory / sample.name
            path.parent.mkdir(parents=True, exist_ok=True)
            write(path)
            samples.append(sample)
    (directory / "labels.json").write_text(
        json.dumps([dataclasses.asdict(s) for s in samples], indent=1)
    )
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=pathlib.Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    build(args.out)


if __name__ == "__main__":
    main()
