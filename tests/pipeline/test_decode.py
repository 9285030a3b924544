"""AdmissionReview decoding: good reviews become contexts, malformed ones InputErrors."""

from __future__ import annotations

from typing import Any

import pytest

from modelward import errors
from modelward.pipeline import decode

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"generateName": "bert-", "labels": {"a": "b"}},
}


def review(**request: Any) -> dict[str, Any]:
    base = {
        "uid": "u-1",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "operation": "CREATE",
        "namespace": "ml",
        "userInfo": {"username": "alice"},
        "object": POD,
        "dryRun": True,
    }
    base.update(request)
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": base}


def test_decodes_a_review_and_takes_the_namespace_from_the_request() -> None:
    ctx = decode.from_review(review())
    assert (ctx.uid, ctx.kind, ctx.namespace, ctx.name, ctx.username) == (
        "u-1",
        "Pod",
        "ml",
        "bert-",
        "alice",
    )
    assert ctx.dry_run is True
    assert ctx.labels == {"a": "b"}
    assert ctx.display == "Pod ml/bert-"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "the AdmissionReview is not a JSON object"),
        (
            {"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {}},
            "expected apiVersion",
        ),
        ({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}, "has no request"),
        (review(uid=""), "has no uid"),
        (review(operation="PATCH"), "unknown operation"),
        (review(object=None), "carries no object"),
        (review(object={"kind": "Pod"}), "has no apiVersion"),
        (
            review(object={"apiVersion": "v1", "kind": "Pod", "metadata": []}),
            "metadata is not a mapping",
        ),
        (
            review(object={"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": "x"}}),
            "labels are not a mapping",
        ),
    ],
)
def test_malformed_reviews_are_input_errors(raw: Any, message: str) -> None:
    with pytest.raises(errors.InputError, match=message):
        decode.from_review(raw)
