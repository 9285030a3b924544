"""`spec.tuf` of a TrustRoot: the mirror, the initial root (inline, base64 or ConfigMap), the
target and the refresh interval, each refused with the field named when malformed."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from modelward import errors
from modelward.policies import tufspec

ROOT = json.dumps({"signed": {"_type": "root", "version": 1}, "signatures": []})


def no_configmaps(namespace: str, name: str, key: str) -> bytes:
    raise errors.PolicyError(f"ConfigMap {namespace}/{name} does not exist", reason="Missing")


def parse(**over: Any) -> tufspec.TufSource:
    raw = {"mirror": "https://tuf.example/sigstore", "rootJSON": ROOT, **over}
    return tufspec.parse(raw, configmaps=no_configmaps, home_namespace="modelward")


def test_defaults_and_mirror_layout() -> None:
    source = parse()
    assert source.mirror == "https://tuf.example/sigstore/"
    assert source.root == ROOT.encode()
    assert source.target == "trusted_root.json"
    assert source.refresh_seconds == 24 * 3600


def test_root_as_base64_and_from_a_configmap() -> None:
    encoded = base64.b64encode(ROOT.encode()).decode()
    assert parse(rootJSON=encoded[:20] + "\n" + encoded[20:]).root == ROOT.encode()
    asked: list[tuple[str, str, str]] = []

    def configmaps(namespace: str, name: str, key: str) -> bytes:
        asked.append((namespace, name, key))
        return ROOT.encode()

    raw = {"mirror": "http://m.example", "root": {"configMapRef": {"name": "tuf"}}}
    source = tufspec.parse(raw, configmaps=configmaps, home_namespace="modelward")
    assert source.root == ROOT.encode()
    assert asked == [("modelward", "tuf", "root.json")]


def test_fingerprint_follows_the_source() -> None:
    assert parse().fingerprint == parse(refreshInterval="1h").fingerprint
    assert parse().fingerprint != parse(target="other.json").fingerprint
    assert parse().fingerprint != parse(mirror="https://other.example/").fingerprint


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"mirror": "ftp://tuf.example/"}, "tuf.mirror must be an http(s) URL"),
        ({"mirror": "https://u:p@tuf.example/"}, "tuf.mirror must not carry credentials"),
        ({"mirror": "https://tuf.example/?x=1"}, "tuf.mirror must not carry credentials"),
        ({"mirror": "https://" + "a" * 2048}, "tuf.mirror must be an http(s) URL"),
        ({"mirror": None}, "tuf.mirror must be an http(s) URL"),
        ({"target": "../secrets"}, "tuf.target must be a relative path"),
        ({"target": "/abs.json"}, "tuf.target must be a relative path"),
        ({"refreshInterval": "1d"}, "tuf.refreshInterval must be a duration"),
        ({"refreshInterval": "0.5s"}, "tuf.refreshInterval must be between"),
        ({"refreshInterval": "3000h"}, "tuf.refreshInterval must be between"),
        ({"rootJSON": "not base64!"}, "tuf.rootJSON is neither JSON nor base64"),
        ({"rootJSON": "{nope"}, "tuf.root: the initial root.json is not JSON"),
        ({"rootJSON": '{"signed": {"_type": "targets"}}'}, "not TUF root metadata"),
        ({"rootJSON": "{" + " " * 600_000 + "}"}, "larger than"),
        ({"root": {"configMapRef": {"name": "x"}}}, "exactly one of rootJSON or root"),
        ({"rootJSON": ""}, "tuf.rootJSON must be the initial root.json"),
    ],
)
def test_bad_fields_are_named(over: dict[str, Any], message: str) -> None:
    with pytest.raises(errors.PolicyError) as failed:
        parse(**over)
    assert message in failed.value.message
    assert failed.value.reason == "InvalidSpec"


def test_missing_root_configmap_is_reported() -> None:
    raw = {"mirror": "http://m.example", "root": {"configMapRef": {"name": "tuf"}}}
    with pytest.raises(errors.PolicyError, match="ConfigMap modelward/tuf does not exist"):
        tufspec.parse(raw, configmaps=no_configmaps, home_namespace="modelward")


def test_not_an_object() -> None:
    with pytest.raises(errors.PolicyError, match="tuf must be an object"):
        tufspec.parse("https://m/", configmaps=no_configmaps, home_namespace="modelward")
