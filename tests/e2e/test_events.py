"""Kubernetes Events posted by the real operator: policy readiness and denials."""

from __future__ import annotations

import asyncio
import pathlib
import time
from typing import Any

from tests.e2e.test_operator import cluster_policy, response
from tests.fixtures import signing
from tests.fixtures.kube import KubeApi, OperatorHandle, wait_condition

API = "modelward.io/v1alpha1"
WAIT = 10.0


async def wait_event(api: KubeApi, reason: str, name: str) -> dict[str, Any]:
    """The first Event with this reason about the object named `name` (bounded wait)."""
    deadline = time.monotonic() + WAIT
    while True:
        listing = await asyncio.to_thread(api.request, "GET", "/api/v1/events")
        for event in listing.get("items") or ():
            if event.get("reason") == reason and event["involvedObject"].get("name") == name:
                return event  # type: ignore[no-any-return]
        if time.monotonic() > deadline:
            seen = [(e.get("reason"), e["involvedObject"].get("name")) for e in listing["items"]]
            raise TimeoutError(f"no {reason} event for {name} in {WAIT}s; events: {seen}")
        await asyncio.sleep(0.1)


async def events_for(api: KubeApi, name: str) -> list[str]:
    listing = await asyncio.to_thread(api.request, "GET", "/api/v1/events")
    return [e["reason"] for e in listing["items"] if e["involvedObject"].get("name") == name]


async def test_policy_ready_and_invalid_events(
    operator: OperatorHandle, tmp_path: pathlib.Path
) -> None:
    key = signing.make_ec_key(tmp_path, "k")
    await asyncio.to_thread(operator.api.create, cluster_policy("good", key))
    ready = await wait_event(operator.api, "PolicyReady", "good")
    assert ready["type"] == "Normal"
    assert ready["involvedObject"]["kind"] == "ClusterModelPolicy"
    assert "1 authorities" in ready["message"]

    bad = cluster_policy("bad", key)
    bad["spec"]["authorities"][0]["key"]["data"] = "not a key"
    await asyncio.to_thread(operator.api.create, bad)
    invalid = await wait_event(operator.api, "PolicyInvalid", "bad")
    assert invalid["type"] == "Warning"
    assert "not a PEM public key" in invalid["message"]
    await wait_condition(operator.api, API, "ClusterModelPolicy", "bad", status="False")
    # A policy's readiness is announced once, not on every resync.
    assert (await events_for(operator.api, "good")).count("PolicyReady") == 1


def owned_pod(name: str, uri: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": f"{name}-",
            "namespace": "ml",
            "annotations": {"modelward.io/models": uri},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": name,
                    "uid": "6f1d2c3b-rs",
                    "controller": True,
                }
            ],
        },
        "spec": {"containers": [{"name": "srv", "image": "srv:1"}]},
    }


async def test_denial_is_recorded_on_the_controller(
    operator: OperatorHandle, tmp_path: pathlib.Path
) -> None:
    key = signing.make_ec_key(tmp_path, "k")
    await asyncio.to_thread(operator.api.create, cluster_policy("require-signed", key))
    await operator.wait_policy_ready("require-signed")

    dry = await operator.review(owned_pod("dry-run-rs", "s3://bucket/model"), dry_run=True)
    assert response(dry)["allowed"] is False
    answer = await operator.review(owned_pod("bert-rs", "s3://bucket/model"))
    assert response(answer)["allowed"] is False

    event = await wait_event(operator.api, "ModelDenied", "bert-rs")
    assert event["type"] == "Warning"
    assert event["involvedObject"]["kind"] == "ReplicaSet"
    assert event["involvedObject"]["uid"] == "6f1d2c3b-rs"
    assert "s3://bucket/model" in event["message"]
    # A dry run changes nothing, events included.
    assert await events_for(operator.api, "dry-run-rs") == []
