"""`modelward bom`: CycloneDX ML-BOMs of manifests (against a real registry) and of a cluster
(against the Kubernetes emulator), each validated against the CycloneDX 1.6 schema."""

from __future__ import annotations

import hashlib
import json
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from modelward.adapters import cli, kube
from tests.fixtures import models, ocipush, signing
from tests.fixtures.kube import Kind, KubeApi, register_resources
from tests.fixtures.registry import Registry


def write(path: pathlib.Path, *docs: dict[str, Any]) -> str:
    path.write_text(yaml.safe_dump_all(docs))
    return str(path)


def deployment(name: str, uri: str, namespace: str = "ml") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "template": {
                "metadata": {"annotations": {"modelward.io/models": uri}},
                "spec": {"containers": [{"name": "srv", "image": "srv:1"}]},
            }
        },
    }


def isvc(name: str, uri: str, namespace: str = "ml") -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"predictor": {"model": {"modelFormat": {"name": "hf"}, "storageUri": uri}}},
    }


def validated(text: str) -> dict[str, Any]:
    """The BOM, after the CycloneDX library's own validator accepted it."""
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    bom: dict[str, Any] = json.loads(text)
    assert (bom["bomFormat"], bom["specVersion"]) == ("CycloneDX", "1.6")
    return bom


