"""pvc:// under a runtime check: the conditional verdict and what the verifier is handed."""

from __future__ import annotations

import json

import pytest

from modelward.pipeline import claims
from modelward.structs import policy, refs

KEY = policy.PolicyKey("ClusterModelPolicy", None, "p", "u", 1)
PEM = b"-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"
KEY_AUTHORITY = policy.Authority("release", policy.AuthorityType.KEY, PEM)
CHAIN = policy.Authority("ca", policy.AuthorityType.CERTIFICATE, b"CHAIN")
KEYLESS = policy.Authority(
    "ci", policy.AuthorityType.KEYLESS, b"", identity=policy.Identity(issuer="i", subject="s")
)
REF = refs.ModelRef("pvc://models/bert/v1", "metadata.annotations['modelward.io/models']")


def pol(*authorities: policy.Authority, runtime_check: bool = True) -> policy.Policy:
    return policy.Policy(
        KEY, policy.Mode.ENFORCE, policy.Match(), ("**",), authorities, runtime_check=runtime_check
    )


def test_a_runtime_check_admits_on_condition() -> None:
    found = claims.decide(REF, [pol(KEY_AUTHORITY)], verifier_image="mw:1")
    assert found.error is None
    (result,) = found.results
    assert (result.passed, result.reason, result.files) == (True, "RuntimeCheck", ())


@pytest.mark.parametrize(
    ("policies", "image", "ref", "message"),
    [
        ([pol(KEY_AUTHORITY, runtime_check=False)], "mw:1", REF, "unverifiable at admission"),
        (
            [pol(KEY_AUTHORITY), pol(KEY_AUTHORITY, runtime_check=False)],
            "mw:1",
            REF,
            "unverifiable at admission",
        ),
        ([pol(KEY_AUTHORITY)], "", REF, "webhook.mutate.runtimeChecks=true"),
        ([pol(KEY_AUTHORITY, KEYLESS)], "mw:1", REF, "authority 'ci' is keyless"),
        (
            [pol(KEY_AUTHORITY)],
            "mw:1",
            refs.ModelRef("pvc://models/../etc", "spec.x"),
            "without '.', '..' or '//'",
        ),
        ([pol(KEY_AUTHORITY)], "mw:1", refs.ModelRef("pvc://Bad_Claim/m", "spec.x"), "claim name"),
    ],
)
def test_denied_when_the_check_cannot_run(
    policies: list[policy.Policy], image: str, ref: refs.ModelRef, message: str
) -> None:
    found = claims.decide(ref, policies, verifier_image=image)
    assert found.results == ()
    assert found.error is not None
    assert message in found.error[1]


def test_authorities_are_handed_over_as_policy_fields() -> None:
    two = policy.Policy(
        KEY, policy.Mode.ENFORCE, policy.Match(), ("**",), (KEY_AUTHORITY, CHAIN), require_count=2
    )
    assert json.loads(claims.authorities_json([two])) == [
        {
            "name": "p",
            "require": {"count": 2},
            "authorities": [
                {"name": "release", "key": {"data": PEM.decode()}},
                {"name": "ca", "certificate": {"chain": "CHAIN"}},
            ],
        }
    ]
