"""Every test THREAT_MODEL.md names for a promise exists: a promise is only as good as its test."""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
CITED = re.compile(r"`(tests/[\w/.]+?)(?:::(\w+))?`")


def test_every_cited_test_exists() -> None:
    text = (ROOT / "THREAT_MODEL.md").read_text()
    cited = CITED.findall(text)
    assert len(cited) > 20
    for path, name in cited:
        target = ROOT / path
        assert target.exists(), path
        if name:
            assert re.search(rf"^(async )?def {name}\(", target.read_text(), re.M), (path, name)
