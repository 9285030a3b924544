"""Findings as text, JSON and SARIF 2.1.0 (for code-scanning dashboards)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import modelward
from modelward.scanners.base import Finding, Severity

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
}


def to_text(findings: Sequence[Finding], failing: Sequence[Finding], fail_on: Severity) -> str:
    lines = [("FAIL " if f in failing else "info ") + str(f) for f in findings]
    lines.append(
        f"{len(findings)} finding(s), {len(failing)} at or above {fail_on.label}"
        if findings
        else "no findings"
    )
    return "\n".join(lines)


def finding_json(f: Finding) -> dict[str, Any]:
    location = {k: v for k, v in dataclasses.asdict(f.location).items() if v is not None}
    return {
        "rule": f.rule,
        "severity": f.severity.label,
        "location": location,
        "message": f.message,
    }


def to_json(
    findings: Sequence[Finding], failing: Sequence[Finding], fail_on: Severity
) -> dict[str, Any]:
    return {
        "failOn": fail_on.label,
        "passed": not failing,
        "findings": [finding_json(f) | {"fails": f in failing} for f in findings],
    }


def to_sarif(findings: Sequence[Finding]) -> dict[str, Any]:
    rules = sorted({f.rule for f in findings})
    results = []
    for f in findings:
        artifact, _, member = f.location.file.partition("!")
        physical: dict[str, Any] = {"artifactLocation": {"uri": artifact}}
        if f.location.offset is not None and not member:
            physical["region"] = {"byteOffset": f.location.offset}
        logical = [n for n in (member, f.location.name) if n]
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": rules.index(f.rule),
            "level": _LEVELS[f.severity],
            "message": {"text": f"{f.message} ({f.location})"},
            "locations": [
                {
                    "physicalLocation": physical,
                    "logicalLocations": [{"fullyQualifiedName": n} for n in logical],
                }
            ],
            "properties": {"severity": f.severity.label},
        }
        results.append(result)
    return {
        "version": "2.1.0",
        "$schema": SARIF_SCHEMA,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "modelward",
                        "version": modelward.__version__,
                        "rules": [{"id": r, "name": r} for r in rules],
                    }
                },
                "results": results,
            }
        ],
    }
