from __future__ import annotations

import json
from typing import Any

import pytest

from modelward import errors
from modelward.policies import parse, scan
from modelward.scanners.base import Severity
from tests.fixtures import signing

D1 = "sha256:" + "a" * 64
D2 = "sha256:" + "b" * 64


def _policy(
    spec: dict[str, Any], *, kind: str = "ClusterModelPolicy", configmaps: Any = None, key: Any
) -> Any:
    obj = {
        "kind": kind,
        "metadata": {"name": "p", "namespace": "team", "uid": "u", "generation": 1},
        "spec": {
            "models": [{"glob": "**"}],
            "authorities": [{"name": "a", "key": {"data": key.public_path.read_text()}}],
            **spec,
        },
    }
    return parse.parse_policy(
        obj, secrets=lambda *a: b"", home_namespace="modelward", configmaps=configmaps
    )


@pytest.fixture
def key(tmp_path):  # type: ignore[no-untyped-def]
    return signing.make_ec_key(tmp_path, "k")


def test_defaults_and_fields(key) -> None:  # type: ignore[no-untyped-def]
    pol = _policy({"scan": {}}, key=key)
    assert pol.ready
    assert pol.needs_content
    assert pol.scan.fail_on is Severity.HIGH
    assert not _policy({}, key=key).needs_content
    pol = _policy(
        {
            "scan": {
                "failOn": "medium",
                "exceptions": [{"rule": "pickle.unsafe-global", "digest": D1, "reason": "vetted"}],
                "attestations": {
                    "authorities": [{"name": "ci", "key": {"data": key.public_path.read_text()}}],
                    "maxAge": "1h30m",
                },
            }
        },
        key=key,
    )
    assert pol.scan.fail_on is Severity.MEDIUM
    assert pol.scan.exceptions[0].rule == "pickle.unsafe-global"
    assert pol.scan.attestations.max_age_seconds == 5400
    assert pol.scan.attestations.authorities[0].name == "ci"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"scan": {"failOn": "severe"}}, "scan.failOn"),
        (
            {"scan": {"exceptions": [{"rule": "x.y", "digest": "sha256:1", "reason": "r"}]}},
            "digest",
        ),
        ({"scan": {"exceptions": [{"rule": "x.y", "digest": D1}]}}, "reason"),
        ({"scan": {"attestations": {"authorities": []}}}, "scan.attestations.authorities"),
        (
            {
                "scan": {
                    "attestations": {
                        "authorities": [{"name": "a", "key": {"data": "KEY"}}],
                        "maxAge": "1d",
                    }
                }
            },
            "maxAge",
        ),
        ({"knownBad": {"digests": [{"digest": "md5:1"}]}}, "knownBad.digests[0]"),
        ({"knownBad": {"digests": 5}}, "knownBad.digests must be a list"),
        ({"scan": {"exceptions": 5}}, "scan.exceptions must be a list"),
        ({"scan": []}, "scan must be an object"),
        (
            {
                "scan": {
                    "attestations": {"authorities": [{"name": "s", "static": {"action": "pass"}}]}
                }
            },
            "must be a key or a certificate authority",
        ),
        ({"knownBad": {"configMapRef": {"name": "feed", "key": "k"}}}, "cannot be read here"),
    ],
)
def test_invalid_specs_make_the_policy_not_ready(key, spec, message) -> None:  # type: ignore[no-untyped-def]
    spec = json.loads(json.dumps(spec).replace('"KEY"', json.dumps(key.public_path.read_text())))
    pol = _policy(spec, key=key)
    assert not pol.ready
    assert message in pol.error_message
    assert pol.globs  # what it governs is denied with the problem, never admitted


def test_known_bad_feed_from_a_configmap(key) -> None:  # type: ignore[no-untyped-def]
    reads = []

    def configmaps(namespace: str, name: str, k: str) -> bytes:
        reads.append((namespace, name, k))
        return f"# feed\n{D1} trojan found\n\n{D2}\n".encode()

    pol = _policy(
        {
            "knownBad": {
                "digests": [{"digest": D2, "reason": "inline"}],
                "configMapRef": {"name": "feed", "key": "digests"},
            }
        },
        configmaps=configmaps,
        key=key,
    )
    assert pol.ready, pol.error_message
    assert reads == [("modelward", "feed", "digests")]
    assert [(k.digest, k.reason) for k in pol.known_bad] == [
        (D2, "inline"),
        (D1, "trojan found"),
        (D2, "listed as known bad"),
    ]


def test_a_model_policy_reads_only_its_own_namespace(key) -> None:  # type: ignore[no-untyped-def]
    def configmaps(namespace: str, name: str, k: str) -> bytes:
        return D1.encode()

    ref = {"knownBad": {"configMapRef": {"name": "feed", "key": "k", "namespace": "other"}}}
    pol = _policy(ref, kind="ModelPolicy", configmaps=configmaps, key=key)
    assert pol.error_reason == "ConfigMapOutOfNamespace"
    own = _policy(
        {"knownBad": {"configMapRef": {"name": "feed", "key": "k"}}},
        kind="ModelPolicy",
        configmaps=lambda ns, n, k: f"{D1} {ns}".encode(),
        key=key,
    )
    assert own.known_bad[0].reason == "team"


def test_bad_feed_line_is_named() -> None:
    with pytest.raises(errors.PolicyError, match="line 2"):
        scan.parse_feed(f"{D1}\nnot-a-digest\n", "feed")


def test_revision_changes_with_scan_settings(key) -> None:  # type: ignore[no-untyped-def]
    a = _policy({"scan": {"failOn": "high"}}, key=key)
    b = _policy({"scan": {"failOn": "low"}}, key=key)
    c = _policy({"knownBad": {"digests": [{"digest": D1}]}}, key=key)
    assert len({a.revision, b.revision, c.revision}) == 3


@pytest.mark.parametrize(
    ("text", "seconds"), [("720h", 2592000), ("90m", 5400), ("1h30m10s", 5410)]
)
def test_durations(text: str, seconds: float) -> None:
    assert scan.duration(text, "x") == seconds
