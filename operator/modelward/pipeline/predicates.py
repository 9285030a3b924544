"""Evaluate a condition on an attestation's predicate: the values at a dotted path, each of
which must pass the test. A path that reaches nothing fails; it never passes vacuously."""

from __future__ import annotations

import json
from typing import Any

from modelward import patterns
from modelward.structs import attesting

# Bounds on what a hostile predicate can make one condition do.
MAX_VALUES = 10_000
MAX_VALUE_CHARS = 4096
SHOWN_CHARS = 120


def locate(
    document: Any, steps: tuple[attesting.Step, ...]
) -> tuple[list[tuple[str, Any]], str | None]:
    """Every (concrete path, value) the steps reach, and the first concrete path where one
    branch found nothing (a missing key, an index out of range, a non-list under `[*]`)."""
    found: list[tuple[str, Any]] = [("", document)]
    for step in steps:
        reached: list[tuple[str, Any]] = []
        for where, value in found:
            if step is None:
                if not isinstance(value, list):
                    return [], f"{where}[*]"
                reached.extend((f"{where}[{i}]", item) for i, item in enumerate(value))
            elif isinstance(step, int):
                if not isinstance(value, list) or not 0 <= step < len(value):
                    return [], f"{where}[{step}]"
                reached.append((f"{where}[{step}]", value[step]))
            else:
                here = f"{where}.{step}" if where else step
                if not isinstance(value, dict) or step not in value:
                    return [], here
                reached.append((here, value[step]))
            if len(reached) > MAX_VALUES:
                return [], f"{where} (more than {MAX_VALUES} values)"
        found = reached
    return found, None


def scalar(value: Any) -> str | None:
    """A value as the text conditions compare: strings as they are, numbers and booleans as
    JSON writes them; None for objects, lists and null."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return None


def show(text: str) -> str:
    """A predicate value quoted for a message, cut short: it is the signer's text, not ours."""
    cut = text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "..."
    return json.dumps(cut)


def check(condition: attesting.Condition, predicate: Any) -> str | None:
    """None when every value at the condition's path passes; else why, naming the path."""
    values, missing = locate(predicate, condition.path.steps)
    if missing is not None:
        return f"{missing} is absent"
    if not values:
        return f"{condition.path.text} matches no value"
    for where, raw in values:
        value = scalar(raw)
        if value is None:
            kind = "null" if raw is None else type(raw).__name__.replace("dict", "object")
            return f"{where} is {kind}, not a string, number or boolean"
        if len(value) > MAX_VALUE_CHARS:
            return f"{where} is longer than {MAX_VALUE_CHARS} characters"
        problem = _test(condition, where, value)
        if problem is not None:
            return problem
    return None


def _test(condition: attesting.Condition, where: str, value: str) -> str | None:
    if condition.op is attesting.Op.EQUALS:
        if value != condition.value:
            return f"{where} is {show(value)}, expected {show(condition.value)}"
    elif condition.op is attesting.Op.MATCHES:
        if not patterns.search(condition.value, value):
            return f"{where} is {show(value)}, which does not match /{condition.value}/"
    elif value not in condition.allowed_set:
        return f"{where} is {show(value)}, not in {condition.origin}"
    return None
