"""The attestations a policy requires: by predicate type, from which authorities, with which
conditions on the predicate."""

from __future__ import annotations

import dataclasses
import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelward.structs import policy

# One step of a predicate path: a key, a list index, or None for every item of a list (`[*]`).
Step = str | int | None


@dataclasses.dataclass(frozen=True, slots=True)
class Path:
    """A dotted path into a predicate as written (`text`) and parsed (`steps`)."""

    text: str
    steps: tuple[Step, ...]


class Op(enum.StrEnum):
    """How a condition tests the values found at its path."""

    EQUALS = "equals"
    MATCHES = "matches"
    IN = "in"


@dataclasses.dataclass(frozen=True, slots=True)
class Condition:
    """Every value at `path` must satisfy `op`: equal `value`, match the regular expression
    `value`, or be one of `allowed` (listed inline or read from `origin`, a ConfigMap)."""

    path: Path
    op: Op
    value: str = ""
    # Sorted, so that the policy's fingerprint is the same in every process.
    allowed: tuple[str, ...] = ()
    origin: str = ""
    allowed_set: frozenset[str] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed_set", frozenset(self.allowed))


@dataclasses.dataclass(frozen=True, slots=True)
class Requirement:
    """One attestation the model must carry: an in-toto Statement of `predicate_type`, signed
    by one of `authorities` (names of the policy's authorities or of the `inline` ones listed
    for this attestation alone), about this model, younger than
    `max_age_seconds` when set (its time read at the first of `time_paths` the predicate
    has), meeting every condition."""

    name: str
    predicate_type: str
    authorities: tuple[str, ...]
    conditions: tuple[Condition, ...] = ()
    max_age_seconds: float | None = None
    time_paths: tuple[Path, ...] = ()
    inline: tuple[policy.Authority, ...] = ()