def props(component: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in component.get("properties", []):
        out.setdefault(p["name"], []).append(p["value"])
    return out


def by_ref(bom: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["bom-ref"]: c for c in bom["components"]}


def edges(bom: dict[str, Any]) -> dict[str, set[str]]:
    return {d["ref"]: set(d.get("dependsOn", [])) for d in bom["dependencies"]}


@pytest.fixture
def pushed(tmp_path: pathlib.Path, registry: Registry, bert_model: pathlib.Path):  # type: ignore[no-untyped-def]
    key = signing.make_ec_key(tmp_path, "k")
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    tampered = models.tampered_copy(bert_model, tmp_path / "tampered")
    out: dict[str, Any] = {"key": key}
    for name, model, signature in [
        ("signed", bert_model, sig),
        ("unsigned", bert_model, None),
        ("tampered", tampered, sig),
    ]:
        repo = ocipush.unique_repo(name)
        result = ocipush.push_model(registry, repo, model, signature=signature)
        out[name] = (f"oci://{registry.host}/{repo}:v1", result.digest)
    out["files"] = {
        p.relative_to(bert_model).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in bert_model.rglob("*")
        if p.is_file()
    }
    return out


def policy_file(tmp_path: pathlib.Path, registry: Registry, key: signing.KeyPair) -> str:
    return write(
        tmp_path / "policy.yaml",
        {
            "apiVersion": "modelward.io/v1alpha1",
            "kind": "ClusterModelPolicy",
            "metadata": {"name": "require-signed"},
            "spec": {
                "models": [{"glob": f"oci://{registry.host}/**"}],
                "authorities": [{"name": "ml-release", "key": {"data": key.public_pem.decode()}}],
                "scan": {"failOn": "high"},
            },
        },
    )


def test_offline_bom_of_signed_unsigned_tampered_models(  # type: ignore[no-untyped-def]
    pushed, registry, tmp_path, capsys
) -> None:
    good, good_digest = pushed["signed"]
    bad, bad_digest = pushed["unsigned"]
    tampered, tampered_digest = pushed["tampered"]
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    write(manifests / "a.yaml", deployment("bert", good), isvc("bert-isvc", good, "serving"))
    write(manifests / "b.yml", deployment("bad", bad), deployment("tampered", tampered))
    unreachable = "oci://127.0.0.1:9/gone/model:v1"  # no policy governs it
    missing = f"oci://{registry.host}/missing/model:v1"
    extra = write(
        tmp_path / "extra.yaml", deployment("gone", unreachable), deployment("missing", missing)
    )
    out = tmp_path / "bom.json"
    policy = policy_file(tmp_path, registry, pushed["key"])
    insecure = ["--insecure-registry", registry.host, "--allow-egress", "127.0.0.1"]
    code = cli.main(
        ["bom", "-f", str(manifests), "-f", extra, "--policy", policy, "-o", str(out), *insecure]
    )
    assert code == 0, capsys.readouterr().err
    assert "5 model(s), 6 workload(s)" in capsys.readouterr().err
    bom = validated(out.read_text())
    components = by_ref(bom)
    assert props(bom)["modelward:origin"] == ["manifests"]

    model = components[f"model:{good_digest}"]
    assert model["type"] == "machine-learning-model"
    assert model["version"] == good_digest
    assert model["hashes"] == [{"alg": "SHA-256", "content": good_digest.removeprefix("sha256:")}]
    repo = good.removeprefix("oci://").rsplit(":", 1)[0]
    assert model["purl"] == (
        f"pkg:oci/{repo.rsplit('/', 1)[1]}@{good_digest}?repository_url={repo}"
    )
    p = props(model)
    assert p["modelward:verdict"] == ["Verified"]
    assert p["modelward:signer"] != []
    assert p["modelward:reference"] == [good]
    assert p["modelward:scan:passed"] == ["true"]
    assert p["modelward:policy:ClusterModelPolicy/require-signed"] == ["pass Verified"]
    files = {f["name"]: f["hashes"][0]["content"] for f in model["components"]}
    assert files == {k: v for k, v in pushed["files"].items() if k != "model.sig"}

    unsigned = props(components[f"model:{bad_digest}"])
    assert (unsigned["modelward:verdict"], unsigned["modelward:reason"]) == (
        ["Failed"],
        ["SignatureMissing"],
    )
    assert "modelward:signer" not in unsigned
    bad_tamper = props(components[f"model:{tampered_digest}"])
    assert bad_tamper["modelward:verdict"] == ["Failed"]
    assert bad_tamper["modelward:reason"] == ["DigestMismatch"]
    assert components[f"model:{tampered_digest}"].get("components", []) == []

    gone = components[f"model:unresolved:{unreachable}"]
    assert props(gone)["modelward:verdict"] == ["Unverified"]
    assert props(gone)["modelward:reason"] == ["NoPolicy"]
    error = props(components[f"model:unresolved:{missing}"])
    assert error["modelward:verdict"] == ["Error"]
    assert "missing/model" in error["modelward:message"][0]
    assert "hashes" not in gone
    assert gone["externalReferences"] == [{"type": "distribution", "url": unreachable}]

    deps = edges(bom)
    assert deps["workload:apps/Deployment/ml/bert"] == {f"model:{good_digest}"}
    assert deps["workload:serving.kserve.io/InferenceService/serving/bert-isvc"] == {
        f"model:{good_digest}"
    }
    assert deps["workload:apps/Deployment/ml/tampered"] == {f"model:{tampered_digest}"}
    isvc_props = props(components["workload:serving.kserve.io/InferenceService/serving/bert-isvc"])
    assert isvc_props["modelward:reference"] == [f"spec.predictor.model.storageUri: {good}"]
    assert isvc_props["modelward:kind"] == ["serving.kserve.io/InferenceService"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "a document is not a Kubernetes object"),
        ("kind: List\nitems: [1]\n", "an item of a List is not an object"),
        (b"\xff\xfe", "cannot be read"),
        ("x" * 2048, "larger than 1024 bytes"),
    ],
)
def test_hostile_manifest_is_a_clear_input_error(  # type: ignore[no-untyped-def]
    tmp_path, capsys, monkeypatch, content: str | bytes, message: str
) -> None:
    from modelward.adapters import manifests

    monkeypatch.setattr(manifests, "MAX_FILE_BYTES", 1024)
    bad = tmp_path / "bad.yaml"
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        bad.write_text(content)
    key = signing.make_ec_key(tmp_path, "k")
    policy = write(
        tmp_path / "p.yaml",
        {
            "apiVersion": "modelward.io/v1alpha1",
            "kind": "ClusterModelPolicy",
            "metadata": {"name": "p"},
            "spec": {
                "models": [{"glob": "**"}],
                "authorities": [{"name": "a", "key": {"data": key.public_pem.decode()}}],
            },
        },
    )
    assert cli.main(["bom", "-f", str(bad), "--policy", policy]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: " in err
    assert message in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bom"], ""),
        (["bom", "-f", "x.yaml", "--cluster"], ""),
        (["bom", "-f", "x.yaml"], "needs at least one --policy"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(args) == 2
    assert message in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# --cluster: ModelVerification records in the emulator
# --------------------------------------------------------------------------------------------

GOOD = "oci://registry.example/ml/bert:v1"
GOOD_DIGEST = "sha256:" + "a" * 64
PINNED = f"oci://registry.example/ml/bert@{GOOD_DIGEST}"
FAILED_DIGEST = "sha256:" + "b" * 64
SCAN_PREDICATE = "https://modelward.io/scan/v1"


@pytest.fixture(autouse=True)
def fresh_client() -> Iterator[None]:
    """No Kubernetes client cached from this test's emulator outlives it."""
    yield
    kube.reset()


def record(digest: str, status: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "modelward.io/v1alpha1",
        "kind": "ModelVerification",
        "metadata": {"name": digest.replace(":", "-")},
        "spec": {"digest": digest},
        "status": {"digest": digest, **status},
    }


def test_cluster_bom_from_records_and_workloads(  # type: ignore[no-untyped-def]
    kube_api: KubeApi, tmp_path, capsys
) -> None:
    kube_api.create(
        record(
            GOOD_DIGEST,
            {
                "pinnedRef": PINNED,
                "references": [GOOD],
                "verdict": "Verified",
                "reason": "Verified",
                "signers": ["ml-release@example.com"],
                "attestations": [SCAN_PREDICATE],
                "scan": {"scanned": True, "passed": True, "reason": "NoFinding"},
                "checkedAt": "2026-11-30T10:00:00Z",
                "expiresAt": "2026-12-01T10:00:00Z",
                "policies": [
                    {
                        "kind": "ClusterModelPolicy",
                        "name": "require-signed",
                        "uid": "u1",
                        "revision": "r1",
                        "passed": True,
                        "reason": "Verified",
                        "signers": ["ml-release@example.com"],
                        "files": [{"path": "model.safetensors", "sha256": "c" * 64}],
                        "checkedAt": "2026-11-30T10:00:00Z",
                        "expiresAt": "2026-12-01T10:00:00Z",
                    }
                ],
            },
        )
    )
    kube_api.create(
        record(
            FAILED_DIGEST,
            {
                "pinnedRef": f"oci://registry.example/ml/evil@{FAILED_DIGEST}",
                "verdict": "Failed",
                "reason": "ScanFinding",
                "message": "the scan found 1 finding(s) at or above high",
                "scan": {"scanned": True, "passed": False, "reason": "ScanFinding"},
            },
        )
    )
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml"}})
    owner = kube_api.create(deployment("bert", GOOD))
    kube_api.create(isvc("by-digest", f"oci://registry.example/other@{FAILED_DIGEST}"))
    kube_api.create(deployment("unknown", "oci://registry.example/ml/unknown:v2"))
    # A ReplicaSet the Deployment controls: the Deployment stands for it in the BOM.
    child = deployment("bert-5d8f", GOOD) | {"kind": "ReplicaSet"}
    child["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "bert",
            "uid": owner["metadata"].get("uid", "x"),
            "controller": True,
        }
    ]
    kube_api.create(child)
    # A kind only a ModelExtractor declares, referencing the model by its pinned URI.
    kube_api.in_emulator(
        lambda emulator: register_resources(
            emulator, (Kind("example.com", "v1", "things", "Thing"),)
        )
    )
    kube_api.create(
        {
            "apiVersion": "modelward.io/v1alpha1",
            "kind": "ModelExtractor",
            "metadata": {"name": "things"},
            "spec": {
                "group": "example.com",
                "kind": "Thing",
                "versions": ["v1"],
                "paths": [{"path": "spec.modelUri"}],
            },
        }
    )
    kube_api.create(
        {
            "apiVersion": "example.com/v1",
            "kind": "Thing",
            "metadata": {"name": "t", "namespace": "ml"},
            "spec": {"modelUri": PINNED},
        }
    )

    out = tmp_path / "bom.json"
    assert cli.main(["bom", "--cluster", "-o", str(out)]) == 0, capsys.readouterr().err
    bom = validated(out.read_text())
    components = by_ref(bom)
    assert props(bom)["modelward:origin"] == ["cluster"]

    good = components[f"model:{GOOD_DIGEST}"]
    assert good["purl"] == f"pkg:oci/bert@sha256:{'a' * 64}?repository_url=registry.example/ml/bert"
    p = props(good)
    assert p["modelward:verdict"] == ["Verified"]
    assert p["modelward:signer"] == ["ml-release@example.com"]
    assert p["modelward:attestation"] == [SCAN_PREDICATE]
    assert p["modelward:scan:passed"] == ["true"]
    assert p["modelward:policy:ClusterModelPolicy/require-signed"] == ["pass Verified"]
    assert p["modelward:checkedAt"] == ["2026-11-30T10:00:00Z"]
    assert p["modelward:expiresAt"] == ["2026-12-01T10:00:00Z"]
    assert [(f["name"], f["hashes"][0]["content"]) for f in good["components"]] == [
        ("model.safetensors", "c" * 64)
    ]

    failed = props(components[f"model:{FAILED_DIGEST}"])
    assert (failed["modelward:verdict"], failed["modelward:scan:passed"]) == (["Failed"], ["false"])

    unknown = "oci://registry.example/ml/unknown:v2"
    assert props(components[f"model:unresolved:{unknown}"])["modelward:reason"] == ["NoRecord"]

    assert edges(bom) == {
        f"model:{GOOD_DIGEST}": set(),
        f"model:{FAILED_DIGEST}": set(),
        f"model:unresolved:{unknown}": set(),
        "workload:apps/Deployment/ml/bert": {f"model:{GOOD_DIGEST}"},
        "workload:serving.kserve.io/InferenceService/ml/by-digest": {f"model:{FAILED_DIGEST}"},
        "workload:apps/Deployment/ml/unknown": {f"model:unresolved:{unknown}"},
        "workload:example.com/Thing/ml/t": {f"model:{GOOD_DIGEST}"},
    }
    thing = props(components["workload:example.com/Thing/ml/t"])
    assert thing["modelward:reference"] == [f"spec.modelUri: {PINNED}"]


def test_cluster_without_records_crd_says_what_to_install(  # type: ignore[no-untyped-def]
    kube_api: KubeApi, capsys
) -> None:
    kube_api.in_emulator(
        lambda emulator: emulator.resources.pop("modelward.io/v1alpha1/modelverifications")
    )
    assert cli.main(["bom", "--cluster"]) == 2
    assert "Install modelward's chart" in capsys.readouterr().err
