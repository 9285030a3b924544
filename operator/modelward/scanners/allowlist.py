"""Which globals a model pickle may import. Anything not allowed here is a finding.

An allowlist, because denylists are bypassed by every module nobody thought of; the
denylist below only raises the severity of the imports known to run commands or code.
"""

from __future__ import annotations

import re

_TORCH_REBUILD = {
    "_rebuild_tensor",
    "_rebuild_tensor_v2",
    "_rebuild_tensor_v3",
    "_rebuild_parameter",
    "_rebuild_parameter_with_state",
    "_rebuild_sparse_tensor",
    "_rebuild_sparse_csr_tensor",
    "_rebuild_qtensor",
    "_rebuild_device_tensor_from_numpy",
    "_rebuild_meta_tensor_no_storage",
    "_rebuild_wrapper_subclass",
    "_rebuild_nested_tensor",
    "_rebuild_xla_tensor",
    "_rebuild_mps_tensor",
}
_TORCH_STORAGES = {
    f"{t}Storage"
    for t in [
        "Float",
        "Double",
        "Half",
        "BFloat16",
        "Long",
        "Int",
        "Short",
        "Char",
        "Byte",
        "Bool",
        "ComplexFloat",
        "ComplexDouble",
        "QInt8",
        "QUInt8",
        "QInt32",
        "QUInt4x2",
        "QUInt2x4",
        "Untyped",
        "Typed",
    ]
}
_TORCH_DTYPES = set(
    [
        "float32",
        "float",
        "float64",
        "double",
        "float16",
        "half",
        "bfloat16",
        "complex64",
        "complex128",
        "cfloat",
        "cdouble",
        "uint8",
        "int8",
        "int16",
        "short",
        "int32",
        "int",
        "int64",
        "long",
        "bool",
        "qint8",
        "quint8",
        "qint32",
        "quint4x2",
        "float8_e4m3fn",
        "float8_e5m2",
        "uint16",
        "uint32",
        "uint64",
    ]
)
_TORCH_MISC = {
    "Size",
    "device",
    "Tensor",
    "strided",
    "sparse_coo",
    "sparse_csr",
    "per_tensor_affine",
    "per_channel_affine",
    "contiguous_format",
    "channels_last",
    "preserve_format",
}

ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {("torch._utils", n) for n in _TORCH_REBUILD}
    | {("torch", n) for n in _TORCH_STORAGES | _TORCH_DTYPES | _TORCH_MISC}
    | {("torch.storage", n) for n in ("UntypedStorage", "TypedStorage")}
    | {
        ("torch._tensor", "_rebuild_from_type_v2"),
        ("torch._tensor", "_rebuild_from_type"),
        ("torch.nn.parameter", "Parameter"),
        ("torch.serialization", "_get_layout"),
        ("torch.nn.modules.container", "ParameterDict"),
        ("collections", "OrderedDict"),
        ("collections", "defaultdict"),
        ("collections", "deque"),
        ("collections", "Counter"),
        ("_codecs", "encode"),  # how protocol 0-2 pickles carry bytes
        ("copyreg", "_reconstructor"),
        ("copy_reg", "_reconstructor"),
        ("copyreg", "__newobj__"),
        ("copyreg", "__newobj_ex__"),
        ("datetime", "datetime"),
        ("datetime", "date"),
        ("datetime", "time"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("decimal", "Decimal"),
        ("fractions", "Fraction"),
        ("argparse", "Namespace"),
        ("pathlib", "PosixPath"),
        ("pathlib", "PurePosixPath"),
        ("pathlib", "WindowsPath"),
        ("pathlib", "PureWindowsPath"),
        ("uuid", "UUID"),
        ("joblib.numpy_pickle", "NumpyArrayWrapper"),
        ("joblib.numpy_pickle_compat", "NDArrayWrapper"),
        ("sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper"),
    }
    | {
        (m, n)
        for m in ("builtins", "__builtin__")
        for n in [
            "set",
            "frozenset",
            "dict",
            "list",
            "tuple",
            "bytearray",
            "bytes",
            "slice",
            "complex",
            "range",
            "int",
            "float",
            "str",
            "bool",
            "object",
        ]
    }
    | {
        (f"numpy.{core}.{mod}", n)
        for core in ("core", "_core")
        for mod, n in (
            ("multiarray", "_reconstruct"),
            ("multiarray", "scalar"),
            ("numeric", "_frombuffer"),
        )
    }
    | {
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy.ma.core", "_mareconstruct"),
        ("numpy.ma.core", "MaskedArray"),
        ("numpy.random._pickle", "__randomstate_ctor"),
        ("numpy.random._pickle", "__bit_generator_ctor"),
        ("numpy.random._pickle", "__generator_ctor"),
        ("numpy.random.mtrand", "RandomState"),
        ("numpy.random._mt19937", "MT19937"),
        ("numpy.random._pcg64", "PCG64"),
        ("numpy.random._generator", "Generator"),
        ("scipy.sparse._csr", "csr_matrix"),
        ("scipy.sparse._csc", "csc_matrix"),
        ("scipy.sparse._coo", "coo_matrix"),
        ("scipy.sparse.csr", "csr_matrix"),
        ("scipy.sparse.csc", "csc_matrix"),
    }
)

