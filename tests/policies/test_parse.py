"""Policy objects become usable policies, or carry a reason that shows in their status."""

from __future__ import annotations

import datetime
import pathlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa

from modelward import errors
from modelward.policies import parse, status
from modelward.structs import policy
from tests.fixtures import pki

EC_PEM = pki.public_pem(ec.generate_private_key(ec.SECP256R1())).decode()
ED_PEM = pki.public_pem(ed25519.Ed25519PrivateKey.generate()).decode()
RSA_PEM = pki.public_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)).decode()
RSA_1024_PEM = pki.public_pem(
    rsa.generate_private_key(public_exponent=65537, key_size=1024)
).decode()
DSA_PEM = pki.public_pem(dsa.generate_private_key(key_size=2048)).decode()  # type: ignore[arg-type]


def no_secrets(namespace: str, name: str, key: str) -> bytes:
    raise errors.PolicyError(f"Secret {namespace}/{name} does not exist", reason="SecretNotFound")


def obj(
    spec: dict[str, Any], *, kind: str = "ClusterModelPolicy", namespace: str | None = None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "require-signed", "uid": "u1", "generation": 3}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": "modelward.io/v1alpha1", "kind": kind, "metadata": metadata, "spec": spec}


def spec(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "mode": "enforce",
        "match": {"namespaceSelector": {"matchLabels": {"team": "ml"}}, "objectSelector": {}},
        "models": [{"glob": "oci://registry.example.com/models/**"}],
        "authorities": [{"name": "ml-release", "key": {"data": EC_PEM}}],
    }
    base.update(over)
    return base


def test_the_documented_shape_parses(tmp_path: pathlib.Path) -> None:
    ca = pki.make_ca(tmp_path)
    pol = parse.parse_policy(
        obj(
            spec(
                authorities=[
                    {"name": "ml-release", "key": {"data": EC_PEM}},
                    {"name": "ed", "key": {"data": ED_PEM}},
                    {"name": "rsa", "key": {"data": RSA_PEM}},
                    {"name": "corp-ca", "certificate": {"chain": ca.cert_path.read_text()}},
                ]
            )
        ),
        secrets=no_secrets,
        home_namespace="modelward",
    )
    assert pol.ready, pol.error_message
    assert pol.mode is policy.Mode.ENFORCE
    assert pol.key == policy.PolicyKey("ClusterModelPolicy", None, "require-signed", "u1", 3)
    assert [a.type for a in pol.authorities] == ["key", "key", "key", "certificate"]
    assert pol.match.namespace_selector == policy.LabelSelector(match_labels=(("team", "ml"),))
    assert pol.match.object_selector == policy.LabelSelector()
    assert pol.require_count == 1


def test_secret_ref_is_read_with_the_right_namespace() -> None:
    seen = []

    def secrets(namespace: str, name: str, key: str) -> bytes:
        seen.append((namespace, name, key))
        return EC_PEM.encode()

    auth = [{"name": "k", "key": {"secretRef": {"name": "keys", "key": "cosign.pub"}}}]
    assert parse.parse_policy(
        obj(spec(authorities=auth)), secrets=secrets, home_namespace="modelward"
    ).ready
    assert parse.parse_policy(
        obj(spec(authorities=auth), kind="ModelPolicy", namespace="team-a"),
        secrets=secrets,
        home_namespace="modelward",
    ).ready
    assert seen == [("modelward", "keys", "cosign.pub"), ("team-a", "keys", "cosign.pub")]


@pytest.mark.parametrize(
    ("over", "reason", "message"),
    [
        ({"mode": "block"}, "InvalidSpec", "mode 'block' is not enforce|warn|audit"),
        ({"models": []}, "InvalidSpec", "models must list at least one glob"),
        ({"models": [{"glob": ""}]}, "InvalidGlob", "models[0].glob must be a non-empty string"),
        ({"authorities": []}, "InvalidSpec", "authorities must list at least one authority"),
        (
            {"authorities": [{"name": "a", "key": {"data": "not a key"}}]},
            "InvalidKey",
            "authority 'a': key is not a PEM public key",
        ),
        (
            {"authorities": [{"name": "a", "key": {"data": RSA_1024_PEM}}]},
            "InvalidKey",
            "a 1024-bit RSA key is too weak (use 2048 bits or more)",
        ),
        (
            {"authorities": [{"name": "a", "key": {"data": DSA_PEM}}]},
            "InvalidKey",
            "DSAPublicKey keys are not supported",
        ),
        (
            {
                "authorities": [
                    {"name": "a", "key": {"data": EC_PEM, "secretRef": {"name": "s", "key": "k"}}}
                ]
            },
            "InvalidSpec",
            "exactly one of data or secretRef",
        ),
        (
            {
                "authorities": [
                    {"name": "a", "key": {"data": EC_PEM}, "certificate": {"chain": "x"}}
                ]
            },
            "InvalidSpec",
            "exactly one of key, certificate, keyless or static",
        ),
        (
            {"authorities": [{"name": "a", "certificate": {"chain": "junk"}}]},
            "InvalidCertificate",
            "chain is not PEM certificates",
        ),
        (
            {"authorities": [{"name": "a", "key": {"secretRef": {"name": "gone", "key": "k"}}}]},
            "SecretNotFound",
            "Secret modelward/gone does not exist",
        ),
        (
            {"require": {"count": 2}},
            "InvalidSpec",
            "require.count is 2 but only 1 authorities are listed",
        ),
        (
            {
                "match": {
                    "namespaceSelector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}
                }
            },
            "InvalidSpec",
            "matchExpressions[0] needs a key and an operator",
        ),
    ],
)
def test_bad_policies_are_not_ready_with_a_reason(
    over: dict[str, Any], reason: str, message: str
) -> None:
    pol = parse.parse_policy(obj(spec(**over)), secrets=no_secrets, home_namespace="modelward")
    assert not pol.ready
    assert pol.error_reason == reason
    assert message in pol.error_message


