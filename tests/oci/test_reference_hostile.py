"""Hostile `oci://` references: parsed exactly, or refused with a named error."""

from __future__ import annotations

from hypothesis import given

from modelward import errors
from modelward.oci import reference
from tests.fixtures import hostile


@given(hostile.reference_strings)
def test_parse_accepts_or_names_the_problem(uri: str) -> None:
    try:
        ref = reference.parse(uri)
    except errors.InputError as e:
        error = e
    else:
        # What was accepted round-trips, and names no more than was written.
        assert reference.parse(str(ref)) == ref
        assert ref.registry
        assert ref.repository
        assert ref.pinned("sha256:" + "0" * 64).startswith(f"oci://{ref.registry}/")
        return
    assert error.reason == "BadReference"
    assert error.ref == uri
