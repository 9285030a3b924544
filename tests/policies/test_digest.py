"""`spec.requireDigest` parsing."""

from __future__ import annotations

from typing import Any

import pytest

from modelward import errors
from modelward.policies import digest


@pytest.mark.parametrize(
    ("spec", "expected"),
    [({}, False), ({"requireDigest": False}, False), ({"requireDigest": True}, True)],
)
def test_require_digest(spec: dict[str, Any], expected: bool) -> None:
    assert digest.require_digest(spec) is expected


@pytest.mark.parametrize("value", ["true", 1, None, []])
def test_require_digest_must_be_boolean(value: Any) -> None:
    with pytest.raises(errors.PolicyError, match="requireDigest must be true or false"):
        digest.require_digest({"requireDigest": value})