def test_a_leaf_certificate_is_not_a_ca(tmp_path: pathlib.Path) -> None:
    ca = pki.make_ca(tmp_path)
    leaf = pki.issue_leaf(tmp_path, ca, "signer", code_signing=True)
    pol = parse.parse_policy(
        obj(
            spec(authorities=[{"name": "c", "certificate": {"chain": leaf.cert_path.read_text()}}])
        ),
        secrets=no_secrets,
        home_namespace="modelward",
    )
    assert pol.error_reason == "InvalidCertificate"
    assert "is not a CA certificate" in pol.error_message


def test_a_broken_authority_keeps_globs_so_governed_refs_are_denied() -> None:
    pol = parse.parse_policy(
        obj(spec(authorities=[{"name": "a", "key": {"data": "x"}}])),
        secrets=no_secrets,
        home_namespace="mw",
    )
    assert pol.globs == ("oci://registry.example.com/models/**",)
    assert not pol.ready


def test_namespaced_policy_cannot_read_other_namespaces_secrets() -> None:
    called = []

    def secrets(namespace: str, name: str, key: str) -> bytes:
        called.append(namespace)
        return EC_PEM.encode()

    auth = [
        {
            "name": "k",
            "key": {"secretRef": {"name": "keys", "namespace": "kube-system", "key": "k"}},
        }
    ]
    pol = parse.parse_policy(
        obj(spec(authorities=auth), kind="ModelPolicy", namespace="team-a"),
        secrets=secrets,
        home_namespace="mw",
    )
    assert pol.error_reason == "SecretOutOfNamespace"
    assert called == []


def test_status_reports_readiness_and_is_not_rewritten_when_unchanged() -> None:
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    good = parse.parse_policy(obj(spec()), secrets=no_secrets, home_namespace="mw")
    patch = status.status_patch(good, None, now=now)
    assert patch is not None
    assert patch["conditions"][0] | {"lastTransitionTime": "x"} == {
        "type": "Ready",
        "status": "True",
        "reason": "Loaded",
        "message": "1 authorities, 1 model globs, mode enforce",
        "observedGeneration": 3,
        "lastTransitionTime": "x",
    }
    assert status.status_patch(good, patch, now=now) is None
    bad = parse.parse_policy(
        obj(spec(authorities=[{"name": "a", "key": {"data": "x"}}])),
        secrets=no_secrets,
        home_namespace="mw",
    )
    changed = status.status_patch(bad, patch, now=now)
    assert changed is not None
    assert changed["conditions"][0]["status"] == "False"
    assert changed["conditions"][0]["reason"] == "InvalidKey"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, policy.OnError.DENY), ("warn", policy.OnError.WARN), ("allow", policy.OnError.ALLOW)],
)
def test_on_error_defaults_to_deny(raw: str | None, expected: policy.OnError) -> None:
    over = {} if raw is None else {"onError": raw}
    pol = parse.parse_policy(obj(spec(**over)), secrets=no_secrets, home_namespace="mw")
    assert pol.ready
    assert pol.on_error is expected


def test_bad_on_error_is_not_ready() -> None:
    pol = parse.parse_policy(obj(spec(onError="ignore")), secrets=no_secrets, home_namespace="mw")
    assert pol.error_reason == "InvalidSpec"
    assert "onError 'ignore' is not deny|warn|allow" in pol.error_message


def test_on_error_is_kept_when_an_authority_is_broken() -> None:
    pol = parse.parse_policy(
        obj(spec(onError="allow", authorities=[{"name": "a", "key": {"data": "nope"}}])),
        secrets=no_secrets,
        home_namespace="mw",
    )
    assert not pol.ready
    assert pol.on_error is policy.OnError.ALLOW