_NUMPY_SCALARS = frozenset(
    [
        "bool_",
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
        "float128",
        "complex64",
        "complex128",
        "complex256",
        "longlong",
        "ulonglong",
        "intc",
        "uintc",
        "half",
        "single",
        "double",
        "longdouble",
        "csingle",
        "cdouble",
        "clongdouble",
        "str_",
        "bytes_",
        "void",
        "object_",
        "datetime64",
        "timedelta64",
    ]
)
# numpy 2's dtype classes (`numpy.dtypes.Float64DType`).
_NUMPY_DTYPE_CLASS = re.compile(r"^[A-Z][A-Za-z0-9]*DType$")
# scikit-learn estimators and their Cython helpers are classes: CapWords names only, never
# a function of theirs (some load files or call back into pickle).
_SKLEARN_MODULE = re.compile(r"^sklearn(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_CLASS_NAME = re.compile(r"^_?[A-Z][A-Za-z0-9]*$")

DANGEROUS_MODULES = frozenset(
    [
        "os",
        "posix",
        "nt",
        "subprocess",
        "sys",
        "socket",
        "shutil",
        "runpy",
        "importlib",
        "pickle",
        "_pickle",
        "dill",
        "cloudpickle",
        "marshal",
        "ctypes",
        "pty",
        "code",
        "codeop",
        "webbrowser",
        "multiprocessing",
        "asyncio",
        "threading",
        "_thread",
        "signal",
        "pip",
        "setuptools",
        "distutils",
        "ensurepip",
        "venv",
        "pydoc",
        "pdb",
        "bdb",
        "timeit",
        "trace",
        "cProfile",
        "profile",
        "doctest",
        "urllib",
        "urllib2",
        "http",
        "httplib",
        "requests",
        "ftplib",
        "smtplib",
        "telnetlib",
        "xmlrpc",
        "aiohttp",
        "commands",
        "platform",
        "tempfile",
        "glob",
        "io",
        "builtins",
        "__builtin__",
        "operator",
        "functools",
        "types",
        "inspect",
        "gc",
        "torch.hub",
        "torch.jit",
        "torch.serialization",
        "numpy.lib.npyio",
        "joblib",
    ]
)
DANGEROUS_BUILTINS = frozenset(
    [
        "eval",
        "exec",
        "compile",
        "open",
        "__import__",
        "getattr",
        "setattr",
        "delattr",
        "input",
        "breakpoint",
        "globals",
        "locals",
        "vars",
        "apply",
        "execfile",
        "file",
        "reload",
    ]
)


def allowed(module: str, name: str) -> bool:
    """True when importing `module.name` from a model pickle is known to be harmless."""
    if (module, name) in ALLOWED:
        return True
    if module == "numpy" and name in _NUMPY_SCALARS:
        return True
    if module == "numpy.dtypes" and _NUMPY_DTYPE_CLASS.match(name):
        return True
    return bool(_SKLEARN_MODULE.match(module) and _CLASS_NAME.match(name))


def dangerous(module: str, name: str) -> bool:
    """True for imports known to run commands, code, or to load further pickles."""
    if module in ("builtins", "__builtin__"):
        return name in DANGEROUS_BUILTINS
    top = module.split(".")
    return any(".".join(top[: i + 1]) in DANGEROUS_MODULES for i in range(len(top)))
