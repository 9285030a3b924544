"""`spec.sources`: allowances only in cluster policies, a valid Hugging Face endpoint,
object-store endpoints, credentials from Secrets, and the namespace rule."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from modelward import errors
from modelward.policies import parse as parse_
from modelward.policies import sources
from modelward.structs import access

SECRETS = {
    ("modelward", "s3-keys"): {"AWS_ACCESS_KEY_ID": b"AKID", "AWS_SECRET_ACCESS_KEY": b"s3cr3t"},
    ("team-a", "s3-keys"): {
        "AWS_ACCESS_KEY_ID": b"AKID-A",
        "AWS_SECRET_ACCESS_KEY": b"s3cr3t-a",
        "AWS_SESSION_TOKEN": b"tok-a",
    },
    ("modelward", "gcs"): {"token": b"ya29.token\n"},
    ("modelward", "empty"): {"AWS_ACCESS_KEY_ID": b"", "AWS_SECRET_ACCESS_KEY": b"x"},
}


def read(namespace: str, name: str, key: str) -> bytes:
    try:
        return SECRETS[(namespace, name)][key]
    except KeyError:
        raise errors.PolicyError(
            f"Secret {namespace}/{name} has no key {key!r}", reason="SecretNotFound"
        ) from None


def parse(raw: Any, own_namespace: str | None = None) -> access.SourceAccess:
    return sources.parse_sources(
        raw, secrets=read, home_namespace="modelward", own_namespace=own_namespace
    )


def cred(scheme: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    ref = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"scheme": scheme, "secretRef": ref}


def test_nothing_configured() -> None:
    assert parse(None) == access.SourceAccess()
    assert not parse({}).configures("s3")


def test_cluster_policy_reads_modelwards_namespace() -> None:
    got = parse(
        {
            "s3": {
                "endpoint": "http://minio:9000/",
                "region": "eu-west-1",
                "forcePathStyle": False,
            },
            "gcs": {"endpoint": "https://gcs.internal"},
            "credentials": [cred("s3", "s3-keys"), cred("gs", "gcs")],
        }
    )
    assert got.endpoint("s3") == access.Endpoint(
        url="http://minio:9000", region="eu-west-1", force_path_style=False
    )
    assert got.endpoint("gs") == access.Endpoint(url="https://gcs.internal")
    s3 = got.secret("s3")
    assert s3 is not None
    assert dict(s3.values) == {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s3cr3t"}
    assert s3.origin == "Secret modelward/s3-keys"
    gs = got.secret("gs")
    assert gs is not None
    assert dict(gs.values) == {"token": "ya29.token"}


def test_model_policy_reads_its_own_namespace_with_the_session_token() -> None:
    got = parse({"credentials": [cred("s3", "s3-keys")]}, own_namespace="team-a")
    secret = got.secret("s3")
    assert secret is not None
    assert dict(secret.values)["AWS_SESSION_TOKEN"] == "tok-a"
    assert secret.origin == "Secret team-a/s3-keys"


def test_values_never_show_in_a_repr() -> None:
    got = parse({"credentials": [cred("s3", "s3-keys")]}, own_namespace="team-a")
    for text in (repr(got), str(got), repr(got.credentials)):
        assert "s3cr3t-a" not in text
        assert "AKID-A" not in text
        assert "tok-a" not in text
    assert "AWS_SECRET_ACCESS_KEY" in repr(got)


@pytest.mark.parametrize(
    ("raw", "own", "reason", "message"),
    [
        ("x", None, "InvalidSpec", "sources must be an object"),
        ({"credentials": {}}, None, "InvalidSpec", "must be a list"),
        ({"credentials": [cred("ftp", "x")]}, None, "InvalidSpec", "scheme must be one of gs, s3"),
        (
            {"credentials": [cred("s3", "s3-keys"), cred("s3", "s3-keys")]},
            None,
            "InvalidSpec",
            "scheme s3 has credentials twice",
        ),
        ({"credentials": [{"scheme": "s3"}]}, None, "InvalidSpec", "secretRef needs a name"),
        (
            {"credentials": [cred("s3", "s3-keys", "team-a")]},
            None,
            "SecretOutOfNamespace",
            "a ClusterModelPolicy may only use Secrets in namespace 'modelward', not 'team-a'",
        ),
        (
            {"credentials": [cred("s3", "s3-keys", "modelward")]},
            "team-a",
            "SecretOutOfNamespace",
            "a ModelPolicy may only use Secrets in namespace 'team-a', not 'modelward'",
        ),
        ({"credentials": [cred("s3", "missing")]}, None, "SecretNotFound", "no key"),
        (
            {"credentials": [cred("gs", "s3-keys")]},
            None,
            "SecretNotFound",
            "none of the keys token, key.json",
        ),
        ({"credentials": [cred("s3", "empty")]}, None, "SecretNotFound", "is empty"),
        ({"s3": {"endpoint": "ftp://x"}}, None, "InvalidSpec", "endpoint must be an http(s) URL"),
        (
            {"s3": {"endpoint": "https://u:p@host"}},
            None,
            "InvalidSpec",
            "endpoint must be an http(s) URL",
        ),
        ({"gcs": {"endpoint": "https://h/p?x"}}, None, "InvalidSpec", "endpoint must be"),
        ({"s3": {"region": "Not A Region"}}, None, "InvalidSpec", "region must be"),
        ({"s3": {"forcePathStyle": "yes"}}, None, "InvalidSpec", "true or false"),
        ({"s3": []}, None, "InvalidSpec", "sources.s3 must be an object"),
    ],
)
def test_bad_sources(raw: Any, own: str | None, reason: str, message: str) -> None:
    with pytest.raises(errors.PolicyError) as caught:
        parse(raw, own_namespace=own)
    assert caught.value.reason == reason
    assert message in caught.value.message
    assert "s3cr3t" not in caught.value.message


def test_out_of_namespace_secret_is_never_read() -> None:
    touched: list[tuple[str, str, str]] = []

    def spy(namespace: str, name: str, key: str) -> bytes:
        touched.append((namespace, name, key))
        return b"x"

    with pytest.raises(errors.PolicyError):
        sources.parse_sources(
            {"credentials": [cred("s3", "keys", "team-b")]},
            secrets=spy,
            home_namespace="modelward",
            own_namespace="team-a",
        )
    assert touched == []


PEM = (
    ec.generate_private_key(ec.SECP256R1())
    .public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


def parsed(kind: str, sources: Any) -> Any:
    obj = {
        "apiVersion": "modelward.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": "p", "namespace": "ml", "uid": "u", "generation": 1},
        "spec": {
            "models": [{"glob": "**"}],
            "authorities": [{"name": "k", "key": {"data": PEM}}],
            "sources": sources,
        },
    }
    return parse_.parse_policy(obj, secrets=read, home_namespace="modelward")


def test_cluster_policy_allowances_and_endpoint() -> None:
    pol = parsed(
        "ClusterModelPolicy",
        {"allow": ["10.0.0.0/8", "minio.storage.svc"], "hf": {"endpoint": "https://hub.corp/"}},
    )
    assert pol.ready, pol.error_message
    assert pol.sources.allow.networks == (ipaddress.ip_network("10.0.0.0/8"),)
    assert pol.sources.allow.hosts == frozenset({"minio.storage.svc"})
    assert pol.sources.hf_endpoint == "https://hub.corp"


@pytest.mark.parametrize(
    ("kind", "sources", "text"),
    [
        ("ModelPolicy", {"allow": ["10.0.0.0/8"]}, "only honoured in a ClusterModelPolicy"),
        ("ClusterModelPolicy", {"allow": "10.0.0.0/8"}, "must be a list"),
        ("ClusterModelPolicy", {"allow": ["http://x"]}, "neither a CIDR"),
        ("ClusterModelPolicy", {"hf": {"endpoint": "ftp://hub"}}, "must be an http(s) URL"),
        ("ClusterModelPolicy", {"hf": {"endpoint": "https://hub?x=1"}}, "must be an http(s) URL"),
        ("ClusterModelPolicy", [], "sources must be an object"),
    ],
)
def test_bad_sources_make_the_policy_not_ready(kind: str, sources: Any, text: str) -> None:
    pol = parsed(kind, sources)
    assert not pol.ready
    assert text in pol.error_message
    assert pol.globs == ("**",), "what it governs must still be denied with its problem"


def test_namespaced_policy_may_name_a_hub_endpoint() -> None:
    pol = parsed("ModelPolicy", {"hf": {"endpoint": "http://hub.ml.svc:8080"}})
    assert pol.ready, pol.error_message
    assert pol.sources.hf_endpoint == "http://hub.ml.svc:8080"


def test_one_cluster_policy_sets_every_part() -> None:
    pol = parsed(
        "ClusterModelPolicy",
        {
            "allow": ["minio.storage.svc"],
            "hf": {"endpoint": "https://hub.corp"},
            "s3": {"endpoint": "http://minio.storage.svc:9000"},
            "credentials": [cred("s3", "s3-keys")],
        },
    )
    assert pol.ready, pol.error_message
    assert pol.sources.allow.hosts == frozenset({"minio.storage.svc"})
    assert pol.sources.hf_endpoint == "https://hub.corp"
    assert pol.sources.endpoint("s3") == access.Endpoint(url="http://minio.storage.svc:9000")
    secret = pol.sources.secret("s3")
    assert secret is not None
    assert secret.origin == "Secret modelward/s3-keys"


def test_model_policy_with_another_namespaces_secret_is_not_ready() -> None:
    pol = parsed("ModelPolicy", {"credentials": [cred("s3", "s3-keys", "modelward")]})
    assert not pol.ready
    assert pol.error_reason == "SecretOutOfNamespace"
    assert "may only use Secrets in namespace 'ml'" in pol.error_message
