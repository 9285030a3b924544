"""TrustRoots mirrored from a real TUF repository, through the real Kopf operator: the verified
trusted root admits keyless bundles; root rotations and new targets are picked up by the refresh
timer; a mirror that goes down leaves the last good root in use, Ready=False and an Event."""

from __future__ import annotations

import asyncio
import json
import pathlib
import time
from typing import Any

import pytest

from tests.e2e.test_events import wait_event
from tests.e2e.test_operator import API, isvc, response
from tests.e2e.test_operator_trust import create, keyless_policy
from tests.fixtures import ocipush
from tests.fixtures.kube import OperatorHandle, wait_condition
from tests.fixtures.registry import Registry
from tests.fixtures.sigstore_stack import SigstoreStack
from tests.fixtures.tufrepo import TufMirror

TARGET = "trusted_root.json"
WAIT = 15.0


@pytest.fixture
def operator_settings(registry: Registry, tuf_mirror: TufMirror) -> dict[str, Any]:
    return {
        "insecure_registries": frozenset({registry.host}),
        "ca_bundle": tuf_mirror.ca_path,
        "trust_refresh_check_seconds": 0.2,
    }


def tuf_trust_root(mirror: TufMirror, name: str = "mirrored") -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "TrustRoot",
        "metadata": {"name": name},
        "spec": {
            "tuf": {
                "mirror": mirror.url,
                "rootJSON": mirror.repo.initial_root().decode(),
                "refreshInterval": "1s",
            }
        },
    }


async def signed_model(
    registry: Registry, stack: SigstoreStack, model: pathlib.Path, tmp_path: pathlib.Path, tag: str
) -> str:
    sig = stack.sign(model, tmp_path / f"{tag}.sig")
    repo = ocipush.unique_repo(f"tuf-{tag}")
    await asyncio.to_thread(ocipush.push_model, registry, repo, model, signature=sig)
    return f"oci://{registry.host}/{repo}:v1"


async def wait_message(operator: OperatorHandle, name: str, text: str) -> dict[str, Any]:
    """The TrustRoot once its Ready condition's message contains `text` (bounded wait)."""
    deadline = time.monotonic() + WAIT
    while True:
        obj = await asyncio.to_thread(operator.api.get, API, "TrustRoot", name)
        conditions = ((obj or {}).get("status") or {}).get("conditions") or []
        if obj is not None and any(text in c.get("message", "") for c in conditions):
            return obj
        if time.monotonic() > deadline:
            raise TimeoutError(f"TrustRoot {name}: no {text!r} in {WAIT}s; saw {conditions}")
        await asyncio.sleep(0.1)


async def test_mirrored_root_admits_rotates_and_survives_the_mirror_going_down(
    operator: OperatorHandle,
    registry: Registry,
    tuf_mirror: TufMirror,
    sigstore_stack: SigstoreStack,
    bert_model: pathlib.Path,
    tmp_path: pathlib.Path,
) -> None:
    tuf_mirror.repo.add_target(TARGET, json.dumps(sigstore_stack.trusted_root()).encode())
    first = await signed_model(registry, sigstore_stack, bert_model, tmp_path, "first")

    await create(operator, tuf_trust_root(tuf_mirror))
    root = await wait_condition(operator.api, API, "TrustRoot", "mirrored", timeout=WAIT)
    condition = root["status"]["conditions"][0]
    assert condition["reason"] == "Loaded"
    assert f"verified from TUF mirror {tuf_mirror.url} (root version 1)" in condition["message"]
    await create(operator, keyless_policy("ci-signed", "mirrored"))
    await wait_condition(operator.api, API, "ClusterModelPolicy", "ci-signed", timeout=WAIT)
    admitted = response(await operator.review(isvc("bert", first)))
    assert admitted["allowed"] is True, admitted

    # Another Sigstore instance's root, then root v2 (signed by v1), picked up by the timer; in
    # this order, seeing root version 2 means the new target is seen too.
    other = SigstoreStack.create()
    tuf_mirror.repo.add_target(TARGET, json.dumps(other.trusted_root()).encode())
    tuf_mirror.repo.rotate_root()
    await wait_message(operator, "mirrored", "(root version 2)")
    second = await signed_model(registry, other, bert_model, tmp_path, "second")
    admitted = response(await operator.review(isvc("bert", second)))
    assert admitted["allowed"] is True, admitted
    # The model admitted under the old root is not admitted from a cached verdict.
    denied = response(await operator.review(isvc("bert", first)))
    assert denied["allowed"] is False
    assert "does not chain to" in denied["status"]["message"], denied

    # The mirror goes down: the last good root stays in use, and the user is told.
    tuf_mirror.take_down()
    down = await wait_condition(
        operator.api, API, "TrustRoot", "mirrored", status="False", timeout=WAIT
    )
    condition = down["status"]["conditions"][0]
    assert condition["reason"] == "TUFMirrorUnavailable"
    assert "stays in use" in condition["message"]
    event = await wait_event(operator.api, "TUFMirrorUnavailable", "mirrored")
    assert event["type"] == "Warning"
    third = await signed_model(registry, other, bert_model, tmp_path, "third")
    admitted = response(await operator.review(isvc("bert", third)))
    assert admitted["allowed"] is True, admitted


async def test_expired_mirror_is_not_ready_with_tufs_error(
    operator: OperatorHandle, tuf_mirror: TufMirror, sigstore_stack: SigstoreStack
) -> None:
    tuf_mirror.repo.add_target(TARGET, json.dumps(sigstore_stack.trusted_root()).encode())
    tuf_mirror.repo.expire_timestamp()
    await create(operator, tuf_trust_root(tuf_mirror, "expired"))
    root = await wait_condition(
        operator.api, API, "TrustRoot", "expired", status="False", timeout=WAIT
    )
    condition = root["status"]["conditions"][0]
    assert condition["reason"] == "TUFExpiredMetadata"
    assert "ExpiredMetadataError" in condition["message"]
