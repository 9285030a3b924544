"""KServe's storage-key form resolved through the storage-config Secret, or left unresolved
with the reason."""

from __future__ import annotations

import json

import pytest

from modelward import errors
from modelward.pipeline import storage
from modelward.structs import refs

SECRETS = {
    ("ml", "storage-config", "localMinIO"): json.dumps(
        {"type": "s3", "bucket": "models", "access_key_id": "minio", "secret_access_key": "s3cr3t"}
    ).encode(),
    ("ml", "storage-config", "gcs"): json.dumps({"type": "gs", "bucket": "gbucket"}).encode(),
    ("ml", "storage-config", "azure"): json.dumps({"type": "azure", "bucket": "c"}).encode(),
    ("ml", "storage-config", "nobucket"): json.dumps({"type": "s3"}).encode(),
    ("ml", "storage-config", "junk"): b"secret_access_key=s3cr3t",
}


def reader(namespace: str, name: str, key: str) -> bytes:
    try:
        return SECRETS[(namespace, name, key)]
    except KeyError:
        raise errors.PolicyError(
            f"Secret {namespace}/{name} has no key {key!r}", reason="SecretNotFound"
        ) from None


def ref(key: str, path: str = "sk/model", **parameters: str) -> refs.ModelRef:
    return refs.ModelRef(
        f"kserve-storage://{key}/{path}",
        "spec.predictor.model.storage",
        storage=refs.StorageKey(key, path, tuple(sorted(parameters.items()))),
    )


@pytest.mark.parametrize(
    ("given", "uri"),
    [
        (ref("localMinIO"), "s3://models/sk/model"),
        (ref("gcs", "m"), "gs://gbucket/m"),
        (ref("localMinIO", bucket="other"), "s3://other/sk/model"),
        (ref("nobucket", bucket="b"), "s3://b/sk/model"),
    ],
)
def test_resolved(given: refs.ModelRef, uri: str) -> None:
    out = storage.resolve(given, "ml", reader)
    assert (out.uri, out.field_path, out.problem) == (uri, "spec.predictor.model.storage", "")


@pytest.mark.parametrize(
    ("given", "namespace", "secrets", "problem"),
    [
        (ref("localMinIO"), "ml", None, "cannot be read offline"),
        (ref("missing"), "ml", reader, "Secret ml/storage-config has no key 'missing'"),
        (ref("localMinIO"), "other", reader, "has no key 'localMinIO'"),
        (ref("azure"), "ml", reader, "storage type 'azure' names no URI scheme"),
        (ref("nobucket"), "ml", reader, "no bucket"),
        (ref("junk"), "ml", reader, "the value is not JSON"),
        (ref("localMinIO"), None, reader, "the object has no namespace"),
    ],
)
def test_unresolved(
    given: refs.ModelRef,
    namespace: str | None,
    secrets: storage.SecretReader | None,
    problem: str,
) -> None:
    out = storage.resolve(given, namespace, secrets)
    assert out.uri == given.uri
    assert problem in out.problem
    assert "s3cr3t" not in out.problem


def test_plain_reference_is_untouched() -> None:
    plain = refs.ModelRef("s3://b/m", "spec.predictor.model.storageUri")
    assert storage.resolve(plain, "ml", reader) is plain
