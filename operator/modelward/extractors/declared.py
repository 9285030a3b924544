"""Extractors declared at run time by ModelExtractor objects, for any other kind.

A ModelExtractor names a group and kind, optionally versions, and field paths such as
`spec.models[*].uri` or `spec.containers[*].env[name=MODEL].value`, each with an optional
regex whose `uri` group (or first group) picks the URI out of a longer value.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from modelward import errors
from modelward.extractors import base, fields
from modelward.structs import refs

KIND = "ModelExtractor"
MAX_PATHS = 32
MAX_PATH_LENGTH = 512
MAX_REGEX_LENGTH = 512
MAX_VALUE_LENGTH = 8192  # longer values are not searched: the regex runs on hostile input
MAX_MATCHES = 1000  # per object; the rest is reported as one unverifiable reference

_KEY = r"[A-Za-z0-9_$-]+"
_TOKEN = re.compile(
    rf"(?P<key>{_KEY})"
    r"|\[(?P<all>\*)\]"
    r"|\[(?P<index>\d+)\]"
    r"|\['(?P<quoted>[^']+)'\]"
    rf"|\[(?P<field>{_KEY})=(?P<value>[^\]]+)\]"
)


@dataclasses.dataclass(frozen=True, slots=True)
class Step:
    """One step of a path: a map key, every list item, one item, or the items whose `field`
    equals `value`."""

    key: str | None = None
    index: int | None = None
    every: bool = False
    where: tuple[str, str] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class FieldPath:
    text: str
    steps: tuple[Step, ...]
    regex: re.Pattern[str] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Declaration:
    """A parsed ModelExtractor."""

    name: str
    generation: int
    group: str
    kind: str
    versions: tuple[str, ...]
    paths: tuple[FieldPath, ...]


def parse_path(text: str) -> tuple[Step, ...]:
    """Parse `spec.models[*].uri`; ExtractorError says where the path is malformed."""
    if not text or len(text) > MAX_PATH_LENGTH:
        raise errors.ExtractorError(
            f"a path must have 1 to {MAX_PATH_LENGTH} characters", reason="InvalidPath"
        )
    if text.endswith("."):
        raise errors.ExtractorError(f"path {text!r} ends with a dot", reason="InvalidPath")
    steps: list[Step] = []
    pos = 0
    while pos < len(text):
        if steps and text[pos] == ".":
            pos += 1
        match = _TOKEN.match(text, pos)
        if match is None or (match["key"] and steps and text[pos - 1] != "."):
            raise errors.ExtractorError(
                f"path {text!r} is malformed at character {pos + 1}: use keys separated by dots, "
                "[*], [N], ['key'] or [field=value]",
                reason="InvalidPath",
            )
        if match["key"] or match["quoted"]:
            steps.append(Step(key=match["key"] or match["quoted"]))
        elif match["all"]:
            steps.append(Step(every=True))
        elif match["index"] is not None:
            steps.append(Step(index=int(match["index"])))
        else:
            steps.append(Step(where=(match["field"], match["value"])))
        pos = match.end()
    return tuple(steps)


def parse_regex(text: str) -> re.Pattern[str]:
    """Compile a regex that must have a group to take the URI from."""
    if not text or len(text) > MAX_REGEX_LENGTH:
        raise errors.ExtractorError(
            f"a regex must have 1 to {MAX_REGEX_LENGTH} characters", reason="InvalidRegex"
        )
    try:
        pattern = re.compile(text)
    except re.error as e:
        raise errors.ExtractorError(
            f"regex {text!r} does not compile: {e}", reason="InvalidRegex"
        ) from None
    if "uri" not in pattern.groupindex and pattern.groups < 1:
        raise errors.ExtractorError(
            f"regex {text!r} needs a group to take the URI from, ideally (?P<uri>...)",
            reason="InvalidRegex",
        )
    return pattern


def parse(obj: Mapping[str, Any]) -> Declaration:
    """Parse a ModelExtractor object; ExtractorError carries the reason for its status."""
    metadata = fields.mapping(obj.get("metadata"))
    generation = metadata.get("generation")
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        raise errors.ExtractorError("spec is missing or not an object", reason="InvalidSpec")
    group, kind = spec.get("group", ""), spec.get("kind")
    if not isinstance(group, str) or not isinstance(kind, str) or not kind:
        raise errors.ExtractorError(
            'spec needs a kind and a group ("" for core)', reason="InvalidSpec"
        )
    versions = spec.get("versions") or []
    if not isinstance(versions, list) or not all(isinstance(v, str) and v for v in versions):
        raise errors.ExtractorError("spec.versions must list version names", reason="InvalidSpec")
    raw_paths = spec.get("paths")
    if not isinstance(raw_paths, list) or not 1 <= len(raw_paths) <= MAX_PATHS:
        raise errors.ExtractorError(
            f"spec.paths must list 1 to {MAX_PATHS} paths", reason="InvalidSpec"
        )
    paths = []
    for i, item in enumerate(raw_paths):
        item = fields.mapping(item)
        text = item.get("path")
        if not isinstance(text, str):
            raise errors.ExtractorError(f"spec.paths[{i}].path must be text", reason="InvalidPath")
        regex = item.get("regex")
        if regex is not None and not isinstance(regex, str):
            raise errors.ExtractorError(
                f"spec.paths[{i}].regex must be text", reason="InvalidRegex"
            )
        try:
            paths.append(
                FieldPath(text, parse_path(text), parse_regex(regex) if regex is not None else None)
            )
        except errors.ExtractorError as e:
            raise errors.ExtractorError(f"spec.paths[{i}]: {e.message}", reason=e.reason) from None
    return Declaration(
        name=str(metadata.get("name", "")),
        generation=generation if isinstance(generation, int) else 0,
        group=group,
        kind=kind,
        versions=tuple(versions),
        paths=tuple(paths),
    )


def walk(value: Any, steps: tuple[Step, ...], where: str) -> Iterator[tuple[str, Any]]:
    """Every (concrete field path, value) the steps reach from `value`."""
    if not steps:
        yield where, value
        return
    step, rest = steps[0], steps[1:]
    if step.key is not None:
        if isinstance(value, Mapping) and step.key in value:
            name = step.key
            part = f".{name}" if re.fullmatch(_KEY, name) else f"['{name}']"
            yield from walk(value[name], rest, f"{where}{part}" if where else name)
        return
    if not isinstance(value, list):
        return
    for i, item in enumerate(value):
        if step.index is not None and i != step.index:
            continue
        if step.where is not None:
            field, wanted = step.where
            if not (isinstance(item, Mapping) and str(item.get(field)) == wanted):
                continue
        yield from walk(item, rest, f"{where}[{i}]")


def _extract(declaration: Declaration, obj: Mapping[str, Any]) -> Iterator[refs.ModelRef]:
    version = str(obj.get("apiVersion", "")).rpartition("/")[2]
    if declaration.versions and version not in declaration.versions:
        return
    count = 0
    for path in declaration.paths:
        for where, value in walk(obj, path.steps, ""):
            for uri in _values(value, path.regex, where):
                count += 1
                if count > MAX_MATCHES:
                    yield refs.ModelRef(
                        "", where, problem=f"more than {MAX_MATCHES} references in one object"
                    )
                    return
                yield refs.ModelRef(fields.normalize_uri(uri), where)


def _values(value: Any, regex: re.Pattern[str] | None, where: str) -> Iterator[str]:
    if not isinstance(value, str):
        return
    if regex is None:
        yield value  # an empty value is reported: it names no model and must not slip past
        return
    if len(value) > MAX_VALUE_LENGTH:
        return
    for match in regex.finditer(value):
        found = match["uri"] if "uri" in regex.groupindex else match[1]
        if found:
            yield found


def split_declarations(
    objects: Iterable[Mapping[str, Any]],
) -> tuple[DeclaredIndex, list[Mapping[str, Any]]]:
    """Offline: the ModelExtractors among manifests, indexed, and the other objects.
    An invalid one is an InputError (nobody would see its status)."""
    index, rest = DeclaredIndex(), []
    for obj in objects:
        if obj.get("kind") == KIND and str(obj.get("apiVersion", "")).startswith("modelward.io/"):
            try:
                index.put(parse(obj))
            except errors.ExtractorError as e:
                name = fields.mapping(obj.get("metadata")).get("name")
                raise errors.InputError(f"ModelExtractor {name}: {e.message}") from None
        else:
            rest.append(obj)
    return index, rest


class DeclaredIndex:
    """ModelExtractors in force, by name; looked up by (group, kind) for every request.

    Readers take a snapshot dict, replaced on each change, so a request sees one consistent set.
    """

    def __init__(self) -> None:
        self._by_name: dict[str, Declaration] = {}
        self._by_kind: dict[tuple[str, str], base.Extractor] = {}

    def put(self, declaration: Declaration) -> None:
        self._by_name[declaration.name] = declaration
        self._rebuild()

    def remove(self, name: str) -> None:
        if self._by_name.pop(name, None) is not None:
            self._rebuild()

    def get(self, group: str, kind: str) -> base.Extractor | None:
        return self._by_kind.get((group, kind))

    def _rebuild(self) -> None:
        grouped: dict[tuple[str, str], list[Declaration]] = {}
        for declaration in self._by_name.values():
            grouped.setdefault((declaration.group, declaration.kind), []).append(declaration)
        self._by_kind = {key: _combined(key, found) for key, found in grouped.items()}


def _combined(key: tuple[str, str], declarations: list[Declaration]) -> base.Extractor:
    def extract(obj: Mapping[str, Any]) -> Iterator[refs.ModelRef]:
        for declaration in declarations:
            yield from _extract(declaration, obj)

    documented = tuple(p.text for d in declarations for p in d.paths)
    return base.Extractor(key[0], key[1], documented, extract)
