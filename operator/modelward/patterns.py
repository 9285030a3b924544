"""Regular expressions written in policies, matched with RE2: linear in the input whatever
the pattern, so that no policy (a ModelPolicy is written by a namespace's users) can stall the
webhook every namespace shares with a backtracking pattern."""

from __future__ import annotations

import functools
from typing import Any

import re2

# RE2 bounds its own memory per pattern; this is well above what 256 characters need.
MAX_MEMORY = 8 * 1024 * 1024


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = MAX_MEMORY
    return options


@functools.lru_cache(maxsize=256)
def compile_pattern(text: str) -> Any:
    """The compiled pattern; ValueError naming the problem when RE2 cannot compile it
    (backreferences and lookarounds are not RE2 syntax)."""
    try:
        return re2.compile(text, _options())
    except re2.error as e:
        detail = e.args[0].decode() if e.args and isinstance(e.args[0], bytes) else str(e)
        raise ValueError(detail) from None


def search(text: str, value: str) -> bool:
    """Whether `value` contains a match of the pattern `text`."""
    return compile_pattern(text).search(value) is not None
