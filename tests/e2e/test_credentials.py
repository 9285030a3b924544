"""Registry logins come from the workload's own pull Secrets and service account, in its own
namespace only: real HTTPS AdmissionReviews, a registry that demands credentials."""

from __future__ import annotations

import asyncio
import base64
import json
import pathlib
from typing import Any

import pytest

from tests.e2e.test_operator import apply_policy, cluster_policy, response
from tests.fixtures import ocipush, signing
from tests.fixtures.kube import OperatorHandle
from tests.fixtures.registry import Registry


@pytest.fixture
def operator_settings(registry_auth: Registry) -> dict[str, Any]:
    return {"insecure_registries": frozenset({registry_auth.host})}


@pytest.fixture
def key(tmp_path: pathlib.Path) -> signing.KeyPair:
    return signing.make_ec_key(tmp_path, "ml-release")


@pytest.fixture
def private_model(
    tmp_path: pathlib.Path, registry_auth: Registry, bert_model: pathlib.Path, key: signing.KeyPair
) -> str:
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    pushed = ocipush.push_model(
        registry_auth, ocipush.unique_repo("private"), bert_model, signature=sig
    )
    return f"{registry_auth.host}/{pushed.repo}:v1"


def docker_config(registry: Registry, password: str | None = None) -> str:
    login = f"{registry.username}:{password or registry.password}"
    auth = base64.b64encode(login.encode()).decode()
    config = {"auths": {registry.host: {"auth": auth}}}
    return base64.b64encode(json.dumps(config).encode()).decode()


async def create(operator: OperatorHandle, obj: dict[str, Any]) -> None:
    await asyncio.to_thread(operator.api.create, obj)


async def pull_secret(operator: OperatorHandle, namespace: str, name: str, config: str) -> None:
    await create(
        operator,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": name, "namespace": namespace},
            "data": {".dockerconfigjson": config},
        },
    )


def pod(image: str, namespace: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "server", "namespace": namespace},
        "spec": {
            "containers": [{"name": "server", "image": "server:1"}],
            "volumes": [{"name": "model", "image": {"reference": image}}],
            **spec,
        },
    }


async def test_pull_secrets_of_the_pod_and_its_service_account(  # type: ignore[no-untyped-def]
    operator: OperatorHandle, registry_auth, private_model, key
) -> None:
    await apply_policy(operator, cluster_policy("signed", key))
    for namespace in ("ml", "other"):
        await create(
            operator, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        )
    await pull_secret(operator, "ml", "pull", docker_config(registry_auth))
    await pull_secret(operator, "ml", "stale", docker_config(registry_auth, "wrong-password"))
    await create(
        operator,
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "runner", "namespace": "ml"},
            "imagePullSecrets": [{"name": "pull"}],
        },
    )

    # No credentials: the registry refuses, and the denial says what to do.
    denied = response(await operator.review(pod(private_model, "ml")))
    assert denied["allowed"] is False
    assert "imagePullSecret" in denied["status"]["message"]

    by_pod = pod(private_model, "ml", imagePullSecrets=[{"name": "pull"}])
    assert response(await operator.review(by_pod))["allowed"] is True

    by_account = pod(private_model, "ml", serviceAccountName="runner")
    assert response(await operator.review(by_account))["allowed"] is True

    wrong = pod(private_model, "ml", imagePullSecrets=[{"name": "stale"}])
    assert response(await operator.review(wrong))["allowed"] is False

    # The same Secret and account names from another namespace lend nothing, even right after
    # the model was verified for "ml".
    borrowed = pod(
        private_model, "other", imagePullSecrets=[{"name": "pull"}], serviceAccountName="runner"
    )
    res = response(await operator.review(borrowed))
    assert res["allowed"] is False
    assert "requires credentials" in res["status"]["message"]
