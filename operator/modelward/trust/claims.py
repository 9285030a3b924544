"""Fulcio certificate claims: the OIDC issuer, the subject, and the CI extension claims.

Names follow Sigstore's policy vocabulary (policy-controller, sigstore-go); the checks are
sigstore-python's own extension policies.
"""

from __future__ import annotations

from cryptography import x509
from sigstore.verify import policy as sp

_ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
_ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
_OTHERNAME = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.7")

POLICIES: dict[str, type[sp._SingleX509ExtPolicy]] = {
    "githubWorkflowTrigger": sp.GitHubWorkflowTrigger,
    "githubWorkflowSHA": sp.GitHubWorkflowSHA,
    "githubWorkflowName": sp.GitHubWorkflowName,
    "githubWorkflowRepository": sp.GitHubWorkflowRepository,
    "githubWorkflowRef": sp.GitHubWorkflowRef,
    "buildSignerURI": sp.OIDCBuildSignerURI,
    "buildSignerDigest": sp.OIDCBuildSignerDigest,
    "runnerEnvironment": sp.OIDCRunnerEnvironment,
    "sourceRepositoryURI": sp.OIDCSourceRepositoryURI,
    "sourceRepositoryDigest": sp.OIDCSourceRepositoryDigest,
    "sourceRepositoryRef": sp.OIDCSourceRepositoryRef,
    "sourceRepositoryIdentifier": sp.OIDCSourceRepositoryIdentifier,
    "sourceRepositoryOwnerURI": sp.OIDCSourceRepositoryOwnerURI,
    "sourceRepositoryOwnerIdentifier": sp.OIDCSourceRepositoryOwnerIdentifier,
    "buildConfigURI": sp.OIDCBuildConfigURI,
    "buildConfigDigest": sp.OIDCBuildConfigDigest,
    "buildTrigger": sp.OIDCBuildTrigger,
    "runInvocationURI": sp.OIDCRunInvocationURI,
    "sourceRepositoryVisibilityAtSigning": sp.OIDCSourceRepositoryVisibility,
}


def policy_for(name: str, value: str) -> tuple[str, sp._SingleX509ExtPolicy]:
    """The sigstore-python policy checking one named claim; KeyError for unknown names."""
    return name, POLICIES[name](value)


def _der_utf8(raw: bytes) -> str | None:
    # Short and long form DER UTF8String; anything else is not a v2 claim.
    if len(raw) < 2 or raw[0] != 0x0C:
        return None
    length, offset = raw[1], 2
    if length & 0x80:
        size = length & 0x7F
        length, offset = int.from_bytes(raw[2 : 2 + size], "big"), 2 + size
    body = raw[offset : offset + length]
    return body.decode(errors="replace") if len(body) == length else None


def _extension(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> bytes | None:
    try:
        value = cert.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None
    return value.value if isinstance(value, x509.UnrecognizedExtension) else None


def issuer(cert: x509.Certificate) -> str | None:
    """The OIDC issuer: Fulcio's v2 extension, else the v1 raw string."""
    v2 = _extension(cert, _ISSUER_V2)
    if v2 is not None:
        return _der_utf8(v2)
    v1 = _extension(cert, _ISSUER_V1)
    return v1.decode(errors="replace") if v1 is not None else None


def subjects(cert: x509.Certificate) -> set[str]:
    """Every identity the certificate's SAN names: emails, URIs and Sigstore other names."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    found = set(san.get_values_for_type(x509.RFC822Name))
    found.update(san.get_values_for_type(x509.UniformResourceIdentifier))
    for other in san.get_values_for_type(x509.OtherName):
        if other.type_id == _OTHERNAME:
            text = _der_utf8(other.value)
            if text is not None:
                found.add(text)
    return found
