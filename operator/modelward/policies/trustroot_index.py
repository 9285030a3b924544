"""The in-memory index of TrustRoots that keyless authorities name in `trustRootRef`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from modelward import errors
from modelward.policies.keyless import TrustRootReader
from modelward.policies.trustroots import TrustRoot

__all__ = ["TrustRootIndex", "TrustRootReader", "dependants", "references"]


class TrustRootIndex:
    """TrustRoots by name; `read` is the TrustRootReader policies are parsed with."""

    def __init__(self) -> None:
        self._roots: dict[str, TrustRoot] = {}

    def put(self, root: TrustRoot) -> None:
        self._roots[root.name] = root

    def get(self, name: str) -> TrustRoot | None:
        return self._roots.get(name)

    def remove(self, name: str) -> None:
        self._roots.pop(name, None)

    def read(self, name: str) -> bytes:
        """The named root's trusted_root.json; a PolicyError when absent or not ready."""
        root = self._roots.get(name)
        if root is None:
            raise errors.PolicyError(
                f"TrustRoot {name!r} does not exist (yet); create it or fix trustRootRef",
                reason="TrustRootNotFound",
            )
        # A TUF root whose refresh failed keeps serving its last verified document.
        if not root.raw:
            raise errors.PolicyError(
                f"TrustRoot {name!r} is not ready: {root.error_message}",
                reason="TrustRootUnavailable",
            )
        return root.raw


def references(body: Mapping[str, Any]) -> set[str]:
    """The TrustRoot names a policy object's keyless authorities refer to."""
    spec = body.get("spec")
    authorities = spec.get("authorities") if isinstance(spec, Mapping) else None
    found: set[str] = set()
    for item in authorities if isinstance(authorities, list) else []:
        keyless = item.get("keyless") if isinstance(item, Mapping) else None
        ref = keyless.get("trustRootRef") if isinstance(keyless, Mapping) else None
        if isinstance(ref, str):
            found.add(ref)
    return found


def dependants(bodies: Iterable[Mapping[str, Any]], name: str) -> list[Mapping[str, Any]]:
    """The policy objects that name TrustRoot `name`."""
    return [body for body in bodies if name in references(body)]
