"""ModelVerification records end to end, with real Kopf operators against the emulated API and
a real registry behind a request-counting proxy: verdicts shared by replicas and kept across a
restart, pre-verification, re-verification when a policy changes, and the background audit."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from modelward.adapters import kopf_app
from modelward.adapters import kube as kube_adapter
from tests.e2e.test_operator import cluster_policy, isvc, response
from tests.fixtures import ocipush, signing
from tests.fixtures.kube import KubeApi, OperatorHandle, start_operator, webhook_settings
from tests.fixtures.registry import CountingProxy, Registry

API = "modelward.io/v1alpha1"
WAIT = 10.0  # bounds every wait below; each step takes well under a second


@pytest.fixture
def proxy(registry: Registry) -> Iterator[CountingProxy]:
    with CountingProxy(registry.url) as running:
        yield running


@pytest.fixture
def models(
    tmp_path: pathlib.Path, registry: Registry, bert_model: pathlib.Path, proxy: CountingProxy
) -> tuple[signing.KeyPair, dict[str, str]]:
    key = signing.make_ec_key(tmp_path, "ml-release")
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    refs = {}
    for name, signature in (("signed", sig), ("unsigned", None)):
        repo = ocipush.unique_repo(name)
        ocipush.push_model(registry, repo, bert_model, signature=signature)
        refs[name] = f"oci://{proxy.host}/{repo}:v1"
    return key, refs


def _operator(
    tmp_path: pathlib.Path, name: str, proxy: CountingProxy, api: KubeApi, **overrides: Any
) -> contextlib.AbstractContextManager[OperatorHandle]:
    settings, ca = webhook_settings(
        tmp_path / name,
        insecure_registries=frozenset({proxy.host}),
        lease_seconds=1.0,
        recheck_interval_seconds=0.3,
        **overrides,
    )
    kube_adapter.reset()
    return start_operator(kopf_app.run, settings, api, ca)


async def _allowed(handle: OperatorHandle, uri: str, name: str = "bert") -> bool:
    return bool(response(await handle.review(isvc(name, uri)))["allowed"])


async def _record(
    api: KubeApi, name: str, want: str, *, field: str = "verdict", timeout: float = WAIT
) -> dict[str, Any]:
    """Polls a record until its status `field` equals `want`."""
    deadline = time.monotonic() + timeout
    while True:
        found = await asyncio.to_thread(api.get, API, "ModelVerification", name)
        status = (found or {}).get("status") or {}
        if status.get(field) == want:
            assert found is not None
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"record {name}: {field} never became {want}; status {status}")
        await asyncio.sleep(0.05)


async def _request(api: KubeApi, name: str, **spec: Any) -> None:
    """A ModelVerification asking for a model to be verified ahead of its deployment."""
    body = {"apiVersion": API, "kind": "ModelVerification", "metadata": {"name": name}}
    await asyncio.to_thread(api.create, {**body, "spec": spec})


async def _admitted_record(op: OperatorHandle, api: KubeApi, uri: str) -> dict[str, Any]:
    """Admit `uri` and return the record the admission wrote, once it says Verified."""
    assert await _allowed(op, uri)
    name = (await _only_record(api))["metadata"]["name"]
    return await _record(api, name, "Verified")


async def _records(api: KubeApi) -> list[dict[str, Any]]:
    listing = await asyncio.to_thread(api.request, "GET", api.kind(API, "ModelVerification").path())
    return list(listing["items"])


async def _only_record(api: KubeApi) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT
    while not (found := await _records(api)):
        assert time.monotonic() < deadline, "no record was written"
        await asyncio.sleep(0.05)
    assert len(found) == 1, [r["metadata"]["name"] for r in found]
    return found[0]


async def test_replicas_share_verdicts_and_a_restart_keeps_them(
    tmp_path: pathlib.Path,
    models: tuple[signing.KeyPair, dict[str, str]],
    proxy: CountingProxy,
    kube_api: KubeApi,
) -> None:
    key, refs = models
    await asyncio.to_thread(kube_api.create, cluster_policy("require-signed", key))
    with _operator(tmp_path, "a", proxy, kube_api) as a:
        await a.wait_policy_ready("require-signed")
        assert await _allowed(a, refs["signed"])
        assert proxy.blob_reads(), "the first admission downloads the model"
        # A denial makes no record: anyone could otherwise fill the cluster with them.
        assert not await _allowed(a, refs["unsigned"])
        record = await _only_record(kube_api)
        record = await _record(kube_api, record["metadata"]["name"], "Verified")
        status = record["status"]
        assert record["metadata"]["name"] == "sha256-" + status["digest"].removeprefix("sha256:")
        assert record["metadata"]["labels"]["modelward.io/origin"] == "admission"
        assert status["references"] == [refs["signed"]]
        assert status["signers"]
        (entry,) = status["policies"]
        assert entry["name"] == "require-signed"
        assert entry["passed"] is True
        with _operator(tmp_path, "b", proxy, kube_api) as b:
            await b.wait_policy_ready("require-signed")
            proxy.clear()
            assert await _allowed(b, refs["signed"])
            assert proxy.blob_reads() == [], "replica b verified again, not from the record"
            assert proxy.paths(contains="/manifests/"), "the tag is still resolved to its digest"
    # A new process: the record is all it knows of the earlier verification.
    proxy.clear()
    with _operator(tmp_path, "c", proxy, kube_api) as c:
        await c.wait_policy_ready("require-signed")
        assert await _allowed(c, refs["signed"])
        assert proxy.blob_reads() == []
        assert not await _allowed(c, refs["unsigned"])


async def test_a_model_verified_ahead_of_its_deployment(
    tmp_path: pathlib.Path,
    models: tuple[signing.KeyPair, dict[str, str]],
    proxy: CountingProxy,
    kube_api: KubeApi,
) -> None:
    key, refs = models
    await asyncio.to_thread(kube_api.create, cluster_policy("require-signed", key))
    with _operator(tmp_path, "op", proxy, kube_api) as op:
        await op.wait_policy_ready("require-signed")
        for name, uri in (("llm", refs["signed"]), ("unsigned", refs["unsigned"])):
            await _request(kube_api, name, ref=uri)
        good = await _record(kube_api, "llm", "Verified")
        assert good["status"]["observedGeneration"] == good["metadata"]["generation"]
        assert good["status"]["pinnedRef"].endswith(good["status"]["digest"])
        bad = await _record(kube_api, "unsigned", "Failed")
        assert bad["status"]["reason"] == "SignatureMissing"
        assert "require-signed" in bad["status"]["message"]
        # The deployment is then answered from the record, without a download.
        proxy.clear()
        assert await _allowed(op, refs["signed"])
        assert proxy.blob_reads() == []
        assert not await _allowed(op, refs["unsigned"])

        # A digest the reference does not resolve to fails the record, saying both.
        wrong = "sha256:" + "0" * 64
        await _request(kube_api, "pinned", ref=refs["signed"], digest=wrong)
        mismatch = await _record(kube_api, "pinned", "Error")
        assert mismatch["status"]["reason"] == "DigestMismatch"
        assert wrong in mismatch["status"]["message"]

        # A reference no policy governs says so.
        await _request(kube_api, "ungoverned", ref=refs["signed"], policies=["no-such-policy"])
        ungoverned = await _record(kube_api, "ungoverned", "Error")
        assert ungoverned["status"]["reason"] == "NoPolicy"

        # A pre-verification is a fetch a user asks for: the egress guard holds for it too.
        await _request(kube_api, "metadata", ref="https://169.254.169.254/latest/model.bin")
        refused = await _record(kube_api, "metadata", "Error")
        assert refused["status"]["reason"] == "EgressDenied"
        assert "169.254.169.254" in refused["status"]["message"]


async def test_a_changed_policy_reverifies_its_records_and_the_audit_reports(
    tmp_path: pathlib.Path,
    models: tuple[signing.KeyPair, dict[str, str]],
    proxy: CountingProxy,
    kube_api: KubeApi,
) -> None:
    key, refs = models
    other = signing.make_ec_key(tmp_path, "security")
    await asyncio.to_thread(kube_api.create, cluster_policy("require-signed", key))
    running = isvc("served", refs["signed"])
    await asyncio.to_thread(kube_api.create, running)
    with _operator(tmp_path, "op", proxy, kube_api, audit_interval_seconds=0.5) as op:
        await op.wait_policy_ready("require-signed")
        before = await _admitted_record(op, kube_api, refs["signed"])
        name = before["metadata"]["name"]
        audited = await _policy_audit(kube_api, lambda a: a.get("auditedObjects") == 1)
        assert audited["totalViolations"] == 0

        # The key is replaced: the record no longer stands, and is verified again at once.
        new_key = cluster_policy("require-signed", other)["spec"]["authorities"]
        await asyncio.to_thread(
            kube_api.patch,
            API,
            "ClusterModelPolicy",
            "require-signed",
            {"spec": {"authorities": new_key}},
        )
        after = await _record(kube_api, name, "Failed")
        assert after["status"]["reason"] == "UntrustedSigner"
        (entry,) = after["status"]["policies"]
        assert entry["revision"] != before["status"]["policies"][0]["revision"]
        assert not await _allowed(op, refs["signed"])

        # The running InferenceService is reported: on the policy and by an Event on it.
        audit = await _policy_audit(kube_api, lambda a: a.get("totalViolations") == 1)
        (violation,) = audit["violations"]
        assert violation == {
            "kind": "serving.kserve.io/InferenceService",
            "namespace": "ml",
            "name": "served",
            "reference": refs["signed"],
            "field": "spec.predictor.model.storageUri",
            "reason": "UntrustedSigner",
            "message": violation["message"],
        }
        event = await _event(kube_api, "ModelAuditFailed", "served")
        assert refs["signed"] in event["message"]
        assert "require-signed" in event["message"]


async def _policy_audit(api: KubeApi, done: Any) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT
    while True:
        pol = await asyncio.to_thread(api.get, API, "ClusterModelPolicy", "require-signed")
        audit = ((pol or {}).get("status") or {}).get("audit") or {}
        if done(audit):
            return dict(audit)
        assert time.monotonic() < deadline, f"the audit never reported as expected: {audit}"
        await asyncio.sleep(0.1)


async def _event(api: KubeApi, reason: str, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT
    while True:
        listing = await asyncio.to_thread(api.request, "GET", api.kind("v1", "Event").path())
        for event in listing["items"]:
            if event.get("reason") == reason and event["involvedObject"]["name"] == name:
                return dict(event)
        assert time.monotonic() < deadline, f"no {reason} Event on {name}"
        await asyncio.sleep(0.1)


@contextlib.contextmanager
def _operator_process(
    tmp_path: pathlib.Path, proxy: CountingProxy, api: KubeApi
) -> Iterator[OperatorHandle]:
    """`modelward operator` as its own OS process, configured only through its environment
    and a kubeconfig, as in a pod."""
    settings, ca = webhook_settings(tmp_path / "process")
    env = {
        **os.environ,
        "KUBECONFIG": str(api.kubeconfig),
        "MODELWARD_NAMESPACE": settings.namespace,
        "MODELWARD_WEBHOOK_ADDR": "127.0.0.1",
        "MODELWARD_WEBHOOK_HOST": "127.0.0.1",
        "MODELWARD_WEBHOOK_PORT": str(settings.webhook_port),
        "MODELWARD_METRICS_ADDR": "127.0.0.1",
        "MODELWARD_METRICS_PORT": str(settings.metrics_port),
        "MODELWARD_TLS_CERT": str(settings.tls_cert),
        "MODELWARD_TLS_KEY": str(settings.tls_key),
        "MODELWARD_WORK_DIR": str(settings.work_dir),
        "MODELWARD_INSECURE_REGISTRIES": proxy.host,
        "MODELWARD_EGRESS_ALLOW": "127.0.0.0/8",
        "MODELWARD_LEASE_SECONDS": "1",
    }
    log = (tmp_path / "process.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelward", "operator"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=pathlib.Path(__file__).resolve().parents[2] / "operator",
    )
    handle = OperatorHandle(api, settings, f"https://127.0.0.1:{settings.webhook_port}", ca)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "process.log").read_text()[-2000:]
            try:
                with socket.create_connection(("127.0.0.1", settings.webhook_port), 0.5):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the operator process never listened"
                time.sleep(0.05)
        yield handle
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


async def test_records_are_shared_between_operator_processes(
    tmp_path: pathlib.Path,
    models: tuple[signing.KeyPair, dict[str, str]],
    proxy: CountingProxy,
    kube_api: KubeApi,
) -> None:
    key, refs = models
    await asyncio.to_thread(kube_api.create, cluster_policy("require-signed", key))
    with _operator(tmp_path, "a", proxy, kube_api) as a:
        await a.wait_policy_ready("require-signed")
        await _admitted_record(a, kube_api, refs["signed"])
    proxy.clear()
    with _operator_process(tmp_path, proxy, kube_api) as other:
        deadline = time.monotonic() + WAIT
        while True:  # until the process has loaded the policy (a denial says no policy)
            answer = response(await other.review(isvc("bert", refs["signed"])))
            if answer["allowed"] or "require-signed" in answer["status"]["message"]:
                break
            assert time.monotonic() < deadline, answer
            await asyncio.sleep(0.1)
        assert answer["allowed"], answer
        assert proxy.blob_reads() == [], "the other process verified again"
        assert not await _allowed(other, refs["unsigned"])


async def test_a_record_carries_the_scan_summary(
    tmp_path: pathlib.Path,
    models: tuple[signing.KeyPair, dict[str, str]],
    proxy: CountingProxy,
    kube_api: KubeApi,
) -> None:
    key, refs = models
    policy = cluster_policy("require-scanned", key, scan={"failOn": "high"})
    await asyncio.to_thread(kube_api.create, policy)
    with _operator(tmp_path, "op", proxy, kube_api) as op:
        await op.wait_policy_ready("require-scanned")
        record = await _admitted_record(op, kube_api, refs["signed"])
        assert record["status"]["scan"] == {
            "scanned": True,
            "passed": True,
            "reason": "NoBlockingFinding",
        }
        (entry,) = record["status"]["policies"]
        assert entry["scanned"] is True
