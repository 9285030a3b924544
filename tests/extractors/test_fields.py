"""Hugging Face model ids and URI normalisation."""

from __future__ import annotations

import pytest

from modelward.extractors import fields


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--model_id", "org/name"], [("hf://org/name", "c.args[1]")]),
        (["--model-id=org/name"], [("hf://org/name", "c.args[0]")]),
        (["--model_id=s3://b/m"], [("s3://b/m", "c.args[0]")]),
        (["--model_id", "/data/llama"], [("/data/llama", "c.args[1]")]),
        (["--model_id", "/mnt/models"], []),
        (["--model_id=/mnt/models/llama"], []),
        (["--model_id"], []),
        (["--model_name=org/name", "--model-dir", "/mnt/models"], []),
        (["--served-model-name", "org/name"], []),
    ],
)
def test_hf_model_id(args: list[str], expected: list[tuple[str, str]]) -> None:
    found = fields.hf_model_id({"args": args}, "c")
    assert [(r.uri, r.field_path) for r in found] == expected


@pytest.mark.parametrize(
    ("uri", "expected"),
    [(" OCI://r/m:1 ", "oci://r/m:1"), ("remote:path", "remote:path"), ("", "")],
)
def test_normalize_uri(uri: str, expected: str) -> None:
    assert fields.normalize_uri(uri) == expected
