"""Policy regular expressions: RE2 syntax, linear time on hostile input."""

from __future__ import annotations

import time

import pytest

from modelward import patterns


@pytest.mark.parametrize(
    ("pattern", "value", "found"),
    [
        ("^refs/tags/v", "refs/tags/v1.2", True),
        ("^refs/tags/v", "refs/heads/main", False),
        (
            r"^https://ci\.test/[a-z]+\.yml@refs/heads/main$",
            "https://ci.test/train.yml@refs/heads/main",
            True,
        ),
        ("main$", "refs/heads/main-old", False),
    ],
)
def test_search(pattern: str, value: str, found: bool) -> None:
    assert patterns.search(pattern, value) is found


def test_backtracking_patterns_run_in_linear_time() -> None:
    started = time.monotonic()
    assert not patterns.search("(a+)+$", "a" * 4096 + "!")
    assert not patterns.search("(a|aa)*c", "a" * 4096)
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize("pattern", [r"(a)\1", "(?=a)b", "(", "a{2,1}"])
def test_patterns_re2_cannot_run_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        patterns.compile_pattern(pattern)
