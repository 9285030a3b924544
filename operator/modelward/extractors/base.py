"""What an extractor is: the fields it reads for one (group, kind), and the function that reads."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from modelward.structs import refs

ExtractFn = Callable[[Mapping[str, Any]], Iterator[refs.ModelRef]]


@dataclasses.dataclass(frozen=True, slots=True)
class Extractor:
    """Finds the model references of one kind of object.

    `fields` lists, for people, the field paths read (`[*]` over lists); the README's table
    of supported kinds is checked against it.
    """

    group: str
    kind: str
    fields: tuple[str, ...]
    extract: ExtractFn

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.kind)
