"""Every malicious technique of the generated corpus is flagged with its rule; every benign
model is clean."""

from __future__ import annotations

import pathlib

import pytest

from modelward.scanners import dispatch
from tests.scanners import corpus

with corpus.stand_in_modules():
    SAMPLES = [s for s, _ in corpus._samples()]


@pytest.mark.parametrize(
    "sample", [s for s in SAMPLES if s.label == corpus.MALICIOUS], ids=lambda s: s.name
)
def test_malicious_sample_is_flagged_with_its_rule(
    corpus_dir: pathlib.Path, sample: corpus.Sample
) -> None:
    findings = dispatch.scan_path(corpus_dir / sample.name)
    assert set(sample.rules) <= {f.rule for f in findings}, [str(f) for f in findings]
    assert all(f.location.file for f in findings)


@pytest.mark.parametrize(
    "sample", [s for s in SAMPLES if s.label == corpus.BENIGN], ids=lambda s: s.name
)
def test_benign_sample_is_clean(corpus_dir: pathlib.Path, sample: corpus.Sample) -> None:
    assert dispatch.scan_path(corpus_dir / sample.name) == []


def test_payload_location_names_the_global_and_the_member(corpus_dir: pathlib.Path) -> None:
    (finding,) = dispatch.scan_path(corpus_dir / "torch-zip.pt")
    assert finding.location.file == "torch-zip.pt!archive/data.pkl"
    assert finding.location.name == "posix.getcwd"
    assert finding.location.opcode == "GLOBAL"
    assert finding.location.offset is not None


def test_a_directory_is_scanned_file_by_file(corpus_dir: pathlib.Path) -> None:
    findings = dispatch.scan_path(corpus_dir / "savedmodel-pyfunc")
    assert [f.location.file for f in findings] == ["saved_model.pb"] * len(findings)
    assert findings
