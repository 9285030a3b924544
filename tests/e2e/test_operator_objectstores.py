"""The real Kopf operator with s3:// models on SeaweedFS: credentials come from Secrets that
policies name, through the Kubernetes API, and stay within their namespace."""

from __future__ import annotations

import asyncio
import base64
import json
import pathlib
from typing import Any

import pytest

from tests.fixtures import signing
from tests.fixtures.kube import OperatorHandle, wait_condition
from tests.fixtures.s3 import SeaweedS3

API = "modelward.io/v1alpha1"


@pytest.fixture
def key(tmp_path: pathlib.Path) -> signing.KeyPair:
    return signing.make_ec_key(tmp_path, "ml-release")


@pytest.fixture
def model_uri(
    tmp_path: pathlib.Path, s3_server: SeaweedS3, bert_model: pathlib.Path, key: signing.KeyPair
) -> str:
    bucket = s3_server.new_bucket()
    s3_server.put_directory(bucket, "bert/", bert_model)
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    s3_server.put_file(bucket, "bert/model.sig", sig)
    return f"s3://{bucket}/bert"


def policy(
    name: str,
    key: signing.KeyPair,
    s3_server: SeaweedS3,
    *,
    namespace: str | None = None,
    secret: dict[str, str] | None = None,
) -> dict[str, Any]:
    sources: dict[str, Any] = {"s3": {"endpoint": s3_server.url}}
    if secret is not None:
        sources["credentials"] = [{"scheme": "s3", "secretRef": secret}]
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "apiVersion": API,
        "kind": "ModelPolicy" if namespace else "ClusterModelPolicy",
        "metadata": metadata,
        "spec": {
            "models": [{"glob": "s3://**"}],
            "authorities": [{"name": "ml-release", "key": {"data": key.public_pem.decode()}}],
            "sources": sources,
        },
    }


def isvc(uri: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "bert", "namespace": namespace},
        "spec": {
            "predictor": {"model": {"modelFormat": {"name": "huggingface"}, "storageUri": uri}}
        },
    }


async def create(operator: OperatorHandle, *objs: dict[str, Any]) -> None:
    for obj in objs:
        await asyncio.to_thread(operator.api.create, obj)


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def s3_secret(name: str, ns: str, server: SeaweedS3) -> dict[str, Any]:
    data = {
        "AWS_ACCESS_KEY_ID": server.access_key,
        "AWS_SECRET_ACCESS_KEY": server.secret_key,
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": ns},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


async def decide(operator: OperatorHandle, uri: str, ns: str) -> dict[str, Any]:
    answer = await operator.review(isvc(uri, ns))
    response: dict[str, Any] = answer["response"]
    return response


async def test_cluster_policy_credentials_admit_a_signed_bucket_model(
    operator, s3_server, key, model_uri
) -> None:  # type: ignore[no-untyped-def]
    await create(operator, namespace("modelward"), s3_secret("s3-reader", "modelward", s3_server))
    await create(operator, policy("s3-models", key, s3_server, secret={"name": "s3-reader"}))
    ready = await operator.wait_policy_ready("s3-models")
    assert s3_server.secret_key not in json.dumps(ready)
    res = await decide(operator, model_uri, "ml")
    assert res["allowed"] is True, res.get("status")


async def test_a_namespace_never_gets_another_namespaces_credentials(
    operator, s3_server, key, model_uri
) -> None:  # type: ignore[no-untyped-def]
    await create(operator, namespace("team-a"), namespace("team-b"))
    await create(operator, s3_secret("bucket-keys", "team-b", s3_server))
    team_b = policy(
        "team-b-models", key, s3_server, namespace="team-b", secret={"name": "bucket-keys"}
    )
    await create(operator, team_b, policy("everyone", key, s3_server))
    await operator.wait_policy_ready("team-b-models", namespace="team-b")
    await operator.wait_policy_ready("everyone")
    assert (await decide(operator, model_uri, "team-b"))["allowed"] is True
    denied = await decide(operator, model_uri, "team-a")
    assert denied["allowed"] is False
    message = denied["status"]["message"]
    assert "HTTP 403" in message
    assert "spec.sources.credentials (scheme s3)" in message
    assert s3_server.secret_key not in message
    assert s3_server.access_key not in message


async def test_model_policy_naming_another_namespaces_secret_is_not_ready(
    operator, s3_server, key
) -> None:  # type: ignore[no-untyped-def]
    await create(operator, namespace("team-a"), namespace("team-b"))
    await create(operator, s3_secret("bucket-keys", "team-b", s3_server))
    steal = policy(
        "steal",
        key,
        s3_server,
        namespace="team-a",
        secret={"name": "bucket-keys", "namespace": "team-b"},
    )
    await create(operator, steal)
    obj = await wait_condition(operator.api, API, "ModelPolicy", "steal", "team-a", status="False")
    condition = obj["status"]["conditions"][0]
    assert condition["reason"] == "SecretOutOfNamespace"
