"""Which pods get a verifier init container, where, and with what."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from modelward import errors
from modelward.pipeline import claimrecords, claims, extract, runtimecheck
from modelward.structs import evidence, policy

KEY = policy.PolicyKey("ClusterModelPolicy", None, "p", "u", 1)
CHECKED = policy.Policy(KEY, policy.Mode.ENFORCE, policy.Match(), ("**",), (), runtime_check=True)
FILES = (("w.bin", "ab" * 32),)


def deployment() -> dict[str, Any]:
    spec = {
        "containers": [{"name": "c", "image": "server:1"}],
        "volumes": [
            {"name": "scratch", "emptyDir": {}},
            {"name": "weights", "image": {"reference": "reg.example/m@sha256:" + "0" * 64}},
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"template": {"spec": spec}},
    }


def decision(obj: dict[str, Any], *, files: tuple[tuple[str, str], ...] = FILES) -> Any:
    (ref,) = extract.extract_refs(obj)
    result = evidence.PolicyResult(KEY, policy.Mode.ENFORCE, True, "Verified", "", files=files)
    return evidence.Decision(True, "", (), (evidence.RefResult(ref=ref, results=(result,)),))


def test_verifier_goes_into_the_pod_template() -> None:
    obj = deployment()
    changes = runtimecheck.injections(obj, decision(obj), [CHECKED], image="mw:1")
    body = copy.deepcopy(obj)
    runtimecheck.apply(body, changes)
    (init,) = body["spec"]["template"]["spec"]["initContainers"]
    assert init["volumeMounts"] == [
        {"name": "weights", "mountPath": "/modelward/models/1", "readOnly": True}
    ]
    assert json.loads(init["env"][0]["value"]) == {"files": dict(FILES), "ignore": []}


@pytest.mark.parametrize(
    ("policies", "image"),
    [
        ([CHECKED], ""),
        ([policy.Policy(KEY, policy.Mode.ENFORCE, policy.Match(), ("**",), ())], "mw:1"),
    ],
)
def test_nothing_without_an_image_or_a_policy_asking(
    policies: list[policy.Policy], image: str
) -> None:
    obj = deployment()
    assert runtimecheck.injections(obj, decision(obj), policies, image=image) == []


def test_too_many_files_is_an_error() -> None:
    obj = deployment()
    many = tuple((f"shard-{i:06d}", "ab" * 32) for i in range(4000))
    with pytest.raises(errors.UnsupportedReference, match="too many files"):
        runtimecheck.injections(obj, decision(obj, files=many), [CHECKED], image="mw:1")


URI = "gs://models/bert"
MOUNT = {"name": "kserve-provision-location", "mountPath": "/mnt/models"}


def kserve_pod(args: list[str], mounts: list[dict[str, Any]]) -> dict[str, Any]:
    """A pod as KServe's pod mutator leaves it: the storage initializer first, then others."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "bert-predictor",
            "labels": {"serving.kserve.io/inferenceservice": "b"},
        },
        "spec": {
            "initContainers": [
                {"name": "storage-initializer", "args": args, "volumeMounts": mounts},
                {"name": "warmup", "image": "w:1"},
            ],
            "containers": [{"name": "kserve-container", "volumeMounts": [MOUNT]}],
            "volumes": [{"name": "kserve-provision-location", "emptyDir": {}}],
        },
    }


