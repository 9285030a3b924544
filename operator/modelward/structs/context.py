"""One object under admission, decoded from an AdmissionReview or read from a manifest."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any


@dataclasses.dataclass(frozen=True, slots=True)
class AdmissionContext:
    """What the pipeline needs to know about the object under check."""

    uid: str
    operation: str
    group: str
    version: str
    kind: str
    namespace: str | None
    name: str
    obj: Mapping[str, Any]
    labels: Mapping[str, str]
    namespace_labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    dry_run: bool = False
    username: str = ""

    @property
    def qualified_kind(self) -> str:
        """`Pod`, `apps/Deployment` style: the group is shown where it disambiguates."""
        return f"{self.group}/{self.kind}" if self.group else self.kind

    @property
    def display(self) -> str:
        """`Deployment ml/bert` as used in messages."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"
