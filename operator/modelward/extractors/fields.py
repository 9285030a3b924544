"""Helpers every extractor shares: safe access to untrusted object trees, URI normalisation."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from modelward.structs import refs

STORAGE_URI_ENV = "STORAGE_URI"
# Hugging Face model-id flags of vLLM, TGI and KServe's huggingface server.
HF_MODEL_ID_ARGS = ("--model_id", "--model-id")
KSERVE_MODEL_MOUNT = "/mnt/models"


def mapping(value: Any) -> Mapping[str, Any]:
    """`value` if it is a mapping, else an empty one: objects under review are hostile."""
    return value if isinstance(value, Mapping) else {}


def items(value: Any) -> list[Any]:
    """`value` if it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def dig(obj: Mapping[str, Any], path: tuple[str, ...]) -> Mapping[str, Any]:
    """The mapping at `path`, empty where any step is missing or not a mapping."""
    current: Mapping[str, Any] = obj
    for key in path:
        current = mapping(current.get(key))
    return current


def normalize_uri(uri: str) -> str:
    """Trim a storage URI and lower-case its scheme; keep everything else as written."""
    uri = uri.strip()
    scheme, sep, rest = uri.partition("://")
    return f"{scheme.lower()}://{rest}" if sep else uri


def normalize_image(reference: str) -> str:
    """Turn a container image reference into an `oci://` URI with an explicit registry."""
    reference = reference.strip()
    if "://" in reference:
        return reference
    first, sep, _ = reference.partition("/")
    has_registry = sep and ("." in first or ":" in first or first == "localhost")
    if not has_registry:
        reference = f"docker.io/{reference}" if sep else f"docker.io/library/{reference}"
    return f"oci://{reference}"


def uri_field(value: Any, path: str) -> Iterator[refs.ModelRef]:
    """A URI-valued field. An empty string is reported too: it cannot be verified and must not
    slip past; an absent field or a non-string yields nothing."""
    if isinstance(value, str):
        yield refs.ModelRef(normalize_uri(value), path)


def storage_env(container: Mapping[str, Any], path: str) -> Iterator[refs.ModelRef]:
    """`env[STORAGE_URI]` of a container: KServe's custom containers take their model so."""
    for j, env in enumerate(items(container.get("env"))):
        env = mapping(env)
        value = env.get("value")
        if env.get("name") == STORAGE_URI_ENV and isinstance(value, str) and value.strip():
            yield refs.ModelRef(normalize_uri(value), f"{path}.env[{j}].value")


def hf_model_id(container: Mapping[str, Any], path: str) -> Iterator[refs.ModelRef]:
    """A Hugging Face `--model_id ORG/NAME` (or `--model_id=ORG/NAME`) in args or command.

    A value that is already a URI keeps its scheme. KServe's model mount (`/mnt/models`) is
    where a storageUri, reported on its own, was downloaded to: not a reference. Any other
    local path is reported as written, so that it is unverifiable rather than read as a hub id.
    """
    for field in ("command", "args"):
        argv = items(container.get(field))
        for i, arg in enumerate(argv):
            if not isinstance(arg, str):
                continue
            value: Any = None
            at = i
            for flag in HF_MODEL_ID_ARGS:
                if arg == flag and i + 1 < len(argv):
                    value, at = argv[i + 1], i + 1
                elif arg.startswith(flag + "="):
                    value = arg.partition("=")[2]
            if isinstance(value, str) and value.strip() and not _in_model_mount(value):
                yield refs.ModelRef(hub_uri(value), f"{path}.{field}[{at}]")


def _in_model_mount(value: str) -> bool:
    value = value.strip().rstrip("/")
    return value == KSERVE_MODEL_MOUNT or value.startswith(KSERVE_MODEL_MOUNT + "/")


def hub_uri(value: str) -> str:
    """`org/name` -> `hf://org/name`; URIs and paths stay as written."""
    value = value.strip()
    if "://" in value or value.startswith(("/", ".", "$")):
        return normalize_uri(value)
    return f"hf://{value}"