@pytest.mark.parametrize(
    ("args", "mounts", "verified", "mounted"),
    [
        ([URI, "/mnt/models"], [MOUNT], "/modelward/models/storage-0", MOUNT | {}),
        ([URI], [MOUNT], "/modelward/models/storage-0", MOUNT | {}),
        ([URI, "/mnt/models/base/"], [MOUNT], "/modelward/models/storage-0/base", MOUNT | {}),
        (
            [URI, "/mnt/models"],
            [MOUNT | {"subPath": "m"}, {"name": "other", "mountPath": "/mnt"}],
            "/modelward/models/storage-0",
            MOUNT | {"subPath": "m"},
        ),
    ],
)
def test_verifier_follows_the_storage_initializer(
    args: list[str], mounts: list[dict[str, Any]], verified: str, mounted: dict[str, Any]
) -> None:
    obj = kserve_pod(args, mounts)
    body = copy.deepcopy(obj)
    runtimecheck.apply(body, runtimecheck.injections(obj, decision(obj), [CHECKED], image="mw:1"))
    first, init, last = body["spec"]["initContainers"]
    assert (first["name"], last["name"]) == ("storage-initializer", "warmup")
    assert init["name"] == "modelward-verify-storage-0"
    assert init["args"] == ["verify", verified, "--expected-env", "MODELWARD_EXPECTED"]
    assert init["volumeMounts"] == [
        {**mounted, "mountPath": "/modelward/models/storage-0", "readOnly": True}
    ]
    # Reinvoked on its own output, the webhook adds nothing.
    assert runtimecheck.injections(body, decision(body), [CHECKED], image="mw:1") == []


@pytest.mark.parametrize(
    ("args", "mounts"),
    [
        ([URI, "/data"], [MOUNT]),
        ([URI, "relative"], [MOUNT]),
        ([URI], []),
    ],
)
def test_no_verifier_where_the_download_is_not_on_a_volume(
    args: list[str], mounts: list[dict[str, Any]]
) -> None:
    obj = kserve_pod(args, mounts)
    assert runtimecheck.injections(obj, decision(obj), [CHECKED], image="mw:1") == []


PVC_URI = "pvc://models/bert/v1"
CLAIM = {"name": "weights", "persistentVolumeClaim": {"claimName": "models", "readOnly": True}}
KEY_POLICY = policy.Policy(
    KEY,
    policy.Mode.ENFORCE,
    policy.Match(),
    ("**",),
    (policy.Authority("release", policy.AuthorityType.KEY, b"PEM"),),
    runtime_check=True,
)


def on_condition(obj: dict[str, Any]) -> Any:
    """The decision for a pvc:// reference under a runtime check: passed on condition."""
    found = extract.extract_refs(obj)
    result = evidence.PolicyResult(KEY, policy.Mode.ENFORCE, True, claims.RUNTIME_CHECK, "")
    return evidence.Decision(
        True, "", (), tuple(evidence.RefResult(ref=r, results=(result,)) for r in found)
    )


def annotated_pod(volumes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "annotations": {"modelward.io/models": PVC_URI}},
        "spec": {"containers": [{"name": "c", "image": "s:1"}], "volumes": volumes},
    }


def templated(kind: str, annotated: str) -> dict[str, Any]:
    """A controller whose own (`object`) or template's (`template`) annotation names the model."""
    spec = {"containers": [{"name": "c", "image": "s:1"}], "volumes": [CLAIM]}
    template: dict[str, Any] = {"metadata": {}, "spec": spec}
    metadata: dict[str, Any] = {"name": "d"}
    (template["metadata"] if annotated == "template" else metadata)["annotations"] = {
        "modelward.io/models": PVC_URI
    }
    body = {"template": template}
    if kind == "CronJob":
        body = {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}
    api = "batch/v1" if kind == "CronJob" else "apps/v1"
    return {"apiVersion": api, "kind": kind, "metadata": metadata, "spec": body}


