"""`pvc://CLAIM/PATH`: the claim and the model's directory in it, or a clear error."""

from __future__ import annotations

import pytest

from modelward import errors
from modelward.sources import pvc


@pytest.mark.parametrize(
    ("uri", "claim", "path"),
    [
        ("pvc://models/bert/v1", "models", "bert/v1"),
        ("pvc://models/bert/v1/", "models", "bert/v1"),
        ("pvc://models", "models", ""),
        ("pvc://team-a.weights/m", "team-a.weights", "m"),
    ],
)
def test_parse(uri: str, claim: str, path: str) -> None:
    assert pvc.parse_uri(uri) == pvc.Claim(claim, path)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("pvc://Models/m", "not a valid PersistentVolumeClaim name"),
        ("pvc:///m", "not a valid PersistentVolumeClaim name"),
        ("pvc://" + "a" * 254 + "/m", "not a valid PersistentVolumeClaim name"),
        ("pvc://models/m?x=1", "takes no query"),
        ("pvc://models/../other", "without '.', '..' or '//'"),
        ("pvc://models/a/../../b", "without '.', '..' or '//'"),
        ("pvc://models/a//b", "without '.', '..' or '//'"),
        ("pvc://models/./a", "without '.', '..' or '//'"),
    ],
)
def test_bad_references(uri: str, message: str) -> None:
    with pytest.raises(errors.InputError) as found:
        pvc.parse_uri(uri)
    assert found.value.reason == "BadReference"
    assert message in found.value.message
