"""Verdicts cached by artifact digest and policy generation, with a TTL and an LRU bound."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

from modelward.structs import evidence, policy

Key = tuple[str, policy.PolicyKey]


class VerdictCache:
    """Only definitive verdicts are cached: a source outage is never remembered as a denial."""

    def __init__(
        self, *, ttl: float, size: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._size = size
        self._clock = clock
        self._entries: collections.OrderedDict[Key, tuple[float, evidence.PolicyResult]] = (
            collections.OrderedDict()
        )
        self.hits = 0
        self.misses = 0

    def get(self, digest: str, key: policy.PolicyKey) -> evidence.PolicyResult | None:
        entry = self._entries.get((digest, key))
        if entry is None or entry[0] < self._clock():
            if entry is not None:
                del self._entries[(digest, key)]
            self.misses += 1
            return None
        self._entries.move_to_end((digest, key))
        self.hits += 1
        return entry[1]

    def put(self, digest: str, key: policy.PolicyKey, result: evidence.PolicyResult) -> None:
        self._entries[(digest, key)] = (self._clock() + self._ttl, result)
        self._entries.move_to_end((digest, key))
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