def kserve_pvc_pod() -> dict[str, Any]:
    """KServe's predictor pod for storageUri pvc://models/bert/v1: the claim mounted by
    the server at /mnt/models with the path as subPath, no storage initializer."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "bert-predictor",
            "annotations": {"serving.kserve.io/storage-initializer-sourceuri": PVC_URI},
        },
        "spec": {
            "containers": [
                {
                    "name": "kserve-container",
                    "volumeMounts": [
                        {
                            "name": "kserve-pvc-source",
                            "mountPath": "/mnt/models",
                            "subPath": "bert/v1",
                            "readOnly": True,
                        }
                    ],
                }
            ],
            "volumes": [
                {"name": "kserve-pvc-source", "persistentVolumeClaim": {"claimName": "models"}}
            ],
        },
    }


@pytest.mark.parametrize(
    ("obj", "spec_path", "volume", "name"),
    [
        (annotated_pod([{"name": "tmp", "emptyDir": {}}, CLAIM]), ("spec",), "weights", "pvc-1"),
        (templated("Deployment", "object"), ("spec", "template", "spec"), "weights", "pvc-0"),
        (templated("Deployment", "template"), ("spec", "template", "spec"), "weights", "pvc-0"),
        (
            templated("CronJob", "object"),
            ("spec", "jobTemplate", "spec", "template", "spec"),
            "weights",
            "pvc-0",
        ),
        (kserve_pvc_pod(), ("spec",), "kserve-pvc-source", "pvc-0"),
    ],
)
def test_claim_verifier_checks_the_signature_on_the_volume(
    obj: dict[str, Any], spec_path: tuple[str, ...], volume: str, name: str
) -> None:
    (change,) = runtimecheck.injections(obj, on_condition(obj), [KEY_POLICY], image="mw:1")
    assert change.spec_path == spec_path
    init = change.container
    mount = f"/modelward/models/{name}"
    assert init["name"] == f"modelward-verify-{name}"
    assert init["args"] == [
        "verify",
        f"{mount}/bert/v1",
        "--authorities-env",
        "MODELWARD_AUTHORITIES",
    ]
    assert init["volumeMounts"] == [{"name": volume, "mountPath": mount, "readOnly": True}]
    (env,) = init["env"]
    assert json.loads(env["value"])[0]["authorities"] == [
        {"name": "release", "key": {"data": "PEM"}}
    ]


@pytest.mark.parametrize(
    "obj",
    [
        annotated_pod([{"name": "tmp", "emptyDir": {}}]),
        annotated_pod([{"name": "w", "persistentVolumeClaim": {"claimName": "other"}}]),
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {"name": "b"},
            "spec": {"predictor": {"model": {"storageUri": PVC_URI}}},
        },
    ],
)
def test_no_claim_verifier_where_no_pod_mounts_the_claim(obj: dict[str, Any]) -> None:
    assert runtimecheck.injections(obj, on_condition(obj), [KEY_POLICY], image="mw:1") == []


def test_a_claim_with_a_recorded_digest_is_checked_against_its_files() -> None:
    obj = annotated_pod([CLAIM])
    recorded = {PVC_URI: claimrecords.Recorded(files=FILES, ignored=(".git",))}
    (change,) = runtimecheck.injections(
        obj, on_condition(obj), [KEY_POLICY], image="mw:1", recorded=recorded
    )
    init = change.container
    mount = "/modelward/models/pvc-0"
    assert init["args"] == ["verify", f"{mount}/bert/v1", "--expected-env", "MODELWARD_EXPECTED"]
    (env,) = init["env"]
    assert json.loads(env["value"]) == {"files": dict(FILES), "ignore": [".git"]}


@pytest.mark.parametrize("make", [deployment, lambda: annotated_pod([CLAIM])])
def test_a_verifier_that_follows_nothing_runs_first(make: Any) -> None:
    obj = make()
    spec = obj["spec"] if obj["kind"] == "Pod" else obj["spec"]["template"]["spec"]
    spec["initContainers"] = [{"name": "convert", "image": "c:1"}]
    found = decision(obj) if obj["kind"] != "Pod" else on_condition(obj)
    changes = runtimecheck.injections(obj, found, [CHECKED, KEY_POLICY], image="mw:1")
    runtimecheck.apply(obj, changes)
    assert [c["name"] for c in spec["initContainers"]][1:] == ["convert"]
    assert spec["initContainers"][0]["name"].startswith("modelward-verify-")
