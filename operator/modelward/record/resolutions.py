"""What each reference resolved to, so an admission whose verdicts are all cached answers
without asking the source again.

A pinned reference (digest, commit, object version) resolves to the same bytes forever and is
kept as long as verdicts are; a mutable one (a tag, a branch) only for a short TTL, since the
tag may move. The key holds everything the resolution depended on: the reference, the
request's namespace and pull Secrets (whose credentials were used), and the governing
policies with their endpoints and allowances, so no request reuses what another could reach
and it could not.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Hashable, Sequence

from modelward.structs import policy, refs

Key = tuple[Hashable, ...]


def key(uri: str, scope: Hashable, governing: Sequence[policy.Policy]) -> Key:
    """The cache key of one reference under one request's scope and policies."""
    return (
        uri,
        scope,
        tuple((p.key, p.revision, repr(p.sources)) for p in governing),
    )


class ResolutionCache:
    """Pinned references by key, each until its TTL; the least recently used go first."""

    def __init__(
        self,
        *,
        ttl_mutable: float,
        ttl_pinned: float,
        size: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_mutable = ttl_mutable
        self._ttl_pinned = ttl_pinned
        self._size = size
        self._clock = clock
        self._entries: collections.OrderedDict[Key, tuple[float, refs.PinnedRef]] = (
            collections.OrderedDict()
        )

    def get(self, k: Key) -> refs.PinnedRef | None:
        entry = self._entries.get(k)
        if entry is None:
            return None
        if entry[0] < self._clock():
            del self._entries[k]
            return None
        self._entries.move_to_end(k)
        return entry[1]

    def put(self, k: Key, pinned: refs.PinnedRef) -> None:
        ttl = self._ttl_mutable if pinned.mutable else self._ttl_pinned
        if ttl <= 0:
            return
        self._entries[k] = (self._clock() + ttl, pinned)
        self._entries.move_to_end(k)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
