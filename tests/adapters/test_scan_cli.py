from __future__ import annotations

import datetime
import json
import pathlib
import pickle

import pytest

from modelward.adapters import cli
from modelward.structs import policy
from modelward.trust import attestation
from tests.fixtures import signing
from tests.scanners import corpus


@pytest.fixture
def evil(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "evil" / "model.pkl"
    path.parent.mkdir()
    path.write_bytes(pickle.dumps(corpus.Getcwd(), protocol=2))
    return path


@pytest.fixture
def clean(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "clean" / "model.safetensors"
    path.parent.mkdir()
    path.write_bytes(
        corpus.safetensors({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4)
    )
    return path


def test_exit_codes(
    evil: pathlib.Path, clean: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["scan", str(clean)]) == 0
    assert cli.main(["scan", str(evil.parent), str(clean)]) == 1
    out = capsys.readouterr().out
    assert "pickle.dangerous-global" in out
    assert "evil/model.pkl" in out
    assert cli.main(["scan", "/nonexistent/model"]) == 2
    assert cli.main(["scan", str(clean), "--fail-on", "fatal"]) == 2


def test_fail_on_threshold(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "m.keras"
    corpus.keras_file(path, [corpus.DENSE, corpus.CUSTOM])
    assert cli.main(["scan", str(path)]) == 0
    assert cli.main(["scan", str(path), "--fail-on", "medium"]) == 1


def test_json_and_sarif(evil: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["scan", str(evil), "-o", "json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["passed"] is False
    (finding,) = out["findings"]
    assert finding["rule"] == "pickle.dangerous-global"
    assert finding["location"]["name"] == "posix.getcwd"
    assert cli.main(["scan", str(evil), "-o", "sarif"]) == 1
    sarif = json.loads(capsys.readouterr().out)
    (result,) = sarif["runs"][0]["results"]
    assert sarif["version"] == "2.1.0"
    assert result["ruleId"] == "pickle.dangerous-global"
    assert result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "model.pkl"


def test_attest_writes_a_verifiable_attestation(tmp_path: pathlib.Path, evil: pathlib.Path) -> None:
    key = signing.make_ec_key(tmp_path, "ci")
    out = tmp_path / "scan.json"
    digest = "sha256:" + "ab" * 32
    code = cli.main(
        [
            "scan",
            str(evil.parent),
            "--attest",
            "--key",
            str(key.private_path),
            "--out",
            str(out),
            "--digest",
            digest,
        ]
    )
    assert code == 1
    got = attestation.verify(
        out,
        policy.Authority("ci", policy.AuthorityType.KEY, key.public_pem),
        digest=digest,
        files={},
        max_age=datetime.timedelta(minutes=5),
        now=datetime.datetime.now(datetime.UTC),
    )
    assert [f.rule for f in got.findings] == ["pickle.dangerous-global"]
    assert cli.main(["scan", str(evil), str(evil), "--attest", "--key", str(key.private_path)]) == 2
