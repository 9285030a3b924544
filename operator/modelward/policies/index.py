"""The in-memory index of policies every admission reads; replaced per policy, never mutated."""

from __future__ import annotations

from modelward.structs import policy

Key = tuple[str, str | None, str]


class PolicyIndex:
    """Policies by (kind, namespace, name). Readers take a snapshot tuple, so a request sees one
    consistent set even while handlers update the index."""

    def __init__(self) -> None:
        self._policies: dict[Key, policy.Policy] = {}
        self._snapshot: tuple[policy.Policy, ...] = ()

    def put(self, pol: policy.Policy) -> None:
        self._policies[(pol.key.kind, pol.key.namespace, pol.key.name)] = pol
        self._snapshot = tuple(self._policies.values())

    def remove(self, kind: str, namespace: str | None, name: str) -> None:
        if self._policies.pop((kind, namespace, name), None) is not None:
            self._snapshot = tuple(self._policies.values())

    def snapshot(self) -> tuple[policy.Policy, ...]:
        return self._snapshot

    def __len__(self) -> int:
        return len(self._policies)
