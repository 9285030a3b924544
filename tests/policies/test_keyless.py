"""Keyless authorities in policies: identities, claims, and trust roots by name."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelward import errors
from modelward.policies import parse
from modelward.structs import policy
from modelward.trust import roots
from tests.fixtures.sigstore_stack import SigstoreStack
from tests.policies.test_parse import no_secrets, obj, spec


def keyless_policy(keyless: dict[str, Any], trust_roots: Any = None) -> policy.Policy:
    return parse.parse_policy(
        obj(spec(authorities=[{"name": "ci", "keyless": keyless}])),
        secrets=no_secrets,
        home_namespace="modelward",
        trust_roots=trust_roots,
    )


def test_identity_and_claims_parse_with_the_public_good_root_by_default() -> None:
    pol = keyless_policy(
        {
            "issuer": "https://token.actions.test",
            "subjectRegExp": r"https://git\.test/ml/.*",
            "extensions": {"githubWorkflowRepository": "ml/bert", "buildSignerURI": "x"},
            "requireSignedTimestamp": True,
        }
    )
    assert pol.ready, pol.error_message
    (authority,) = pol.authorities
    assert authority.type is policy.AuthorityType.KEYLESS
    assert authority.pem == roots.public_good()
    assert authority.identity == policy.Identity(
        issuer="https://token.actions.test",
        subject_regexp=r"https://git\.test/ml/.*",
        extensions=(("buildSignerURI", "x"), ("githubWorkflowRepository", "ml/bert")),
        require_signed_timestamp=True,
    )


def test_public_good_root_loads_offline() -> None:
    root = roots.load(roots.public_good(), where="public good")
    assert root.get_fulcio_certs()


def test_trust_root_ref_reads_the_named_root(sigstore_stack: SigstoreStack) -> None:
    raw = json.dumps(sigstore_stack.trusted_root()).encode()
    asked: list[str] = []

    def trust_roots(name: str) -> bytes:
        asked.append(name)
        return raw

    pol = keyless_policy(
        {"issuer": "i", "subject": "s", "trustRootRef": "private"}, trust_roots=trust_roots
    )
    assert pol.ready, pol.error_message
    assert asked == ["private"]
    assert pol.authorities[0].pem == raw
    assert pol.authorities[0].identity is not None
    assert pol.authorities[0].identity.trust_root == "private"


def test_changing_the_trust_root_changes_the_policy_revision(
    sigstore_stack: SigstoreStack,
) -> None:
    first = keyless_policy(
        {"issuer": "i", "subject": "s", "trustRootRef": "r"}, trust_roots=lambda _: b"{}"
    )
    second = keyless_policy(
        {"issuer": "i", "subject": "s", "trustRootRef": "r"}, trust_roots=lambda _: b"{ }"
    )
    assert first.revision != second.revision


def _missing(name: str) -> bytes:
    raise errors.PolicyError(f"TrustRoot {name!r} does not exist", reason="TrustRootNotFound")


@pytest.mark.parametrize(
    ("keyless", "reason", "message"),
    [
        ({"subject": "s"}, "InvalidSpec", "exactly one of issuer or issuerRegExp"),
        ({"issuer": "i", "issuerRegExp": "i", "subject": "s"}, "InvalidSpec", "exactly one"),
        ({"issuer": "i"}, "InvalidSpec", "exactly one of subject or subjectRegExp"),
        ({"issuer": "i", "subjectRegExp": "(unclosed"}, "InvalidSpec", "not a regular expr"),
        ({"issuer": "i", "subject": ""}, "InvalidSpec", "non-empty string"),
        ({"issuer": "i", "subject": "s", "extensions": {"team": "x"}}, "InvalidSpec", "'team'"),
        ({"issuer": "i", "subject": "s", "extensions": {"buildSignerURI": 1}}, "InvalidSpec", ""),
        ({"issuer": "i", "subject": "s", "identities": []}, "InvalidSpec", "'identities'"),
        ({"issuer": "i", "subject": "s", "trustRootRef": "gone"}, "TrustRootNotFound", "gone"),
        ({"issuer": "i", "subject": "s", "trustRootRef": 3}, "InvalidSpec", "TrustRoot name"),
        (
            {"issuer": "i", "subject": "s", "requireSignedTimestamp": "yes"},
            "InvalidSpec",
            "requireSignedTimestamp must be true or false",
        ),
    ],
)
def test_bad_keyless_authorities_are_not_ready(
    keyless: dict[str, Any], reason: str, message: str
) -> None:
    pol = keyless_policy(keyless, trust_roots=_missing)
    assert not pol.ready
    assert pol.error_reason == reason
    assert message in pol.error_message
    assert pol.globs, "a broken authority keeps the globs so governed references are denied"


def test_keyless_next_to_key_is_rejected() -> None:
    pol = parse.parse_policy(
        obj(
            spec(
                authorities=[{"name": "ci", "keyless": {"issuer": "i", "subject": "s"}, "key": {}}]
            )
        ),
        secrets=no_secrets,
        home_namespace="modelward",
    )
    assert "exactly one of key, certificate, keyless or static" in pol.error_message
