"""Operator restarts and replicas: policies are rebuilt from the cluster after a restart, and
with two replicas serving, one stopped mid-run, every admission is answered correctly by the
survivor (the Service sends the apiserver's retries there)."""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import time
from typing import Any

import aiohttp

from modelward.adapters import kopf_app
from modelward.adapters import kube as kube_adapter
from tests.e2e.test_operator import cluster_policy, isvc, response
from tests.fixtures import ocipush, signing
from tests.fixtures.kube import (
    KubeApi,
    OperatorHandle,
    start_operator,
    wait_condition,
    webhook_settings,
)
from tests.fixtures.registry import Registry

RUN_SECONDS = 4.0  # the mixed-load run in which one replica stops half way


def _models(
    tmp_path: pathlib.Path, registry: Registry, bert: pathlib.Path
) -> tuple[Any, dict[str, str]]:
    key = signing.make_ec_key(tmp_path, "ml-release")
    sig = signing.sign_with_key(bert, key, tmp_path / "model.sig")
    refs = {}
    for name, signature in (("signed", sig), ("unsigned", None)):
        repo = ocipush.unique_repo(name)
        ocipush.push_model(registry, repo, bert, signature=signature)
        refs[name] = f"oci://{registry.host}/{repo}:v1"
    return key, refs


def _operator(tmp_path: pathlib.Path, name: str, registry: Registry, api: KubeApi) -> Any:
    settings, ca = webhook_settings(tmp_path / name, insecure_registries=frozenset({registry.host}))
    kube_adapter.reset()
    return start_operator(kopf_app.run, settings, api, ca)


async def _allowed(handle: OperatorHandle, uri: str, name: str = "bert") -> bool:
    return bool(response(await handle.review(isvc(name, uri)))["allowed"])


async def test_policies_are_rebuilt_after_a_restart(
    tmp_path: pathlib.Path, registry: Registry, bert_model: pathlib.Path, kube_api: KubeApi
) -> None:
    key, refs = _models(tmp_path, registry, bert_model)
    with _operator(tmp_path, "first", registry, kube_api) as first:
        await asyncio.to_thread(kube_api.create, cluster_policy("require-signed", key))
        await first.wait_policy_ready("require-signed")
        assert await _allowed(first, refs["signed"])
        assert not await _allowed(first, refs["unsigned"])
    # A new process knows nothing but what the cluster holds.
    with _operator(tmp_path, "second", registry, kube_api) as second:
        deadline = time.monotonic() + 10
        while not await _allowed(second, refs["signed"]):
            assert time.monotonic() < deadline, "the policy was not rebuilt after the restart"
            await asyncio.sleep(0.1)
        assert not await _allowed(second, refs["unsigned"])
        ready = await wait_condition(
            kube_api, "modelward.io/v1alpha1", "ClusterModelPolicy", "require-signed", None
        )
        assert ready["status"]["conditions"][0]["status"] == "True"


async def test_the_survivor_answers_everything_when_a_replica_stops(
    tmp_path: pathlib.Path, registry: Registry, bert_model: pathlib.Path, kube_api: KubeApi
) -> None:
    key, refs = _models(tmp_path, registry, bert_model)
    await asyncio.to_thread(kube_api.create, cluster_policy("require-signed", key))
    with contextlib.ExitStack() as a_stack, contextlib.ExitStack() as b_stack:
        a = a_stack.enter_context(_operator(tmp_path, "a", registry, kube_api))
        b = b_stack.enter_context(_operator(tmp_path, "b", registry, kube_api))
        for replica in (a, b):
            deadline = time.monotonic() + 10
            while not await _allowed(replica, refs["signed"]):
                assert time.monotonic() < deadline, "a replica never indexed the policy"
                await asyncio.sleep(0.1)
        answered = {"a": 0, "b": 0}
        wrong: list[str] = []
        stopped = False
        started = time.monotonic()
        i = 0
        while time.monotonic() - started < RUN_SECONDS:
            i += 1
            case = "signed" if i % 2 else "unsigned"
            if not stopped and time.monotonic() - started > RUN_SECONDS / 2:
                await asyncio.to_thread(a_stack.close)  # replica a stops mid-run
                stopped = True
            # Like kube-apiserver behind a Service: try one endpoint, then the other.
            for name, replica in (("a", a), ("b", b)) if i % 3 else (("b", b), ("a", a)):
                try:
                    allowed = await _allowed(replica, refs[case], f"bert-{i}")
                except (aiohttp.ClientError, OSError, AssertionError):
                    continue
                answered[name] += 1
                if allowed != (case == "signed"):
                    wrong.append(f"{name}: request {i} ({case}) allowed={allowed}")
                break
            else:
                wrong.append(f"request {i} ({case}) was answered by no replica")
        assert not wrong, wrong[:5]
        assert answered["a"] > 0
        assert answered["b"] > answered["a"], answered  # b alone served the second half
        assert i > 10
