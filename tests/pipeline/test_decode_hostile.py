"""Hostile AdmissionReviews: decoding either yields a context or a named InputError, and the
extraction that follows never raises, whatever types the fields hold."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given

from modelward import errors
from modelward.pipeline import decode, extract
from tests.fixtures import hostile

REVIEW = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}


@given(hostile.reviews)
# Found by this property: an unhashable operation raised TypeError (a 500 from the webhook).
@example({**REVIEW, "request": {"uid": "u", "operation": []}})
@example({**REVIEW, "request": {"uid": "u", "operation": {}}})
def test_any_review_decodes_or_is_a_named_input_error(review: Any) -> None:
    try:
        ctx = decode.from_review(review)
    except errors.InputError as e:
        error = e
    else:
        assert isinstance(ctx.kind, str)
        assert ctx.kind
        for ref in extract.extract_refs(ctx.obj):
            assert isinstance(ref.uri, str)
            assert ref.field_path.startswith(("metadata", "spec"))
        return
    assert error.reason in {"BadReview", "MalformedObject"}
    assert error.message


@given(hostile.json_values)
def test_any_json_value_is_refused_or_decoded(value: Any) -> None:
    with pytest.raises(errors.InputError):
        decode.from_review(value)


@given(hostile.kube_objects)
def test_extraction_never_raises_on_decodable_objects(obj: Any) -> None:
    try:
        ctx = decode.from_object(obj)
    except errors.InputError:
        return
    found = extract.extract_refs(ctx.obj)
    assert len({(r.uri, r.field_path) for r in found}) == len(found)


@given(hostile.json_values, hostile.json_values)
def test_extraction_of_arbitrary_specs_never_raises(spec: Any, metadata: Any) -> None:
    for api_version, kind in [
        ("v1", "Pod"),
        ("apps/v1", "Deployment"),
        ("batch/v1", "CronJob"),
        ("serving.kserve.io/v1beta1", "InferenceService"),
    ]:
        obj = {"apiVersion": api_version, "kind": kind, "spec": spec, "metadata": metadata}
        for ref in extract.extract_refs(obj):
            assert isinstance(ref.uri, str)
