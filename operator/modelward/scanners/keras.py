"""Keras models: the architecture config can carry code (Lambda layers) or name modules.

`.keras` files are zips with `config.json`; legacy `.h5` files keep the same JSON in the
root group's `model_config` attribute, which Keras writes as one contiguous string, so it
is found by searching the HDF5 bytes without an HDF5 library.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from modelward.scanners.base import Blob, Budget, Finding, Severity, malformed

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_CLASS_NAME = b'"class_name"'
_KERAS_MODULES = ("keras", "tensorflow.keras", "tf_keras")
_CODE_LAYERS = {"Lambda": Severity.HIGH, "TFOpLambda": Severity.LOW}


def check_config(config: Any, blob: Blob) -> Iterator[Finding]:
    """Findings for one Keras architecture config (any nesting of layers)."""
    seen: set[tuple[str, str]] = set()
    for node in _walk(config, 0):
        class_name = node.get("class_name")
        if isinstance(class_name, str) and class_name in _CODE_LAYERS:
            layer = (
                node.get("config", {}).get("name") if isinstance(node.get("config"), dict) else None
            )
            yield Finding(
                "keras.lambda-layer",
                _CODE_LAYERS[class_name],
                blob.at(name=str(layer or class_name)),
                f"a {class_name} layer carries Python code that runs when the model is loaded",
            )
        module = node.get("module")
        registered = node.get("registered_name")
        if isinstance(module, str) and module and not module.startswith(_KERAS_MODULES):
            key = ("module", module)
            if key not in seen:
                seen.add(key)
                yield Finding(
                    "keras.custom-object",
                    Severity.MEDIUM,
                    blob.at(name=module),
                    f"the config names module {module!r}, outside Keras: loading imports it "
                    "or needs custom objects",
                )
        elif isinstance(registered, str) and ">" in registered:
            key = ("registered", registered)
            if key not in seen:
                seen.add(key)
                yield Finding(
                    "keras.custom-object",
                    Severity.MEDIUM,
                    blob.at(name=registered),
                    f"the config uses registered custom object {registered!r}",
                )


def _walk(node: Any, depth: int) -> Iterator[dict[str, Any]]:
    if depth > 200:
        return
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value, depth + 1)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value, depth + 1)


def parse_json(data: bytes, blob: Blob) -> tuple[Any, Finding | None]:
    try:
        return json.loads(data), None
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        return None, malformed(blob, "keras", f"config is not JSON: {e}")


class H5Scanner:
    """Legacy Keras `.h5`: find the `model_config` JSON and check it."""

    name = "keras-h5"

    def scan(self, blob: Blob, budget: Budget) -> Iterator[Finding]:
        with blob.open() as stream:
            data = stream.read(budget.limits.max_config_bytes)
        yield from _configs(data, blob)


def _configs(data: bytes, blob: Blob) -> Iterator[Finding]:
    """Check each JSON object holding a "class_name" key (the model config) in `data`."""
    done = 0
    key = data.find(_CLASS_NAME, done)
    while key >= 0:
        start = data.rfind(b'{"', max(done, key - 4096), key + 1)
        end = key + len(_CLASS_NAME)
        if start >= 0:
            try:
                config, length = json.JSONDecoder().raw_decode(data[start:].decode("latin-1"))
            except (ValueError, RecursionError):
                config, length = None, 0
            if isinstance(config, dict) and "config" in config:
                yield from check_config(config, blob)
                end = start + length
        done = end
        key = data.find(_CLASS_NAME, done)
