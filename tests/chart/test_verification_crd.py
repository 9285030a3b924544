"""The ModelVerification CRD: structural, documented, and holding exactly what the operator
writes into it."""

from __future__ import annotations

import datetime
from typing import Any

from modelward.record import verifications
from modelward.structs import refs
from tests.chart.conftest import crd, crd_errors, walk
from tests.record.test_verifications import DIGEST, NOW, TTL, make_policy, passed


def record(**status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "modelward.io/v1alpha1",
        "kind": "ModelVerification",
        "metadata": {"name": "llama-3-8b"},
        "spec": {"ref": "oci://registry.example/models/llama:3-8b", "digest": DIGEST},
        **({"status": status} if status else {}),
    }


def test_scope_columns_and_status() -> None:
    definition = crd("ModelVerification")
    assert definition["spec"]["scope"] == "Cluster"
    assert definition["spec"]["names"]["shortNames"] == ["mv"]
    (version,) = definition["spec"]["versions"]
    assert version["subresources"] == {"status": {}}
    columns = {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}
    assert columns["Verdict"] == ".status.verdict"
    assert columns["Digest"] == ".status.digest"


def test_every_field_is_typed_and_documented() -> None:
    (version,) = crd("ModelVerification")["spec"]["versions"]
    for path, node in walk(version["schema"]["openAPIV3Schema"]):
        assert "type" in node, f"{path} has no type"
        for name, sub in node.get("properties", {}).items():
            if f"{path}.{name}" != ".metadata":
                assert sub.get("description"), f"{path}.{name} has no description"


def test_the_status_the_operator_writes_is_valid() -> None:
    pol = make_policy()
    result = passed(
        pol, files=(("model.safetensors", "cd" * 32),), ignored=("README.md",), scanned=True
    )
    entries = [verifications.entry_of(pol, result, now=NOW, ttl=TTL)]
    pinned = refs.PinnedRef(
        refs.ModelRef("oci://registry.example/models/llama:3-8b", "spec.ref"),
        DIGEST,
        f"oci://registry.example/models/llama@{DIGEST}",
    )
    status = verifications.status(
        previous=None, digest=DIGEST, pinned=pinned, entries=entries, now=NOW, generation=1
    )
    assert crd_errors(record(**status)) == []
    assert status["scan"] == {"scanned": True, "passed": True, "reason": "NoBlockingFinding"}
    failed = verifications.status(
        previous=status,
        digest=DIGEST,
        pinned=None,
        entries=entries,
        now=NOW + datetime.timedelta(minutes=1),
        error=("DigestMismatch", "resolved elsewhere"),
    )
    assert crd_errors(record(**failed)) == []


def test_a_bad_digest_or_verdict_is_refused() -> None:
    bad = record()
    bad["spec"]["digest"] = "sha256:XYZ"
    assert crd_errors(bad)
    assert crd_errors(record(verdict="Maybe"))
    assert crd_errors(record(policies=[{"kind": "ClusterModelPolicy"}]))
