"""The TrustRoot and ModelPolicyException CRDs: documented, and what they accept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
import yaml

from tests.chart.conftest import CHART, strict, walk

FILES = {
    "TrustRoot": CHART / "crds" / "trustroots.modelward.io.yaml",
    "ModelPolicyException": CHART / "crds" / "modelpolicyexceptions.modelward.io.yaml",
}


def schema(kind: str) -> dict[str, Any]:
    (version,) = yaml.safe_load(FILES[kind].read_text())["spec"]["versions"]
    return version["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


def errors(document: dict[str, Any]) -> list[list[Any]]:
    validator = jsonschema.Draft7Validator(
        strict(schema(document["kind"])), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    return [list(e.absolute_path) for e in validator.iter_errors(document)]


def trust_root(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "modelward.io/v1alpha1",
        "kind": "TrustRoot",
        "metadata": {"name": "private"},
        "spec": spec or {"configMapRef": {"name": "sigstore", "namespace": "modelward"}},
    }


def exception(**over: Any) -> dict[str, Any]:
    spec = {
        "policies": ["require-signed"],
        "models": ["oci://registry.example.com/experiments/**"],
        "workloads": {
            "kinds": ["Deployment"],
            "names": ["bert"],
            "selector": {"matchLabels": {"a": "b"}},
        },
        "owner": "ml-platform@example.com",
        "reason": "vendor model, signature pending",
        "expires": "2026-06-30T00:00:00Z",
    }
    spec.update(over)
    return {
        "apiVersion": "modelward.io/v1alpha1",
        "kind": "ModelPolicyException",
        "metadata": {"name": "vendor", "namespace": "ml"},
        "spec": spec,
    }


@pytest.mark.parametrize("kind", FILES)
def test_every_field_is_documented(kind: str) -> None:
    for path, node in walk(schema(kind)):
        assert "type" in node, path
        for name, sub in node.get("properties", {}).items():
            if f"{path}.{name}" != ".metadata":
                assert sub.get("description"), f"{path}.{name} has no description"


@pytest.mark.parametrize(
    "document",
    [
        trust_root(),
        trust_root(trustedRootJSON='{"mediaType": "x"}'),
        trust_root(
            sigstoreKeys={"certificateAuthorities": [{"uri": "u"}], "tlogs": [], "ctlogs": []}
        ),
        trust_root(tuf={"mirror": "https://tuf.example/", "rootJSON": "{}"}),
        trust_root(
            tuf={
                "mirror": "https://tuf.example/sigstore",
                "root": {"configMapRef": {"name": "tuf-root"}},
                "target": "sigstore/trusted_root.json",
                "refreshInterval": "1h30m",
            }
        ),
        exception(),
        exception(workloads={}),
    ],
    ids=[
        "configmap",
        "json",
        "keys",
        "tuf-inline",
        "tuf-configmap",
        "exception",
        "exception-all-workloads",
    ],
)
def test_examples_are_accepted(document: dict[str, Any]) -> None:
    assert errors(document) == []


BAD: list[tuple[Callable[[], dict[str, Any]], list[Any]]] = [
    (lambda: trust_root(trustedRootJSON="{}", configMapRef={"name": "x"}), ["spec"]),
    (lambda: trust_root(configMapRef={}), ["spec", "configMapRef"]),
    (lambda: trust_root(sigstoreKeys={"tlogs": []}), ["spec", "sigstoreKeys"]),
    (
        lambda: trust_root(tuf={"mirror": "https://m/", "rootJSON": "{}"}, trustedRootJSON="{}"),
        ["spec"],
    ),
    (lambda: trust_root(tuf={"rootJSON": "{}"}), ["spec", "tuf"]),
    (lambda: trust_root(tuf={"mirror": "https://tuf.example/"}), ["spec", "tuf"]),
    (
        lambda: trust_root(tuf={"mirror": "https://u:p@tuf.example/", "rootJSON": "{}"}),
        ["spec", "tuf", "mirror"],
    ),
    (
        lambda: trust_root(tuf={"mirror": "file:///etc/", "rootJSON": "{}"}),
        ["spec", "tuf", "mirror"],
    ),
    (
        lambda: trust_root(
            tuf={"mirror": "https://tuf.example/", "rootJSON": "{}", "target": "../x"}
        ),
        ["spec", "tuf", "target"],
    ),
    (
        lambda: trust_root(
            tuf={"mirror": "https://tuf.example/", "rootJSON": "{}", "refreshInterval": "1d"}
        ),
        ["spec", "tuf", "refreshInterval"],
    ),
    (lambda: exception(models=[]), ["spec", "models"]),
    (lambda: exception(policies=[]), ["spec", "policies"]),
    (lambda: exception(owner=""), ["spec", "owner"]),
    (lambda: exception(workloads={"kinds": ["pods"]}), ["spec", "workloads", "kinds", 0]),
]


@pytest.mark.parametrize(("make", "where"), BAD)
def test_bad_objects_are_rejected(make: Callable[[], dict[str, Any]], where: list[Any]) -> None:
    assert where in errors(make())


def test_missing_owner_reason_or_expiry_is_rejected() -> None:
    document = exception()
    for field in ("owner", "reason", "expires"):
        del document["spec"][field]
    assert errors(document) == [["spec"]] * 3
