"""The README's tables of kinds and schemes say what the code does."""

from __future__ import annotations

import pathlib
import re

from modelward.extractors import kserve, pods, registry
from modelward.pipeline import admit

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def table(marker: str) -> list[list[str]]:
    """The rows (cells) of the Markdown table that follows `<!-- marker: ... -->`."""
    lines = README.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"<!-- {marker}:"))
    rows = []
    for line in lines[start + 3 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def code(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def test_kinds_table_matches_the_registry() -> None:
    rows = table("kinds-table")
    documented = {}
    for group, kind, fields in rows:
        if group == "*(any)*":
            assert tuple(code(fields)) == pods.ANNOTATION_FIELDS
            continue
        (g,), (k,) = code(group), code(kind)
        documented[("" if g == "core" else g, k)] = tuple(code(fields))
    assert documented == {key: e.fields for key, e in registry.BUILTIN.items()}


def test_kserve_placeholders_are_spelled_out() -> None:
    text = README.read_text()
    intro = text[text.index("### Supported kinds and fields") : text.index("<!-- kinds-table")]
    component = intro[intro.index("`<component>`") : intro.index("`<framework>`")]
    framework = intro[intro.index("`<framework>`") : intro.index("`<pod>`")]
    assert set(code(component)) - {"<component>"} == set(kserve.COMPONENTS)
    assert set(code(framework)) - {"<framework>"} == set(kserve.FRAMEWORKS)


def test_verified_schemes_are_the_sources() -> None:
    verified = set()
    for schemes, answer, _ in table("schemes-table"):
        if answer == "yes":
            verified |= {s.removesuffix("://") for s in code(schemes)}
    assert verified == {s for source in admit.default_sources() for s in source.schemes}
