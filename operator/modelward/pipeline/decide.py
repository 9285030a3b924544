"""Turn per-reference evidence into one admission decision. Pure: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Sequence

from modelward import settings
from modelward.structs import context, evidence, policy

HINTS = {
    "SignatureMissing": "Sign the model with model_signing and publish the signature beside it "
    "(model.sig in the artifact, an OCI referrer, or <url>.sig)",
    "UntrustedSigner": "Sign the model with a key or certificate one of the policy's authorities "
    "trusts, or add that signer as an authority",
    "DigestMismatch": "The model changed after it was signed: "
    "deploy the signed version or re-sign it",
    "NoPolicy": "Add a ClusterModelPolicy or ModelPolicy whose models globs cover this reference",
    "Unverifiable": "Use a reference modelward can verify (oci://, https:// or hf://), or allow "
    "this one explicitly with a policy whose only authority is `static: {action: pass}`",
    "DeadlineExceeded": "Retry; the model may be too large to verify within the webhook timeout",
    "RegistryUnavailable": "Retry when the registry is reachable again",
    "SourceUnavailable": "Retry when the server is reachable again",
    "ScanFinding": "Ship the model without code that runs on load (e.g. as safetensors), or, "
    "if the finding is accepted, add a spec.scan.exceptions entry for its rule and digest",
    "KnownBad": "This model is denied by policy; deploy another version",
}

# Reasons that mean "could not check" (an outage or timeout), not "checked and failed": these
# follow the policies' onError instead of their mode.
OUTAGE_REASONS = frozenset(
    {
        "RegistryUnavailable",
        "SourceUnavailable",
        "DeadlineExceeded",
        "DownloadTimeout",
        "TrustRootNotFound",
        "TrustRootUnavailable",
    }
)


def _hint(reason: str) -> str:
    return HINTS.get(reason, "")


def _where(ref: evidence.RefResult) -> str:
    uri = ref.pinned_uri or ref.ref.uri
    if ref.digest and ref.digest not in uri:
        uri = f"{uri} ({ref.digest})"
    return f"{uri} ({ref.ref.field_path})"


def decide(
    ctx: context.AdmissionContext,
    results: Sequence[evidence.RefResult],
    *,
    no_match: settings.NoMatchAction,
) -> evidence.Decision:
    """Deny if any enforced policy failed, any reference failed to evaluate, or an ungoverned
    reference meets a deny default; warnings for `warn` policies and a `warn` default."""
    denials: list[tuple[str, str]] = []
    warnings: list[str] = []
    tolerated: list[str] = []

    def outage(reason: str, text: str, on_error: policy.OnError) -> None:
        if on_error is policy.OnError.DENY:
            denials.append((reason, text))
            return
        tolerated.append(f"{text} [{reason}; admitted by onError={on_error}]")
        if on_error is policy.OnError.WARN:
            warnings.append(f"{text}; admitted unverified because onError is warn")

    for ref in results:
        where = _where(ref)
        if ref.error is not None:
            reason, message = ref.error
            if reason in OUTAGE_REASONS:
                outage(reason, f"model {where}: {message}", ref.on_error)
            else:
                denials.append((reason, f"model {where}: {message}"))
            continue
        if ref.unmatched:
            text = f"model {where}: no ModelPolicy or ClusterModelPolicy governs this reference"
            if no_match is settings.NoMatchAction.DENY:
                denials.append(("NoPolicy", text))
            elif no_match is settings.NoMatchAction.WARN:
                warnings.append(text)
            continue
        for result in ref.results:
            if result.passed:
                if result.exception is not None:
                    # Waivers are visible to whoever deploys, not only in the operator's logs.
                    warnings.append(f"model {where}: {result.message}")
                continue
            text = f"model {where}: {result.message} (policy {result.policy.display}"
            text += f", authority {', '.join(result.authorities)})" if result.authorities else ")"
            if result.reason in OUTAGE_REASONS:
                outage(result.reason, text, result.on_error)
            elif result.mode is policy.Mode.ENFORCE:
                denials.append((result.reason, text))
            elif result.mode is policy.Mode.WARN:
                warnings.append(text)
    if not denials:
        return evidence.Decision(
            allowed=True,
            message="",
            warnings=tuple(warnings),
            refs=tuple(results),
            tolerated=tuple(tolerated),
        )
    parts = []
    for reason, text in denials:
        hint = _hint(reason)
        parts.append(f"{text}. {hint}" if hint else text)
    message = f"{ctx.display} was denied by modelward: " + "; ".join(parts)
    return evidence.Decision(
        allowed=False,
        message=message,
        warnings=tuple(warnings),
        refs=tuple(results),
        reason=denials[0][0],
        tolerated=tuple(tolerated),
    )
