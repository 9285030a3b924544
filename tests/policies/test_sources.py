"""`spec.sources`: allowances only in cluster policies, a valid Hugging Face endpoint."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from modelward.policies import parse

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
    return parse.parse_policy(obj, secrets=lambda *a: b"", home_namespace="modelward")


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
