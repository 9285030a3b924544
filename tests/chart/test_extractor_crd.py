"""The ModelExtractor CRD: structural, documented, and accepting what the operator parses."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chart.conftest import crd, crd_errors, openapi, walk


def example(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "modelward.io/v1alpha1",
        "kind": "ModelExtractor",
        "metadata": {"name": "servingjobs"},
        "spec": {
            "group": "ml.example.com",
            "kind": "ServingJob",
            "versions": ["v1"],
            "paths": [
                {"path": "spec.models[*].uri"},
                {"path": "spec.server.args[*]", "regex": "--model=(?P<uri>\\S+)"},
            ],
            **spec,
        },
    }


def test_scope_columns_and_status() -> None:
    definition = crd("ModelExtractor")
    assert definition["spec"]["scope"] == "Cluster"
    (version,) = definition["spec"]["versions"]
    assert version["subresources"] == {"status": {}}
    assert [c["name"] for c in version["additionalPrinterColumns"]] == [
        "Group",
        "Kind",
        "Ready",
        "Reason",
        "Age",
    ]


def test_schema_is_structural_and_documented() -> None:
    for path, node in walk(openapi("ModelExtractor")):
        assert "type" in node, f"{path} has no type"
        if path not in ("", ".metadata"):
            assert node.get("description"), f"{path} has no description"


def test_example_is_accepted() -> None:
    assert crd_errors(example()) == []


@pytest.mark.parametrize(
    ("spec", "where"),
    [
        ({"paths": []}, ["spec", "paths"]),
        ({"kind": "servingjob"}, ["spec", "kind"]),
        ({"paths": [{"regex": "x"}]}, ["spec", "paths", 0]),
        ({"paths": [{"path": "a", "regex": ""}]}, ["spec", "paths", 0, "regex"]),
        ({"groups": ["x"]}, ["spec"]),
    ],
)
def test_bad_extractors_are_rejected(spec: dict[str, Any], where: list[Any]) -> None:
    found = crd_errors(example(**spec))
    assert where in [list(e.absolute_path) for e in found]
