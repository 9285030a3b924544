"""The predicate path evaluator: what a dotted path reaches, and each test on its values."""

from __future__ import annotations

from typing import Any

import pytest

from modelward.pipeline import predicates
from modelward.policies import attestations
from modelward.structs import attesting

PREDICATE: dict[str, Any] = {
    "runDetails": {"builder": {"id": "https://ci.test/train.yml@refs/heads/main"}},
    "buildDefinition": {"externalParameters": {"workflow": {"ref": "refs/tags/v1.2"}}},
    "datasets": [
        {"name": "a", "digest": {"sha256": "aa"}},
        {"name": "b", "digest": {"sha256": "bb"}},
    ],
    "gaps": [{"digest": {"sha256": "aa"}}, {"digest": {}}],
    "empty": [],
    "epochs": 3,
    "public": True,
    "nested": [[1, 2], [3]],
    "nothing": None,
}


@pytest.mark.parametrize(
    ("path", "values", "missing"),
    [
        ("runDetails.builder.id", ["https://ci.test/train.yml@refs/heads/main"], None),
        ("datasets[*].digest.sha256", ["aa", "bb"], None),
        ("datasets[1].name", ["b"], None),
        ("nested[*][*]", [1, 2, 3], None),
        ("empty[*].x", [], None),
        ("runDetails.builder.name", [], "runDetails.builder.name"),
        ("gaps[*].digest.sha256", [], "gaps[1].digest.sha256"),
        ("datasets[2].name", [], "datasets[2]"),
        ("epochs[*]", [], "epochs[*]"),
        ("epochs.x", [], "epochs.x"),
        ("missing", [], "missing"),
    ],
)
def test_locate(path: str, values: list[Any], missing: str | None) -> None:
    steps = attestations.parse_path(path, "path").steps
    found, absent = predicates.locate(PREDICATE, steps)
    assert [v for _, v in found] == values
    assert absent == missing


def _condition(path: str, op: str, value: Any) -> attesting.Condition:
    parsed = attestations.parse_path(path, "path")
    if op == "in":
        return attesting.Condition(
            path=parsed, op=attesting.Op.IN, allowed=tuple(value), origin="the allowlist"
        )
    return attesting.Condition(path=parsed, op=attesting.Op(op), value=value)


@pytest.mark.parametrize(
    ("path", "op", "value", "problem"),
    [
        ("runDetails.builder.id", "equals", "https://ci.test/train.yml@refs/heads/main", None),
        (
            "runDetails.builder.id",
            "equals",
            "https://ci.test/other.yml",
            'runDetails.builder.id is "https://ci.test/train.yml@refs/heads/main", '
            'expected "https://ci.test/other.yml"',
        ),
        ("buildDefinition.externalParameters.workflow.ref", "matches", "^refs/tags/v", None),
        (
            "buildDefinition.externalParameters.workflow.ref",
            "matches",
            "^refs/heads/",
            'buildDefinition.externalParameters.workflow.ref is "refs/tags/v1.2", '
            "which does not match /^refs/heads//",
        ),
        ("datasets[*].digest.sha256", "in", ["aa", "bb", "cc"], None),
        (
            "datasets[*].digest.sha256",
            "in",
            ["aa", "cc"],
            'datasets[1].digest.sha256 is "bb", not in the allowlist',
        ),
        # Never vacuous: nothing at the path fails every test.
        ("empty[*]", "in", ["aa"], "empty[*] matches no value"),
        ("gaps[*].digest.sha256", "in", ["aa"], "gaps[1].digest.sha256 is absent"),
        ("runDetails.builder.name", "equals", "", "runDetails.builder.name is absent"),
        ("epochs", "equals", "3", None),
        ("public", "equals", "true", None),
        (
            "runDetails.builder",
            "equals",
            "x",
            "runDetails.builder is object, not a string, number or boolean",
        ),
        ("nothing", "matches", ".", "nothing is null, not a string, number or boolean"),
        ("datasets", "in", ["aa"], "datasets is list, not a string, number or boolean"),
    ],
)
def test_check(path: str, op: str, value: Any, problem: str | None) -> None:
    assert predicates.check(_condition(path, op, value), PREDICATE) == problem


def test_long_values_fail_and_are_cut_in_messages() -> None:
    long = {"x": "a" * (predicates.MAX_VALUE_CHARS + 1), "y": "b" * 500}
    assert "longer than" in (predicates.check(_condition("x", "matches", "a"), long) or "")
    message = predicates.check(_condition("y", "equals", "c"), long) or ""
    assert "b" * predicates.SHOWN_CHARS + '..."' in message
    assert len(message) < 300


def test_too_many_values_fail() -> None:
    many = {"xs": list(range(predicates.MAX_VALUES + 1))}
    problem = predicates.check(_condition("xs[*]", "matches", "."), many)
    assert problem is not None
    assert "more than" in problem
