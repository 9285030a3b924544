"""What every scanner shares: findings, the file under scan, bounds, and the Scanner protocol."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterator
from typing import BinaryIO, Protocol


class Severity(enum.IntEnum):
    """How bad a finding is; a policy's `failOn` is the lowest severity that denies."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(f"{text!r} is not low, medium, high or critical") from None


@dataclasses.dataclass(frozen=True, slots=True)
class Location:
    """Where a finding is: a file (with `!member` steps into archives), and inside it."""

    file: str
    offset: int | None = None
    opcode: str | None = None
    name: str | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.offset is not None:
            parts.append(f"offset {self.offset}")
        if self.opcode:
            parts.append(f"opcode {self.opcode}")
        if self.name:
            parts.append(self.name)
        return ", ".join(parts)


@dataclasses.dataclass(frozen=True, slots=True)
class Finding:
    """One problem found. `rule` is stable (e.g. `pickle.unsafe-global`) for exceptions."""

    rule: str
    severity: Severity
    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.rule} ({self.severity.label}) at {self.location}: {self.message}"


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on hostile input: nothing a scanner does grows without one of these."""

    max_depth: int = 4  # archives within archives
    max_members: int = 10_000  # per archive
    max_unpacked_bytes: int = 8 * 1024**3  # decompressed bytes read, across one scan
    max_ratio: int = 200  # decompressed / compressed size of an archive member
    max_opcodes: int = 20_000_000  # per pickle
    max_config_bytes: int = 64 * 1024**2  # JSON configs, headers, templates
    max_nested_pickle_bytes: int = 64 * 1024**2


@dataclasses.dataclass(slots=True)
class Budget:
    """What a scan has spent so far, shared by the scanners of one scan."""

    limits: Limits
    unpacked: int = 0

    def spend(self, size: int) -> bool:
        """Count decompressed bytes; False once the scan's budget is exhausted."""
        self.unpacked += size
        return self.unpacked <= self.limits.max_unpacked_bytes


@dataclasses.dataclass(frozen=True, slots=True)
class Blob:
    """A file to scan: a path on disk or a member of an archive, opened on demand.

    `name` is what findings show (`model.tar!weights/model.pkl`), `size` the uncompressed
    size when known, `depth` how many archives it is nested in.
    """

    name: str
    open: Callable[[], BinaryIO]
    size: int | None = None
    depth: int = 0

    def at(
        self, offset: int | None = None, opcode: str | None = None, name: str | None = None
    ) -> Location:
        return Location(self.name, offset, opcode, name)


class Scanner(Protocol):
    """Scans one format. `scan` yields findings and never raises for bad input: a file it
    cannot parse is itself a finding."""

    name: str

    def scan(self, blob: Blob, budget: Budget) -> Iterator[Finding]: ...


def malformed(blob: Blob, fmt: str, why: str, offset: int | None = None) -> Finding:
    """A code-carrying file that cannot be parsed: its loader may act before it fails."""
    return Finding(
        rule=f"{fmt}.malformed",
        severity=Severity.HIGH,
        location=blob.at(offset),
        message=f"the {fmt} data cannot be parsed ({why}); it may be truncated or crafted",
    )
