"""Kubernetes objects from manifest files and directories, bounded: the CLI reads whatever it
is given, so size and count are limited and every bad input says which file is at fault."""

from __future__ import annotations

import pathlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import yaml

from modelward import errors

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_FILES = 1000
MAX_DOCUMENTS = 10_000
SUFFIXES = frozenset({".yaml", ".yml", ".json"})


def expand(paths: Sequence[str], *, max_files: int = MAX_FILES) -> list[str]:
    """Files as given; directories as their YAML and JSON files, recursively, sorted."""
    out: list[str] = []
    for name in paths:
        path = pathlib.Path(name)
        if name != "-" and path.is_dir():
            out += sorted(str(p) for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
        else:
            out.append(name)
        if len(out) > max_files:
            raise errors.InputError(
                f"{name}: more than {max_files} manifest files",
                hint="Point at fewer files or a narrower directory",
            )
    return out


def _read(name: str, max_bytes: int) -> str:
    try:
        if name == "-":
            data = sys.stdin.buffer.read(max_bytes + 1)
        else:
            with pathlib.Path(name).open("rb") as f:
                data = f.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise errors.InputError(
                f"{name}: larger than {max_bytes} bytes",
                hint="Split the manifests into smaller files",
            )
        return data.decode()
    except (OSError, UnicodeDecodeError) as e:
        raise errors.InputError(f"{name}: cannot be read ({e})") from None


def documents(
    paths: Sequence[str], *, max_bytes: int | None = None
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(file name, object) for every object in the files and directories; `List`s unpacked.
    Each file holds at most `max_bytes` (MAX_FILE_BYTES by default)."""
    count = 0
    for name in expand(paths):
        try:
            docs = list(yaml.safe_load_all(_read(name, max_bytes or MAX_FILE_BYTES)))
        except yaml.YAMLError as e:
            raise errors.InputError(f"{name}: not valid YAML ({e})") from None
        for doc in docs:
            if doc is None:
                continue
            if not isinstance(doc, Mapping):
                raise errors.InputError(f"{name}: a document is not a Kubernetes object")
            items = doc.get("items")
            objects = items if doc.get("kind") == "List" and isinstance(items, list) else [doc]
            for obj in objects:
                if not isinstance(obj, Mapping):
                    raise errors.InputError(f"{name}: an item of a List is not an object")
                count += 1
                if count > MAX_DOCUMENTS:
                    raise errors.InputError(
                        f"{name}: more than {MAX_DOCUMENTS} objects in the manifests"
                    )
                yield name, obj
