"""`modelward check` and `modelward demo`: exit codes, JSON output, the same pipeline offline."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from typing import Any

import pytest
import yaml

from modelward.adapters import cli
from tests.fixtures import ocipush, signing
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


@pytest.fixture
def setup(tmp_path: pathlib.Path, registry: Registry, bert_model: pathlib.Path):  # type: ignore[no-untyped-def]
    key = signing.make_ec_key(tmp_path, "k")
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    signed_repo, unsigned_repo = ocipush.unique_repo(), ocipush.unique_repo()
    pushed = ocipush.push_model(registry, signed_repo, bert_model, signature=sig)
    ocipush.push_model(registry, unsigned_repo, bert_model)
    policy = write(
        tmp_path / "policy.yaml",
        {
            "apiVersion": "modelward.io/v1alpha1",
            "kind": "ClusterModelPolicy",
            "metadata": {"name": "require-signed"},
            "spec": {
                "models": [{"glob": f"oci://{registry.host}/**"}],
                "authorities": [{"name": "ml-release", "key": {"data": key.public_pem.decode()}}],
            },
        },
    )
    return {
        "policy": policy,
        "good": f"oci://{registry.host}/{signed_repo}:v1",
        "bad": f"oci://{registry.host}/{unsigned_repo}:v1",
        "digest": pushed.digest,
        "insecure": ["--insecure-registry", registry.host, "--allow-egress", "127.0.0.1"],
    }


def test_check_admits_signed_with_exit_0_and_json(setup, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    manifest = write(tmp_path / "d.yaml", deployment("good", setup["good"]))
    code = cli.main(
        ["check", "-f", manifest, "--policy", setup["policy"], "-o", "json", *setup["insecure"]]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["allowed"] is True
    (obj,) = out["objects"]
    assert (obj["kind"], obj["namespace"], obj["name"], obj["allowed"]) == (
        "apps/Deployment",
        "ml",
        "good",
        True,
    )
    (ref,) = obj["references"]
    assert ref["digest"] == setup["digest"]
    assert ref["fieldPath"] == "spec.template.metadata.annotations['modelward.io/models']"
    assert ref["policies"][0]["passed"] is True
    assert ref["policies"][0]["authorities"] == ["ml-release"]


def test_check_denies_with_exit_1(setup, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    manifest = write(
        tmp_path / "d.yaml", deployment("good", setup["good"]), deployment("bad", setup["bad"])
    )
    code = cli.main(["check", "-f", manifest, "--policy", setup["policy"], *setup["insecure"]])
    out = capsys.readouterr().out
    assert code == 1
    assert "ALLOW Deployment ml/good" in out
    assert "DENY  Deployment ml/bad" in out
    assert "no signature was found for the model" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "-f", "/nonexistent.yaml", "--policy", "/nonexistent.yaml"], "cannot be read"),
        (["check"], ""),
        (["frobnicate"], ""),
    ],
)
def test_usage_and_input_errors_exit_2(args: list[str], message: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(args) == 2
    assert message in capsys.readouterr().err


def test_broken_policy_is_an_input_error(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    policy = write(
        tmp_path / "p.yaml",
        {
            "apiVersion": "modelward.io/v1alpha1",
            "kind": "ClusterModelPolicy",
            "metadata": {"name": "p"},
            "spec": {
                "models": [{"glob": "**"}],
                "authorities": [{"name": "a", "key": {"data": "junk"}}],
            },
        },
    )
    manifest = write(tmp_path / "d.yaml", deployment("x", "oci://r/m:1"))
    assert cli.main(["check", "-f", manifest, "--policy", policy]) == 2
    assert "policy p: authority 'a': key is not a PEM public key" in capsys.readouterr().err


def test_namespace_labels_come_from_namespace_documents(setup, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    scoped = yaml.safe_load(pathlib.Path(setup["policy"]).read_text())
    scoped["spec"]["match"] = {"namespaceSelector": {"matchLabels": {"team": "ml"}}}
    policy = write(tmp_path / "scoped.yaml", scoped)
    ns = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "ml", "labels": {"team": "ml"}},
    }
    manifest = write(
        tmp_path / "d.yaml",
        ns,
        deployment("bad", setup["bad"]),
        deployment("other", setup["bad"], "web"),
    )
    code = cli.main(
        [
            "check",
            "-f",
            manifest,
            "--policy",
            policy,
            "--no-match",
            "allow",
            *setup["insecure"],
            "-o",
            "json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [o["allowed"] for o in out["objects"]] == [False, True]
    assert out["objects"][1]["references"][0]["unmatched"] is True


def test_demo_runs_and_every_decision_is_the_expected_one() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "modelward", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ALLOW InferenceService ml/demo-signed" in result.stdout
    assert "DENY  InferenceService ml/demo-unsigned" in result.stdout
    assert "DENY  InferenceService ml/demo-tampered" in result.stdout
    assert "DENY  InferenceService ml/demo-wrong-signer" in result.stdout
    assert "4 decisions in" in result.stdout


def test_check_verifies_keyless_against_a_trust_root_in_the_policy_files(  # type: ignore[no-untyped-def]
    tmp_path, registry, bert_model, sigstore_stack, capsys
) -> None:
    from tests.fixtures.sigstore_stack import IDENTITY, ISSUER

    sig = sigstore_stack.sign(bert_model, tmp_path / "model.sig")
    repo = ocipush.unique_repo()
    ocipush.push_model(registry, repo, bert_model, signature=sig)
    policy = write(
        tmp_path / "policy.yaml",
        {
            "apiVersion": "modelward.io/v1alpha1",
            "kind": "TrustRoot",
            "metadata": {"name": "private"},
            "spec": {"trustedRootJSON": json.dumps(sigstore_stack.trusted_root())},
        },
        {
            "apiVersion": "modelward.io/v1alpha1",
            "kind": "ClusterModelPolicy",
            "metadata": {"name": "ci-signed"},
            "spec": {
                "models": [{"glob": "**"}],
                "authorities": [
                    {
                        "name": "ci",
                        "keyless": {
                            "issuer": ISSUER,
                            "subject": IDENTITY,
                            "trustRootRef": "private",
                        },
                    }
                ],
            },
        },
    )
    manifest = write(tmp_path / "d.yaml", deployment("good", f"oci://{registry.host}/{repo}:v1"))
    args = ["check", "-f", manifest, "--policy", policy, "--insecure-registry", registry.host]
    args += ["--allow-egress", "127.0.0.1"]
    assert cli.main(args) == 0, capsys.readouterr()
    assert "ALLOW Deployment ml/good" in capsys.readouterr().out


def test_check_fetches_a_tuf_trust_root_from_its_mirror(  # type: ignore[no-untyped-def]
    tmp_path, registry, bert_model, sigstore_stack, tuf_mirror, monkeypatch, capsys
) -> None:
    from tests.fixtures.sigstore_stack import IDENTITY, ISSUER

    monkeypatch.setenv("MODELWARD_WORK_DIR", str(tmp_path / "work"))
    tuf_mirror.repo.add_target(
        "trusted_root.json", json.dumps(sigstore_stack.trusted_root()).encode()
    )
    sig = sigstore_stack.sign(bert_model, tmp_path / "model.sig")
    repo = ocipush.unique_repo()
    ocipush.push_model(registry, repo, bert_model, signature=sig)
    tuf = {"mirror": tuf_mirror.url, "rootJSON": tuf_mirror.repo.initial_root().decode()}
    policy = write(
        tmp_path / "policy.yaml",
        {
            "apiVersion": "modelward.io/v1alpha1",
            "kind": "TrustRoot",
            "metadata": {"name": "mirrored"},
            "spec": {"tuf": tuf},
        },
        {
            "apiVersion": "modelward.io/v1alpha1",
            "kind": "ClusterModelPolicy",
            "metadata": {"name": "ci-signed"},
            "spec": {
                "models": [{"glob": "**"}],
                "authorities": [
                    {
                        "name": "ci",
                        "keyless": {
                            "issuer": ISSUER,
                            "subject": IDENTITY,
                            "trustRootRef": "mirrored",
                        },
                    }
                ],
            },
        },
    )
    manifest = write(tmp_path / "d.yaml", deployment("good", f"oci://{registry.host}/{repo}:v1"))
    args = ["check", "-f", manifest, "--policy", policy, "--insecure-registry", registry.host]
    args += ["--allow-egress", "127.0.0.1", "--ca-bundle", str(tuf_mirror.ca_path)]
    assert cli.main(args) == 0, capsys.readouterr()
    assert "ALLOW Deployment ml/good" in capsys.readouterr().out
    assert list((tmp_path / "work" / "tuf").glob("*/metadata/timestamp.json"))
    # Without the mirror's CA (and no root cached) the TrustRoot cannot load, and the policy
    # naming it is unusable.
    monkeypatch.setenv("MODELWARD_WORK_DIR", str(tmp_path / "fresh"))
    args = args[:-2]
    assert cli.main(args) == 2
    assert "TrustRoot 'mirrored' is not ready" in capsys.readouterr().err
