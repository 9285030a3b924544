"""Judge a model's content: known-bad digests, and scan findings against a policy's threshold."""

from __future__ import annotations

import asyncio
import dataclasses
import pathlib
import re
from collections.abc import Iterable, Mapping, Sequence

from modelward import errors
from modelward.record import metrics
from modelward.scanners import dispatch
from modelward.scanners.base import Finding
from modelward.structs import evidence, policy, scanning

MAX_LISTED = 3
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


async def scan_model(root: pathlib.Path, files: Iterable[str], *, ref: str) -> tuple[Finding, ...]:
    """Scan the fetched files off the event loop; files missing on disk fail closed."""
    try:
        with metrics.scanning("builtin"):
            return tuple(await asyncio.to_thread(dispatch.scan_files, root, list(files)))
    except FileNotFoundError as e:
        raise errors.FetchError(
            f"file {e.args[0]!r} of the model is not on disk to be scanned",
            reason="ScanUnavailable",
            ref=ref,
        ) from None


def known_bad(
    pol: policy.Policy, digest: str, files: Mapping[str, str] | None
) -> evidence.PolicyResult | None:
    """A failed result when the model, or one of its files, is listed as known bad."""
    if not pol.known_bad:
        return None
    listed = {k.digest: k.reason for k in pol.known_bad}
    candidates = [(digest, "the model")] + [
        (f"sha256:{hexdigest}", f"file {path!r}")
        for path, hexdigest in sorted((files or {}).items())
    ]
    for candidate, what in candidates:
        if candidate in listed:
            return _failed(
                pol,
                "KnownBad",
                f"{what} has digest {candidate}, listed as known bad: {listed[candidate]}",
            )
    return None


def blocking(
    settings: scanning.ScanPolicy,
    findings: Sequence[Finding],
    digest: str,
    files: Mapping[str, str],
) -> list[Finding]:
    """The findings that deny: at or above failOn, and not excepted for this digest."""
    out = []
    for finding in findings:
        if finding.severity < settings.fail_on:
            continue
        top = finding.location.file.split("!", 1)[0].split("@", 1)[0]
        digests = {digest}
        if top in files:
            digests.add(f"sha256:{files[top]}")
        if any(e.rule == finding.rule and e.digest in digests for e in settings.exceptions):
            continue
        out.append(finding)
    return out


def judge(
    pol: policy.Policy,
    signed: evidence.PolicyResult,
    findings: Sequence[Finding],
    digest: str,
    files: Mapping[str, str],
    origin: str,
    attestations: tuple[str, ...] = (),
) -> evidence.PolicyResult:
    """The policy's result once the signature passed: still passed, or denied by findings.
    `attestations` are the predicate types of the attestations the findings came from."""
    assert pol.scan is not None
    denying = blocking(pol.scan, findings, digest, files)
    if not denying:
        below = f", {len(findings)} finding(s) below {pol.scan.fail_on.label}" if findings else ""
        # Keeps the signed files: a runtime check of a scanned model still needs them.
        return dataclasses.replace(
            signed,
            message=f"{signed.message}; {origin}: no finding at or above "
            f"{pol.scan.fail_on.label}{below}",
            attestations=signed.attestations + attestations,
            scanned=True,
        )
    listed = "; ".join(str(f) for f in denying[:MAX_LISTED])
    more = f" (and {len(denying) - MAX_LISTED} more)" if len(denying) > MAX_LISTED else ""
    return evidence.PolicyResult(
        policy=signed.policy,
        mode=signed.mode,
        passed=False,
        reason="ScanFinding",
        message=f"{origin} found {len(denying)} finding(s) at or above "
        f"{pol.scan.fail_on.label}: {listed}{more}",
        authorities=signed.authorities,
        signers=signed.signers,
        attestations=signed.attestations + attestations,
        scanned=True,
    )


def _failed(pol: policy.Policy, reason: str, message: str) -> evidence.PolicyResult:
    return evidence.PolicyResult(
        policy=pol.key, mode=pol.mode, passed=False, reason=reason, message=message
    )


class ContentCheck:
    """The content checks of one fetched model, scanning it at most once for all policies."""

    def __init__(
        self,
        root: pathlib.Path,
        files: Mapping[str, str],
        digest: str,
        *,
        ref: str,
        bundles: Sequence[pathlib.Path] = (),
    ) -> None:
        self._root = root
        self._files = files
        self._digest = digest
        self._ref = ref
        self._bundles = bundles
        self._findings: tuple[Finding, ...] | None = None

    async def findings(self) -> tuple[Finding, ...]:
        if self._findings is None:
            self._findings = await scan_model(self._root, self._files, ref=self._ref)
        return self._findings

    async def apply(
        self, pol: policy.Policy, signed: evidence.PolicyResult
    ) -> evidence.PolicyResult:
        """The policy's final result for a model whose signature passed it."""
        bad = known_bad(pol, self._digest, self._files)
        if bad is not None:
            return bad
        if pol.scan is None:
            return signed
        findings, origin, attested = await self._results(pol.scan)
        return judge(pol, signed, findings, self._digest, self._files, origin, attested)

    async def _results(
        self, settings: scanning.ScanPolicy
    ) -> tuple[Sequence[Finding], str, tuple[str, ...]]:
        """The findings, where they come from, and the predicate types that attested them."""
        if settings.attestations is not None and self._bundles:
            from modelward.trust import attestation

            found = await asyncio.to_thread(
                attestation.find, self._bundles, settings.attestations, self._digest, self._files
            )
            if found is not None:
                origin = f"the scan attested by {found.authority}"
                return found.findings, origin, (attestation.PREDICATE_TYPE,)
        return await self.findings(), "the scan", ()
