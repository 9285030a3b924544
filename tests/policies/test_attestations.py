"""Parsing `spec.attestations`: names, authorities, conditions, paths, ConfigMap allowlists,
bounds, and the policy fingerprint that cached verdicts depend on."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from modelward import errors
from modelward.policies import attestations, parse
from modelward.structs import attesting, policy
from tests.fixtures import signing

SLSA = "https://slsa.dev/provenance/v1"


@pytest.fixture
def key(tmp_path: pathlib.Path) -> signing.KeyPair:
    return signing.make_ec_key(tmp_path, "ci")


def _policy(
    key: signing.KeyPair,
    spec_attestations: Any,
    *,
    kind: str = "ClusterModelPolicy",
    configmaps: Any = None,
    authorities: list[dict[str, Any]] | None = None,
) -> policy.Policy:
    pem = key.public_path.read_text()
    obj = {
        "kind": kind,
        "metadata": {"name": "p", "namespace": "team", "uid": "u", "generation": 1},
        "spec": {
            "models": [{"glob": "**"}],
            "authorities": authorities
            or [{"name": "ci", "key": {"data": pem}}, {"name": "ml", "key": {"data": pem}}],
            "attestations": spec_attestations,
        },
    }
    return parse.parse_policy(
        obj, secrets=lambda *a: b"", home_namespace="modelward", configmaps=configmaps
    )


def test_full_requirement(key: signing.KeyPair) -> None:
    pol = _policy(
        key,
        [
            {
                "name": "provenance",
                "predicateType": SLSA,
                "authorities": ["ci"],
                "maxAge": "720h",
                "conditions": [
                    {"path": "runDetails.builder.id", "equals": "https://ci.test/b"},
                    {"path": "buildDefinition.externalParameters.workflow.ref", "matches": "^v"},
                    {"path": "datasets[*].digest.sha256", "in": ["bb", "aa", "aa"]},
                ],
            },
            {"name": "data", "predicateType": "https://example.test/data/v1"},
        ],
    )
    assert pol.ready, pol.error_message
    provenance, data = pol.attestations
    assert provenance.authorities == ("ci",)
    assert provenance.max_age_seconds == 720 * 3600
    assert provenance.time_paths[0].text == "runDetails.metadata.finishedOn"
    equals, matches, allow = provenance.conditions
    assert equals.path.steps == ("runDetails", "builder", "id")
    assert (equals.op, equals.value) == (attesting.Op.EQUALS, "https://ci.test/b")
    assert matches.op is attesting.Op.MATCHES
    assert allow.path.steps == ("datasets", None, "digest", "sha256")
    assert allow.allowed == ("aa", "bb")
    # Omitted authorities: every verifying authority of the policy.
    assert data.authorities == ("ci", "ml")
    assert data.max_age_seconds is None
    assert data.conditions == ()


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"predicateType": SLSA}, "name must be a lowercase DNS label"),
        ({"name": "p"}, "predicateType must be a URI"),
        ({"name": "p", "predicateType": SLSA, "authorities": ["nobody"]}, "'nobody' is not a key"),
        ({"name": "p", "predicateType": SLSA, "authorities": []}, "authorities must list names"),
        ({"name": "p", "predicateType": SLSA, "maxAge": "a week"}, "maxAge must be a duration"),
        (
            {"name": "p", "predicateType": SLSA, "conditions": [{"path": "a"}]},
            "needs exactly one of equals, matches, in, inConfigMap",
        ),
        (
            {
                "name": "p",
                "predicateType": SLSA,
                "conditions": [{"path": "a", "equals": "x", "in": ["x"]}],
            },
            "needs exactly one of",
        ),
        (
            {"name": "p", "predicateType": SLSA, "conditions": [{"path": "a", "matches": "("}]},
            "not a valid regular expression",
        ),
        (
            {
                "name": "p",
                "predicateType": SLSA,
                "conditions": [{"path": "a", "matches": r"(a)\1"}],
            },
            "not a valid regular expression",
        ),
        (
            {
                "name": "p",
                "predicateType": SLSA,
                "conditions": [{"path": "a", "matches": "a" * 257}],
            },
            "at most 256 characters",
        ),
        (
            {"name": "p", "predicateType": SLSA, "conditions": [{"path": "a", "in": []}]},
            "in must list 1 to 1024 strings",
        ),
        (
            {"name": "p", "predicateType": SLSA, "conditions": [{"path": "a", "equals": 3}]},
            "equals must be a string",
        ),
        (
            {"name": "p", "predicateType": SLSA, "conditions": [{"path": "a", "equals": "x"}] * 33},
            "at most 32 entries",
        ),
    ],
)
def test_rejected(key: signing.KeyPair, spec: dict[str, Any], problem: str) -> None:
    pol = _policy(key, [spec])
    assert not pol.ready
    assert pol.error_reason == "InvalidSpec"
    assert problem in pol.error_message


@pytest.mark.parametrize(
    "path",
    ["", "a..b", "a.[*]", "a[-1]", "a[x]", "a]", "a[*", "." * 3, "a." * 40 + "a", "x" * 257],
)
def test_bad_paths(path: str) -> None:
    with pytest.raises(errors.PolicyError):
        attestations.parse_path(path, "path")


@pytest.mark.parametrize(
    ("path", "steps"),
    [
        ("a", ("a",)),
        ("[*].x", (None, "x")),
        ("a[0][*].b-c_d", ("a", 0, None, "b-c_d")),
        ("predicate.https://x", ("predicate", "https://x")),
    ],
)
def test_paths(path: str, steps: tuple[attesting.Step, ...]) -> None:
    assert attestations.parse_path(path, "path").steps == steps


def test_too_many_attestations_and_duplicate_names(key: signing.KeyPair) -> None:
    many = [{"name": f"a{i}", "predicateType": SLSA} for i in range(17)]
    assert "at most 16" in _policy(key, many).error_message
    twice = [{"name": "a", "predicateType": SLSA}] * 2
    assert "used twice" in _policy(key, twice).error_message


def test_a_static_policy_cannot_require_attestations(key: signing.KeyPair) -> None:
    pol = _policy(
        key,
        [{"name": "p", "predicateType": SLSA}],
        authorities=[{"name": "allow", "static": {"action": "pass"}}],
    )
    assert not pol.ready
    assert "no key, certificate or keyless authority" in pol.error_message


@pytest.mark.parametrize(
    ("kind", "namespace"), [("ClusterModelPolicy", "modelward"), ("ModelPolicy", "team")]
)
def test_allowlist_from_a_configmap_of_the_home_namespace(
    key: signing.KeyPair, kind: str, namespace: str
) -> None:
    read: list[tuple[str, str, str]] = []

    def configmaps(ns: str, name: str, entry: str) -> bytes:
        read.append((ns, name, entry))
        return b"# approved datasets\naa\n\n  bb  \n"

    condition = {"path": "datasets[*].digest.sha256", "inConfigMap": {"name": "ok", "key": "list"}}
    pol = _policy(
        key,
        [{"name": "data", "predicateType": SLSA, "conditions": [condition]}],
        kind=kind,
        configmaps=configmaps,
    )
    assert pol.ready, pol.error_message
    assert read == [(namespace, "ok", "list")]
    (allow,) = pol.attestations[0].conditions
    assert allow.allowed == ("aa", "bb")
    assert allow.origin == f"the allowlist in ConfigMap {namespace}/ok key list"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"# nothing\n", "lists no value"),
        (b"\xff\xfe", "not UTF-8"),
        (b"a\n" * (attestations.MAX_LIST_ENTRIES + 1), "more than"),
    ],
)
def test_bad_configmap_lists(key: signing.KeyPair, data: bytes, problem: str) -> None:
    condition = {"path": "x", "inConfigMap": {"name": "ok", "key": "list"}}
    pol = _policy(
        key,
        [{"name": "data", "predicateType": SLSA, "conditions": [condition]}],
        configmaps=lambda *a: data,
    )
    assert problem in pol.error_message


def test_unreadable_configmap(key: signing.KeyPair) -> None:
    condition = {"path": "x", "inConfigMap": {"name": "ok", "key": "list"}}
    pol = _policy(key, [{"name": "data", "predicateType": SLSA, "conditions": [condition]}])
    assert pol.error_reason == "ConfigMapNotFound"


def test_fingerprint_follows_the_attestations(key: signing.KeyPair) -> None:
    def revision(value: str) -> str:
        condition = {"path": "runDetails.builder.id", "equals": value}
        spec = [{"name": "p", "predicateType": SLSA, "conditions": [condition]}]
        return _policy(key, spec).revision

    assert revision("a") == revision("a")
    assert revision("a") != revision("b")
    assert _policy(key, None).revision != revision("a")


def test_inline_authorities(key: signing.KeyPair, tmp_path: pathlib.Path) -> None:
    builder = signing.make_ec_key(tmp_path, "builder").public_path.read_text()
    inline = [{"name": "builder", "key": {"data": builder}}]
    only = _policy(key, [{"name": "p", "predicateType": SLSA, "inlineAuthorities": inline}])
    assert only.ready, only.error_message
    (req,) = only.attestations
    assert req.authorities == ("builder",)
    assert [(a.name, a.type, a.pem.decode()) for a in req.inline] == [
        ("builder", policy.AuthorityType.KEY, builder)
    ]
    both = _policy(
        key,
        [{"name": "p", "predicateType": SLSA, "authorities": ["ci"], "inlineAuthorities": inline}],
    )
    assert both.attestations[0].authorities == ("ci", "builder")
    assert both.revision != only.revision


@pytest.mark.parametrize(
    ("inline", "problem"),
    [
        ([{"name": "ci", "key": {"data": "PEM"}}], "has the name of one of the policy's"),
        ([{"name": "x", "static": {"action": "pass"}}], "must be a key or a certificate"),
        ([{"name": "x", "key": {"data": "not a key"}}], "not a PEM public key"),
        (
            [{"name": "x", "key": {"secretRef": {"name": "s", "key": "k", "namespace": "other"}}}],
            "only reference Secrets in its own namespace",
        ),
    ],
)
def test_bad_inline_authorities(key: signing.KeyPair, inline: Any, problem: str) -> None:
    if inline[0]["name"] == "ci":
        inline[0]["key"]["data"] = key.public_path.read_text()
    pol = _policy(
        key,
        [{"name": "p", "predicateType": SLSA, "inlineAuthorities": inline}],
        kind="ModelPolicy",
    )
    assert not pol.ready
    assert problem in pol.error_message


def test_inline_authority_names_are_unique_across_attestations(
    key: signing.KeyPair, tmp_path: pathlib.Path
) -> None:
    a = signing.make_ec_key(tmp_path, "a").public_path.read_text()
    b = signing.make_ec_key(tmp_path, "b").public_path.read_text()
    pol = _policy(
        key,
        [
            {
                "name": "p",
                "predicateType": SLSA,
                "inlineAuthorities": [{"name": "x", "key": {"data": a}}],
            },
            {
                "name": "q",
                "predicateType": SLSA,
                "inlineAuthorities": [{"name": "x", "key": {"data": b}}],
            },
        ],
    )
    assert "also used under another attestation" in pol.error_message
