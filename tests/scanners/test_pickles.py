from __future__ import annotations

import io
import pickle

import pytest

from modelward.scanners import base, pickles


def _scan(data: bytes, limits: base.Limits | None = None) -> list[base.Finding]:
    blob = base.Blob("m.pkl", lambda: io.BytesIO(data), len(data))
    return list(pickles.PickleScanner().scan(blob, base.Budget(limits or base.Limits())))


@pytest.mark.parametrize(
    ("data", "rule", "name"),
    [
        (b"cos\nsystem\n(S'true'\ntR.", "pickle.dangerous-global", "os.system"),
        (b"cbuiltins\neval\n(S'1'\ntR.", "pickle.dangerous-global", "builtins.eval"),
        (b"\x80\x04\x8c\x08builtins\x8c\x04exec\x93.", "pickle.dangerous-global", "builtins.exec"),
        (b"cwebbrowser\nopen\n.", "pickle.dangerous-global", "webbrowser.open"),
        (b"ccollections\nUserDict\n.", "pickle.unsafe-global", "collections.UserDict"),
        (b"cnumpy\nload\n.", "pickle.unsafe-global", "numpy.load"),
        (b"csklearn.utils\nload_data\n.", "pickle.unsafe-global", "sklearn.utils.load_data"),
    ],
)
def test_globals_outside_the_allowlist(data: bytes, rule: str, name: str) -> None:
    findings = _scan(data)
    assert [(f.rule, f.location.name) for f in findings][:1] == [(rule, name)]


@pytest.mark.parametrize(
    "data",
    [pickle.dumps({"a": [1, 2.5, "x", b"y", None, True]}, protocol=p) for p in range(6)],
)
def test_plain_data_is_clean(data: bytes) -> None:
    assert _scan(data) == []


def test_opcode_budget_is_a_finding() -> None:
    findings = _scan(pickle.dumps(list(range(100)), protocol=2), base.Limits(max_opcodes=10))
    assert [f.rule for f in findings] == ["pickle.malformed"]
    assert "opcodes" in findings[0].message


def test_memo_read_before_write_is_malformed() -> None:
    findings = _scan(b"\x80\x02h\x05.")
    assert [f.rule for f in findings] == ["pickle.malformed"]


def test_severities() -> None:
    assert _scan(b"cos\nsystem\n.")[0].severity is base.Severity.CRITICAL
    assert _scan(b"cgetpass\ngetuser\n.")[0].severity is base.Severity.HIGH
