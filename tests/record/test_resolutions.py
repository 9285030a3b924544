"""The resolution cache: pinned references last as long as verdicts, tags only briefly, and
nothing is shared between keys that differ in scope or policies."""

from __future__ import annotations

from modelward.record import resolutions
from modelward.structs import refs

REF = refs.ModelRef("oci://r/m:v1", "spec.x")


def pinned(mutable: bool) -> refs.PinnedRef:
    return refs.PinnedRef(REF, "sha256:" + "a" * 64, "oci://r/m@sha256:" + "a" * 64, mutable)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_tags_expire_before_pinned_references() -> None:
    clock = Clock()
    cache = resolutions.ResolutionCache(ttl_mutable=30, ttl_pinned=3600, size=10, clock=clock)
    cache.put(("tag",), pinned(True))
    cache.put(("digest",), pinned(False))
    clock.now = 29
    assert cache.get(("tag",)) == pinned(True)
    clock.now = 31
    assert cache.get(("tag",)) is None
    assert cache.get(("digest",)) == pinned(False)
    clock.now = 3601
    assert cache.get(("digest",)) is None


def test_zero_ttl_keeps_nothing_and_size_is_bounded() -> None:
    cache = resolutions.ResolutionCache(ttl_mutable=0, ttl_pinned=10, size=2)
    cache.put(("tag",), pinned(True))
    assert cache.get(("tag",)) is None
    for i in range(3):
        cache.put((i,), pinned(False))
    assert cache.get((0,)) is None
    assert cache.get((2,)) == pinned(False)


def test_the_key_holds_scope_and_policies() -> None:
    assert resolutions.key("u", ("ns-a", None), ()) != resolutions.key("u", ("ns-b", None), ())
