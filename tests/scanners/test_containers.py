from __future__ import annotations

import io
import pathlib
import pickle
import zipfile

from modelward.scanners import base, dispatch
from tests.scanners import corpus


def test_nesting_depth_is_bounded(tmp_path: pathlib.Path) -> None:
    data = pickle.dumps({"a": 1})
    for i in range(6):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr(f"level{i}.zip" if i else "m.pkl", data)
        data = buf.getvalue()
    (tmp_path / "deep.zip").write_bytes(data)
    rules = {f.rule for f in dispatch.scan_path(tmp_path / "deep.zip")}
    assert rules == {"archive.limit-exceeded"}


def test_decompressed_budget_is_bounded(tmp_path: pathlib.Path) -> None:
    corpus.tar_of(tmp_path / "m.tar.gz", {"a.pkl": pickle.dumps(list(range(10_000)))})
    findings = dispatch.scan_path(tmp_path / "m.tar.gz", base.Limits(max_unpacked_bytes=1000))
    assert [f.rule for f in findings] == ["archive.limit-exceeded"]


def test_torch_zip_reads_only_the_pickle(tmp_path: pathlib.Path) -> None:
    # Storage entries that are not pickles are never parsed: garbage there is no finding.
    with corpus.stand_in_modules():
        corpus.torch_zip(
            tmp_path / "m.pt", corpus.state_dict(), extra={"archive/data/9": b"\x80\x02x"}
        )
    assert dispatch.scan_path(tmp_path / "m.pt") == []


def test_torchscript_archive_still_has_its_pickles_scanned(tmp_path: pathlib.Path) -> None:
    # TorchScript archives list code/ before their pickles.
    with zipfile.ZipFile(tmp_path / "m.pt", "w") as z:
        z.writestr("archive/code/__torch__/a.py", b"def forward(self): ...")
        z.writestr("archive/code/__torch__/b.py", b"")
        z.writestr("archive/constants.pkl", pickle.dumps((), protocol=2))
        z.writestr("archive/data.pkl", pickle.dumps(corpus.Getcwd(), protocol=2))
    rules = sorted(f.rule for f in dispatch.scan_path(tmp_path / "m.pt"))
    assert rules == ["pickle.dangerous-global", "torch.torchscript"]
