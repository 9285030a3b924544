"""`modelward scan`: scan model files offline with the webhook's scanners; optionally sign the
result as a scan attestation the cluster trusts instead of scanning again."""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import pathlib
import sys
from typing import Any

from modelward import errors
from modelward.pipeline import scan as scan_
from modelward.scanners import dispatch, report
from modelward.scanners.base import Finding, Severity
from modelward.structs import scanning
from modelward.trust import attestation

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def add_parser(sub: Any) -> None:
    """Register `scan` on the CLI's subparsers."""
    p = sub.add_parser("scan", help="scan model files or directories for code that runs on load")
    p.add_argument("path", nargs="+", help="a model file or directory")
    p.add_argument("--fail-on", choices=[s.label for s in Severity], default="high")
    p.add_argument("--output", "-o", choices=("text", "json", "sarif"), default="text")
    p.add_argument("--attest", action="store_true", help="also write a signed scan attestation")
    p.add_argument("--key", help="EC private key (PEM) that signs the attestation")
    p.add_argument("--out", help="where to write the attestation (default PATH.scan.sigstore.json)")
    p.add_argument("--digest", help="also bind the attestation to this model digest (sha256:<hex>)")
    p.set_defaults(fn=run)


def _sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def run(args: argparse.Namespace) -> int:
    paths = [pathlib.Path(p) for p in args.path]
    for path in paths:
        if not path.exists():
            raise errors.InputError(f"{path}: no such file or directory")
    if args.attest and (len(paths) != 1 or not args.key):
        raise errors.InputError("--attest needs exactly one model PATH and --key KEY.pem")
    if args.digest and not scan_.DIGEST.match(args.digest):
        raise errors.InputError("--digest must be sha256:<64 hex digits>")
    findings: list[Finding] = []
    for path in paths:
        found = dispatch.scan_path(path)
        if len(paths) > 1 and path.is_dir():
            found = [_prefixed(f, path) for f in found]
        elif len(paths) > 1:
            found = [_prefixed(f, path.parent) for f in found]
        findings.extend(found)
    fail_on = Severity.parse(args.fail_on)
    failing = scan_.blocking(scanning.ScanPolicy(fail_on=fail_on), findings, "", {})
    if args.output == "json":
        print(json.dumps(report.to_json(findings, failing, fail_on), indent=2))
    elif args.output == "sarif":
        print(json.dumps(report.to_sarif(findings), indent=2))
    else:
        print(report.to_text(findings, failing, fail_on))
    if args.attest:
        _attest(paths[0], findings, pathlib.Path(args.key), args.out, args.digest)
    return EXIT_FINDINGS if failing else EXIT_CLEAN


def _prefixed(f: Finding, root: pathlib.Path) -> Finding:
    location = f.location
    name = (root / location.file).as_posix()
    return Finding(
        f.rule,
        f.severity,
        type(location)(name, location.offset, location.opcode, location.name),
        f.message,
    )


def _attest(
    root: pathlib.Path,
    findings: list[Finding],
    key: pathlib.Path,
    out: str | None,
    digest: str | None,
) -> None:
    files = {name: _sha256(path) for path, name in dispatch.iter_files(root)}
    stmt = attestation.build_statement(
        findings,
        files,
        name=root.resolve().name,
        digest=digest,
        now=datetime.datetime.now(datetime.UTC),
    )
    target = pathlib.Path(out) if out else root.with_name(root.name + ".scan.sigstore.json")
    attestation.sign(stmt, key, target)
    print(f"attestation written to {target}", file=sys.stderr)
