"""TrustRoot objects become trusted_root.json bytes, or carry the reason they cannot."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelward import errors
from modelward.policies import trustroot_index, trustroots, tufspec
from modelward.trust import roots
from tests.fixtures.sigstore_stack import SigstoreStack


def obj(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "modelward.io/v1alpha1",
        "kind": "TrustRoot",
        "metadata": {"name": "private", "generation": 2},
        "spec": spec,
    }


def no_configmaps(namespace: str, name: str, key: str) -> bytes:
    raise errors.PolicyError(
        f"ConfigMap {namespace}/{name} does not exist", reason="TrustRootUnavailable"
    )


def test_inline_keys_become_a_trusted_root(sigstore_stack: SigstoreStack) -> None:
    document = sigstore_stack.trusted_root()
    del document["mediaType"]
    root = trustroots.parse_trust_root(
        obj(sigstoreKeys=document), configmaps=no_configmaps, home_namespace="mw"
    )
    assert root.ready, root.error_message
    assert roots.load(root.raw, where="x").get_fulcio_certs()[0] == sigstore_stack.intermediate
    assert root.generation == 2


def test_json_and_client_trust_config(sigstore_stack: SigstoreStack) -> None:
    document = sigstore_stack.trusted_root()
    config = {
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "trustedRoot": document,
        "signingConfig": {"mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json"},
    }
    for text in (json.dumps(document), json.dumps(config)):
        root = trustroots.parse_trust_root(
            obj(trustedRootJSON=text), configmaps=no_configmaps, home_namespace="mw"
        )
        assert root.ready, root.error_message


def test_configmap_is_read_in_the_given_or_home_namespace(sigstore_stack: SigstoreStack) -> None:
    raw = json.dumps(sigstore_stack.trusted_root()).encode()
    asked: list[tuple[str, str, str]] = []

    def configmaps(namespace: str, name: str, key: str) -> bytes:
        asked.append((namespace, name, key))
        return raw

    for ref in ({"name": "sigstore"}, {"name": "sigstore", "namespace": "infra", "key": "r"}):
        root = trustroots.parse_trust_root(
            obj(configMapRef=ref), configmaps=configmaps, home_namespace="mw"
        )
        assert root.raw == raw
    assert asked == [("mw", "sigstore", "trusted_root.json"), ("infra", "sigstore", "r")]


@pytest.mark.parametrize(
    ("spec", "reason", "message"),
    [
        ({}, "InvalidSpec", "exactly one of sigstoreKeys, trustedRootJSON, configMapRef"),
        ({"trustedRootJSON": "{}", "configMapRef": {"name": "x"}}, "InvalidSpec", "exactly one"),
        ({"trustedRootJSON": "not json"}, "InvalidTrustRoot", "not a usable Sigstore"),
        ({"trustedRootJSON": '{"mediaType": "x"}'}, "InvalidTrustRoot", "TrustRoot 'private'"),
        ({"sigstoreKeys": {"tlogs": []}}, "InvalidTrustRoot", "certificateAuthorities"),
        ({"configMapRef": {}}, "InvalidSpec", "configMapRef needs a name"),
        ({"configMapRef": {"name": "gone"}}, "TrustRootUnavailable", "mw/gone does not exist"),
    ],
)
def test_bad_trust_roots_are_not_ready(spec: dict[str, Any], reason: str, message: str) -> None:
    root = trustroots.parse_trust_root(obj(**spec), configmaps=no_configmaps, home_namespace="mw")
    assert not root.ready
    assert root.error_reason == reason
    assert message in root.error_message


def test_index_reads_ready_roots_and_names_the_others(sigstore_stack: SigstoreStack) -> None:
    index = trustroot_index.TrustRootIndex()
    with pytest.raises(errors.PolicyError, match="TrustRoot 'private' does not exist") as e:
        index.read("private")
    assert e.value.reason == "TrustRootNotFound"
    index.put(trustroots.TrustRoot("private", 1, error_reason="X", error_message="broken"))
    with pytest.raises(errors.PolicyError, match="is not ready: broken") as e:
        index.read("private")
    assert e.value.reason == "TrustRootUnavailable"
    index.put(trustroots.TrustRoot("private", 2, raw=b"{}"))
    assert index.read("private") == b"{}"
    index.remove("private")
    with pytest.raises(errors.PolicyError):
        index.read("private")


def test_dependants_are_the_policies_naming_the_root() -> None:
    def policy(name: str, ref: str | None) -> dict[str, Any]:
        keyless: dict[str, Any] = {"issuer": "i", "subject": "s"}
        if ref:
            keyless["trustRootRef"] = ref
        return {
            "metadata": {"name": name},
            "spec": {"authorities": [{"name": "a", "keyless": keyless}, {"name": "b", "key": {}}]},
        }

    bodies = [policy("a", "private"), policy("b", None), policy("c", "other")]
    assert [b["metadata"]["name"] for b in trustroot_index.dependants(bodies, "private")] == ["a"]


def test_deeply_nested_trusted_root_is_refused_not_raised() -> None:
    text = "[" * 100_000 + "]" * 100_000
    root = trustroots.parse_trust_root(
        obj(trustedRootJSON=text), configmaps=no_configmaps, home_namespace="mw"
    )
    assert root.error_reason == "InvalidTrustRoot"


def test_oversized_trusted_root_is_refused() -> None:
    text = '{"mediaType": "' + "x" * (roots.MAX_ROOT_BYTES + 1) + '"}'
    root = trustroots.parse_trust_root(
        obj(trustedRootJSON=text), configmaps=no_configmaps, home_namespace="mw"
    )
    assert root.error_reason == "InvalidTrustRoot"
    assert "larger than" in root.error_message


TUF_ROOT = json.dumps({"signed": {"_type": "root", "version": 1}, "signatures": []})
TUF_SPEC = {"mirror": "https://tuf.example/", "rootJSON": TUF_ROOT, "refreshInterval": "1h"}


def test_tuf_source_is_handed_to_the_loader(sigstore_stack: SigstoreStack) -> None:
    raw = json.dumps(sigstore_stack.trusted_root()).encode()
    asked: list[tuple[str, str, float]] = []

    def loader(name: str, source: tufspec.TufSource) -> bytes:
        asked.append((name, source.mirror, source.refresh_seconds))
        return raw

    root = trustroots.parse_trust_root(
        obj(tuf=TUF_SPEC), configmaps=no_configmaps, home_namespace="mw", tuf=loader
    )
    assert root.ready, root.error_message
    assert root.raw == raw
    assert asked == [("private", "https://tuf.example/", 3600.0)]


def test_failed_tuf_refresh_keeps_the_last_good_root_and_says_why(
    sigstore_stack: SigstoreStack,
) -> None:
    raw = json.dumps(sigstore_stack.trusted_root()).encode()

    def stale(name: str, source: tufspec.TufSource) -> bytes:
        raise errors.TrustRootRefreshFailed(
            "mirror down; the last good root stays in use",
            reason="TUFMirrorUnavailable",
            last_good=raw,
        )

    root = trustroots.parse_trust_root(
        obj(tuf=TUF_SPEC), configmaps=no_configmaps, home_namespace="mw", tuf=stale
    )
    assert not root.ready
    assert root.error_reason == "TUFMirrorUnavailable"
    index = trustroot_index.TrustRootIndex()
    index.put(root)
    assert index.read("private") == raw


def test_failed_first_tuf_load_is_not_usable() -> None:
    def down(name: str, source: tufspec.TufSource) -> bytes:
        raise errors.TrustRootRefreshFailed("mirror down", reason="TUFMirrorUnavailable")

    root = trustroots.parse_trust_root(
        obj(tuf=TUF_SPEC), configmaps=no_configmaps, home_namespace="mw", tuf=down
    )
    index = trustroot_index.TrustRootIndex()
    index.put(root)
    with pytest.raises(errors.PolicyError, match="not ready: mirror down"):
        index.read("private")


def test_tuf_without_a_loader_is_refused() -> None:
    root = trustroots.parse_trust_root(
        obj(tuf=TUF_SPEC), configmaps=no_configmaps, home_namespace="mw"
    )
    assert root.error_reason == "InvalidSpec"
    assert "fetched by the operator" in root.error_message
