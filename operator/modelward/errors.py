"""The one exception family. `reason` is a stable CamelCase code; the message is for people."""

from __future__ import annotations


class ModelwardError(Exception):
    """Base of every error modelward raises on purpose.

    `reason` is the machine code (metrics label, event reason, JSON field), `ref` the model
    reference concerned if any, and `hint` what the user can do about it.
    """

    default_reason = "Error"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        ref: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.ref = ref
        self.hint = hint

    def user_message(self) -> str:
        """The message with its remedy, as shown in a denial."""
        return f"{self.message}. {self.hint}" if self.hint else self.message


class InputError(ModelwardError):
    """A malformed AdmissionReview, manifest, policy or setting."""

    default_reason = "InvalidInput"


class PolicyError(InputError):
    """A policy that cannot be used as written (bad key, bad glob, missing Secret)."""

    default_reason = "InvalidPolicy"


class TrustRootRefreshFailed(PolicyError):
    """A TrustRoot's mirror could not be refreshed; `last_good` is the verified root still
    in use (empty when there is none yet)."""

    default_reason = "TrustRootRefreshFailed"

    def __init__(self, message: str, *, reason: str | None = None, last_good: bytes = b"") -> None:
        super().__init__(message, reason=reason)
        self.last_good = last_good


class ExtractorError(InputError):
    """A ModelExtractor that cannot be used as written (bad path, bad regex)."""

    default_reason = "InvalidExtractor"


class SourceError(ModelwardError):
    """A model could not be resolved or fetched from where it lives."""

    default_reason = "SourceError"


class ResolveError(SourceError):
    """A reference could not be turned into an immutable digest."""

    default_reason = "ResolveFailed"


class FetchError(SourceError):
    """An artifact could not be downloaded or unpacked."""

    default_reason = "FetchFailed"


class ArtifactLimitError(FetchError):
    """An artifact exceeds a configured bound (size, files, unpacked size)."""

    default_reason = "ArtifactTooLarge"


class EgressDenied(FetchError):
    """A fetch would reach an address modelward refuses by default (metadata, loopback, ...)."""

    default_reason = "EgressDenied"


class DownloadTimeout(FetchError):
    """Fetching one reference took longer than its download timeout."""

    default_reason = "DownloadTimeout"


class UnsupportedReference(SourceError):
    """A reference whose scheme or form modelward cannot verify."""

    default_reason = "Unverifiable"


class VerificationFailed(ModelwardError):
    """A signature is missing, untrusted, or does not match the model."""

    default_reason = "VerificationFailed"


class SignatureMissing(VerificationFailed):
    """No signature was found next to the model."""

    default_reason = "SignatureMissing"


class SignerMismatch(VerificationFailed):
    """A signature exists but no trusted authority made it."""

    default_reason = "UntrustedSigner"


class DigestMismatch(VerificationFailed):
    """The model's files differ from the signed manifest."""

    default_reason = "DigestMismatch"


class DeadlineExceeded(ModelwardError):
    """The admission budget ran out before a decision."""

    default_reason = "DeadlineExceeded"


class BomError(ModelwardError):
    """A bill of materials that could not be built: the cluster could not be read, or the
    document does not validate."""

    default_reason = "BomFailed"
