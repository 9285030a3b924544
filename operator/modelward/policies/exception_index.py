"""The in-memory index of ModelPolicyExceptions; replaced per object, read as a snapshot."""

from __future__ import annotations

from modelward.structs import exceptions

Key = tuple[str, str]


class ExceptionIndex:
    """Exceptions by (namespace, name)."""

    def __init__(self) -> None:
        self._items: dict[Key, exceptions.PolicyException] = {}
        self._snapshot: tuple[exceptions.PolicyException, ...] = ()

    def put(self, item: exceptions.PolicyException) -> None:
        self._items[(item.namespace, item.name)] = item
        self._snapshot = tuple(self._items.values())

    def remove(self, namespace: str, name: str) -> None:
        if self._items.pop((namespace, name), None) is not None:
            self._snapshot = tuple(self._items.values())

    def snapshot(self) -> tuple[exceptions.PolicyException, ...]:
        return self._snapshot
