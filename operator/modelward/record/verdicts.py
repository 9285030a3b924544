"""Verdicts cached by artifact digest and policy revision, with a TTL and an LRU bound."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

from modelward.record import metrics
from modelward.structs import evidence, policy

Key = tuple[str, policy.PolicyKey, str]


class VerdictCache:
    """Verified verdicts by (digest, policy, policy revision); the caller stores passes only."""

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

    def get(self, digest: str, pol: policy.Policy) -> evidence.PolicyResult | None:
        key = (digest, pol.key, pol.revision)
        entry = self._entries.get(key)
        if entry is None or entry[0] < self._clock():
            if entry is not None:
                del self._entries[key]
            self.misses += 1
            metrics.cache_lookup(hit=False)
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        metrics.cache_lookup(hit=True)
        return entry[1]

    def put(self, digest: str, pol: policy.Policy, result: evidence.PolicyResult) -> None:
        key = (digest, pol.key, pol.revision)
        self._entries[key] = (self._clock() + self._ttl, result)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
