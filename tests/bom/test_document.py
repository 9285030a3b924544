"""The CycloneDX document: purls, versions, hashes, workloads and dependencies, validated."""

from __future__ import annotations

import json

import pytest
from cyclonedx.model import HashAlgorithm, HashType
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType

from modelward import errors
from modelward.bom import document, inventory

DIGEST = "sha256:" + "a" * 64
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def model(uri: str, digest: str | None = DIGEST, pinned: str | None = None) -> inventory.Model:
    facts = inventory.Facts(
        digest=digest, pinned_uri=pinned, verdict=inventory.Verdict.VERIFIED, reason="Verified"
    )
    workload = inventory.Workload("Pod", "ml", "p")
    key = inventory.model_key(uri, digest)
    return inventory.Model(key, facts, (uri,), (inventory.Use(workload, "spec.x", uri),))


def component(m: inventory.Model) -> dict[str, object]:
    bom = json.loads(document.render(document.build([m], origin="manifests")))
    (found,) = [c for c in bom["components"] if c["type"] == "machine-learning-model"]
    return found  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("uri", "pinned", "name", "version", "purl", "distribution"),
    [
        (
            "oci://reg:5000/team/bert:v1",
            f"oci://reg:5000/team/bert@{DIGEST}",
            "reg:5000/team/bert",
            DIGEST,
            f"pkg:oci/bert@{DIGEST}?repository_url=reg:5000/team/bert",
            None,
        ),
        (
            "hf://org/bert@main",
            f"hf://org/bert@{COMMIT}",
            "org/bert",
            COMMIT,
            f"pkg:huggingface/org/bert@{COMMIT}",
            None,
        ),
        (
            "s3://bucket/models/bert/",
            "s3://bucket/models/bert/",
            "s3://bucket/models/bert/",
            DIGEST,
            None,
            "s3://bucket/models/bert/",
        ),
        ("oci://reg/team/bert:v1", None, "reg/team/bert", DIGEST, None, "oci://reg/team/bert:v1"),
    ],
)
def test_names_versions_purls(
    uri: str,
    pinned: str | None,
    name: str,
    version: str,
    purl: str | None,
    distribution: str | None,
) -> None:
    found = component(model(uri, pinned=pinned))
    assert (found["name"], found["version"], found.get("purl")) == (name, version, purl)
    refs = [r["url"] for r in found.get("externalReferences", [])]  # type: ignore[attr-defined]
    assert refs == ([distribution] if distribution else [])
    assert found["hashes"] == [{"alg": "SHA-256", "content": "a" * 64}]


def test_unresolved_model_has_no_version_nor_hash() -> None:
    found = component(model("oci://reg/team/bert:v1", digest=None))
    assert found["bom-ref"] == "model:unresolved:oci://reg/team/bert:v1"
    assert "version" not in found
    assert "hashes" not in found


def test_workload_depends_on_its_models() -> None:
    text = document.render(document.build([model("oci://r/a/b:1")], origin="cluster"))
    bom = json.loads(text)
    deps = {d["ref"]: d.get("dependsOn", []) for d in bom["dependencies"]}
    assert deps["workload:Pod/ml/p"] == [f"model:{DIGEST}"]
    assert bom["metadata"]["tools"]["components"][0]["name"] == "modelward"


def test_a_document_that_does_not_validate_is_refused() -> None:
    bad = Bom(
        components=[
            Component(
                type=ComponentType.MACHINE_LEARNING_MODEL,
                name="m",
                hashes=[HashType(alg=HashAlgorithm.SHA_256, content="not hex")],
            )
        ]
    )
    with pytest.raises(errors.BomError, match=r"does not validate against the CycloneDX 1\.6"):
        document.render(bad)


def test_validation_can_be_skipped_for_large_inventories() -> None:
    bad = Bom(components=[Component(type=ComponentType.FILE, name="f", hashes=[])])
    bad.components[0].hashes.add(HashType(alg=HashAlgorithm.SHA_256, content="not hex"))
    assert '"content": "not hex"' in document.render(bad, validate=False)
    with pytest.raises(errors.BomError):
        document.render(bad)
