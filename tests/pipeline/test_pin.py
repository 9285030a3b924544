"""Pinning rewrites: which fields, which values, applied as a JSON patch would be."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from modelward.extractors import pods
from modelward.pipeline import extract, pin
from modelward.structs import evidence, policy, refs

DIGEST = "sha256:" + "ab" * 32
KEY = policy.PolicyKey("ClusterModelPolicy", None, "p", "u", 1)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("spec.predictor.model.storageUri", ("spec", "predictor", "model", "storageUri")),
        ("spec.volumes[2].image.reference", ("spec", "volumes", 2, "image", "reference")),
        (
            "metadata.annotations['modelward.io/models']",
            ("metadata", "annotations", "modelward.io/models"),
        ),
        ("spec.containers[0].env[1].value", ("spec", "containers", 0, "env", 1, "value")),
        ("spec..x", None),
        ("spec[x]", None),
        ("", None),
    ],
)
def test_field_path(text: str, parts: tuple[Any, ...] | None) -> None:
    assert pin.field_path(text) == parts


def passed(ref: refs.ModelRef, pinned: str, *, mutable: bool = True, ok: bool = True) -> Any:
    result = evidence.PolicyResult(KEY, policy.Mode.ENFORCE, ok, "Verified", "")
    return evidence.RefResult(
        ref=ref, digest=DIGEST, pinned_uri=pinned, results=(result,), mutable=mutable
    )


def pod(volume: str, annotation: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "annotations": {pods.MODELS_ANNOTATION: annotation}},
        "spec": {
            "containers": [{"name": "c", "image": "server:1"}],
            "volumes": [{"name": "m", "image": {"reference": volume}}],
        },
    }


def test_rewrites_pin_every_verified_mutable_oci_field() -> None:
    obj = pod("reg.example:5000/models/bert:v1", "oci://reg.example:5000/x:v2, https://h/m")
    found = extract.extract_refs(obj)
    by_uri = {r.uri: r for r in found}
    decision = evidence.Decision(
        allowed=True,
        message="",
        warnings=(),
        refs=(
            passed(
                by_uri["oci://reg.example:5000/models/bert:v1"],
                f"oci://reg.example:5000/models/bert@{DIGEST}",
            ),
            passed(by_uri["oci://reg.example:5000/x:v2"], f"oci://reg.example:5000/x@{DIGEST}"),
            passed(by_uri["https://h/m"], "https://h/m"),
        ),
    )
    changes = pin.rewrites(obj, decision)
    patched = copy.deepcopy(obj)
    pin.apply(patched, changes)
    assert patched["spec"]["volumes"][0]["image"]["reference"] == (
        f"reg.example:5000/models/bert@{DIGEST}"
    )
    assert patched["metadata"]["annotations"][pods.MODELS_ANNOTATION] == (
        f"oci://reg.example:5000/x@{DIGEST}, https://h/m"
    )
    assert len(changes) == 2


@pytest.mark.parametrize(
    ("allowed", "mutable", "ok"),
    [(False, True, True), (True, False, True), (True, True, False)],
)
def test_nothing_is_pinned_unless_allowed_mutable_and_verified(
    allowed: bool, mutable: bool, ok: bool
) -> None:
    obj = pod("reg.example/bert:v1", "")
    (ref,) = extract.extract_refs(obj)
    result = passed(ref, f"oci://reg.example/bert@{DIGEST}", mutable=mutable, ok=ok)
    decision = evidence.Decision(allowed=allowed, message="", warnings=(), refs=(result,))
    assert pin.rewrites(obj, decision) == []


def test_apply_leaves_a_value_that_changed_alone() -> None:
    obj = {"spec": {"storageUri": "oci://r/x:v2"}}
    pin.apply(obj, [pin.Rewrite(("spec", "storageUri"), "oci://r/x:v1", "oci://r/x@" + DIGEST)])
    assert obj["spec"]["storageUri"] == "oci://r/x:v2"
