"""ModelExtractor declarations: paths and regexes parse or fail with a reason; the index
extracts declared kinds, told apart by group and version."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import yaml

from modelward import errors
from modelward.extractors import declared, registry, status

SERVING_JOB = """
apiVersion: ml.example.com/v1
kind: ServingJob
metadata: {name: chat, namespace: ml}
spec:
  models:
    - {name: base, uri: "oci://r/base:1"}
    - {name: lora, uri: "hf://org/lora"}
  server:
    image: registry.example/org/server:1            # an image, not a model
    args: ["--port=8080", "--model=s3://b/chat", "--endpoint=http://svc:80"]
    env:
      - {name: MODEL_PATH, value: /mnt/models}
      - {name: MODEL, value: "gs://b/env"}
  annotations: {"models.example.com/extra": "pvc://cache/x"}
"""


def extractor(*paths: dict[str, str], group: str = "ml.example.com", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "modelward.io/v1alpha1",
        "kind": "ModelExtractor",
        "metadata": {"name": "servingjobs", "generation": 2},
        "spec": {"group": group, "kind": "ServingJob", "paths": list(paths), **spec},
    }


def found(index: declared.DeclaredIndex, obj: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r.uri, r.field_path) for r in registry.extract_refs(obj, index)]


def indexed(obj: dict[str, Any]) -> declared.DeclaredIndex:
    index = declared.DeclaredIndex()
    index.put(declared.parse(obj))
    return index


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            {"path": "spec.models[*].uri"},
            [("oci://r/base:1", "spec.models[0].uri"), ("hf://org/lora", "spec.models[1].uri")],
        ),
        ({"path": "spec.models[1].uri"}, [("hf://org/lora", "spec.models[1].uri")]),
        (
            {"path": "spec.server.args[*]", "regex": "--model=(?P<uri>\\S+)"},
            [("s3://b/chat", "spec.server.args[1]")],
        ),
        (
            {"path": "spec.server.env[name=MODEL].value"},
            [("gs://b/env", "spec.server.env[1].value")],
        ),
        (
            {"path": "spec.annotations['models.example.com/extra']"},
            [("pvc://cache/x", "spec.annotations['models.example.com/extra']")],
        ),
        ({"path": "spec.missing[*].uri"}, []),
        ({"path": "spec.server.image", "regex": "^(s3://.*)$"}, []),
    ],
)
def test_paths(path: dict[str, str], expected: list[tuple[str, str]]) -> None:
    assert found(indexed(extractor(path)), yaml.safe_load(SERVING_JOB)) == expected


def test_group_and_versions_are_respected() -> None:
    obj = yaml.safe_load(SERVING_JOB)
    other_group = indexed(extractor({"path": "spec.models[*].uri"}, group="other.example"))
    assert found(other_group, obj) == []
    v2_only = indexed(extractor({"path": "spec.models[*].uri"}, versions=["v2"]))
    assert found(v2_only, obj) == []
    v1 = indexed(extractor({"path": "spec.models[0].uri"}, versions=["v1"]))
    assert found(v1, obj) == [("oci://r/base:1", "spec.models[0].uri")]


def test_two_extractors_for_one_kind_both_apply_and_removal_stops_one() -> None:
    index = indexed(extractor({"path": "spec.models[0].uri"}))
    second = extractor({"path": "spec.server.env[name=MODEL].value"})
    second["metadata"]["name"] = "env"
    index.put(declared.parse(second))
    obj = yaml.safe_load(SERVING_JOB)
    assert len(found(index, obj)) == 2
    index.remove("servingjobs")
    assert found(index, obj) == [("gs://b/env", "spec.server.env[1].value")]
    assert registry.supported("ml.example.com", "ServingJob", index)
    index.remove("env")
    assert not registry.supported("ml.example.com", "ServingJob", index)


@pytest.mark.parametrize(
    ("paths", "reason", "message"),
    [
        ([{"path": "spec..models"}], "InvalidPath", "malformed at character 6"),
        ([{"path": "spec.models[*"}], "InvalidPath", "malformed"),
        ([{"path": ".spec"}], "InvalidPath", "malformed at character 1"),
        ([{"path": "spec."}], "InvalidPath", "ends with a dot"),
        ([{"path": ""}], "InvalidPath", "1 to 512 characters"),
        ([{"path": "spec.x", "regex": "(unclosed"}], "InvalidRegex", "does not compile"),
        ([{"path": "spec.x", "regex": "no-group"}], "InvalidRegex", "needs a group"),
        ([], "InvalidSpec", "spec.paths must list 1 to 32 paths"),
    ],
)
def test_invalid_declarations(paths: list[dict[str, str]], reason: str, message: str) -> None:
    with pytest.raises(errors.ExtractorError) as failure:
        declared.parse(extractor(*paths))
    assert failure.value.reason == reason
    assert message in failure.value.message


def test_status_ready_and_not_ready() -> None:
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    ok = declared.parse(extractor({"path": "spec.models[*].uri"}))
    patch = status.status_patch(ok, 2, None, now=now)
    assert patch is not None
    (condition,) = patch["conditions"]
    assert (condition["status"], condition["reason"], condition["message"]) == (
        "True",
        "Loaded",
        "1 paths read on ml.example.com/ServingJob",
    )
    assert status.status_patch(ok, 2, patch, now=now) is None
    broken = errors.ExtractorError("spec.paths[0]: bad", reason="InvalidPath")
    failed = status.status_patch(broken, 3, patch, now=now)
    assert failed is not None
    assert failed["conditions"][0]["status"] == "False"
    assert failed["conditions"][0]["reason"] == "InvalidPath"


def test_match_count_is_bounded() -> None:
    obj = {
        "apiVersion": "ml.example.com/v1",
        "kind": "ServingJob",
        "metadata": {"name": "x"},
        "spec": {"models": [{"uri": f"oci://r/m{i}:1"} for i in range(declared.MAX_MATCHES + 5)]},
    }
    refs = registry.extract_refs(obj, indexed(extractor({"path": "spec.models[*].uri"})))
    assert len(refs) == declared.MAX_MATCHES + 1
    assert refs[-1].problem.startswith("more than")
