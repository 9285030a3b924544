"""The operator makes, renews and serves its own webhook certificate, and patches caBundle."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import datetime
import pathlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography import x509

from modelward import certs
from modelward.adapters import kopf_app, webhook_tls
from modelward.adapters import kube as kube_adapter
from modelward.settings import Settings
from tests.e2e.test_operator import isvc, response
from tests.fixtures.kube import KubeApi, OperatorHandle, start_operator, webhook_settings

SECRET, CONFIG, NAMESPACE = "modelward-tls", "modelward", "modelward"
WAIT = 10.0


def webhook_configuration(kind: str = "Validating") -> dict[str, Any]:
    path = "/models" if kind == "Validating" else "/pin"
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": f"{kind}WebhookConfiguration",
        "metadata": {"name": CONFIG},
        "webhooks": [
            {
                "name": f"{path[1:]}.modelward.io",
                "clientConfig": {
                    "service": {"name": "modelward", "namespace": NAMESPACE, "path": path}
                },
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
            }
        ],
    }


def secret_material(api: KubeApi) -> certs.Material:
    secret = api.get("v1", "Secret", SECRET, NAMESPACE)
    assert secret is not None, "the operator made no Secret"
    assert secret["type"] == "kubernetes.io/tls"
    data = {k: base64.b64decode(v) for k, v in secret["data"].items()}
    material = certs.load(data["ca.crt"], data["tls.crt"], data["tls.key"])
    assert material is not None, "the Secret holds unusable certificates"
    return material


def run_publishing_ca(api: KubeApi, ca_path: pathlib.Path) -> Any:
    """kopf_app.run, reporting ready only once the CA it made is written to `ca_path` (the
    client then trusts exactly that CA)."""

    async def run(
        settings: Settings, *, stop_flag: threading.Event, ready_flag: threading.Event
    ) -> None:
        inner = threading.Event()
        task = asyncio.create_task(kopf_app.run(settings, stop_flag=stop_flag, ready_flag=inner))
        deadline = time.monotonic() + WAIT
        while not inner.is_set() and not task.done() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if inner.is_set():
            material = await asyncio.to_thread(secret_material, api)
            ca_path.write_bytes(material.ca)
            ready_flag.set()
        await task

    return run


@pytest.fixture
def expiring(kube_api: KubeApi) -> certs.Material:
    """A Secret holding a certificate 10 days from expiry, made before the operator starts."""
    old = certs.generate(
        "modelward",
        NAMESPACE,
        now=datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=355),
        extra_names=("127.0.0.1",),
    )
    kube_api.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": SECRET, "namespace": NAMESPACE},
            "type": "kubernetes.io/tls",
            "data": {
                k: base64.b64encode(v).decode()
                for k, v in (("ca.crt", old.ca), ("tls.crt", old.cert), ("tls.key", old.key))
            },
        }
    )
    return old


@pytest.fixture
def tls_operator(kube_api: KubeApi, tmp_path: pathlib.Path) -> Iterator[OperatorHandle]:
    kube_api.create(webhook_configuration())
    kube_api.create(webhook_configuration("Mutating"))
    settings, _ = webhook_settings(
        tmp_path / "operator",
        tls_cert=None,
        tls_key=None,
        tls_secret=SECRET,
        service_name="modelward",
        webhook_configurations=(CONFIG,),
    )
    ca_path = tmp_path / "published-ca.pem"
    kube_adapter.reset()
    try:
        with start_operator(run_publishing_ca(kube_api, ca_path), settings, kube_api, ca_path) as h:
            yield h
    finally:
        kube_adapter.reset()


async def check_served(operator: OperatorHandle) -> certs.Material:
    material = await asyncio.to_thread(secret_material, operator.api)
    config = await asyncio.to_thread(
        operator.api.get,
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
        CONFIG,
    )
    assert config is not None
    (hook,) = config["webhooks"]
    assert base64.b64decode(hook["clientConfig"]["caBundle"]) == material.ca
    mutating = await asyncio.to_thread(
        operator.api.get,
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
        CONFIG,
    )
    assert mutating is not None
    (hook,) = mutating["webhooks"]
    assert base64.b64decode(hook["clientConfig"]["caBundle"]) == material.ca
    # The webhook answers over TLS that the Secret's CA verifies (the client trusts only it).
    answer = await operator.review(isvc("plain", "oci://registry.test/m:1"))
    assert response(answer)["allowed"] is False  # no policy, noMatch=deny
    leaf = x509.load_pem_x509_certificate(material.cert)
    assert "modelward.modelward.svc" in leaf.extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ).value.get_values_for_type(x509.DNSName)
    return material


async def test_certificates_made_when_there_are_none(tls_operator: OperatorHandle) -> None:
    material = await check_served(tls_operator)
    remaining = material.not_after - datetime.datetime.now(datetime.UTC)
    assert remaining > certs.VALIDITY - datetime.timedelta(minutes=10)


async def test_expiring_certificates_are_renewed(
    expiring: certs.Material, tls_operator: OperatorHandle
) -> None:
    material = await check_served(tls_operator)
    assert material.cert != expiring.cert
    assert material.ca != expiring.ca
    assert material.not_after - expiring.not_after > datetime.timedelta(days=300)


def _race(target: webhook_tls.Target, replicas: int) -> list[certs.Material]:
    now = datetime.datetime.now(datetime.UTC)
    barrier = threading.Barrier(replicas)

    def replica() -> certs.Material:
        barrier.wait(timeout=WAIT)
        return webhook_tls.ensure_secret(target, now=now)

    with concurrent.futures.ThreadPoolExecutor(replicas) as pool:
        return list(pool.map(lambda _: replica(), range(replicas)))


@pytest.mark.parametrize("existing", [False, True], ids=["create", "renew"])
def test_racing_replicas_end_with_one_certificate(
    kube_api: KubeApi, request: pytest.FixtureRequest, existing: bool
) -> None:
    if existing:
        request.getfixturevalue("expiring")
    kube_adapter.reset()
    target = webhook_tls.Target(NAMESPACE, SECRET, "modelward", extra_names=("127.0.0.1",))
    results = _race(target, replicas=4)
    stored = secret_material(kube_api)
    # Every replica serves what the Secret holds: the writes lost to the winner were adopted.
    assert {m.cert for m in results} == {stored.cert}
    kube_adapter.reset()
