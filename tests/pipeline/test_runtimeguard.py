"""The validating side of the runtime check: the verifier as modelward adds it, or a denial."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from modelward.pipeline import runtimecheck, runtimeguard
from tests.pipeline.test_runtimecheck import CLAIM, KEY_POLICY, annotated_pod, on_condition


def injected() -> dict[str, Any]:
    obj = annotated_pod([CLAIM])
    runtimecheck.apply(
        obj, runtimecheck.injections(obj, on_condition(obj), [KEY_POLICY], image="mw:1")
    )
    return obj


def unverified(obj: dict[str, Any]) -> str | None:
    return runtimeguard.unverified(obj, on_condition(obj), [KEY_POLICY], image="mw:1")


def writer(restart: str | None = None, read_only: bool = False) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "rewrite",
        "image": "busybox",
        "volumeMounts": [{"name": "weights", "mountPath": "/w", "readOnly": read_only}],
    }
    if restart:
        container["restartPolicy"] = restart
    return container


def fake_args(spec: dict[str, Any]) -> None:
    spec["initContainers"][0]["args"] = ["verify", "/tmp", "--expected-env", "X"]


def fake_command(spec: dict[str, Any]) -> None:
    spec["initContainers"][0]["command"] = ["true"]


def fake_image(spec: dict[str, Any]) -> None:
    spec["initContainers"][0]["image"] = "attacker/noop:1"


def writer_after(spec: dict[str, Any]) -> None:
    spec["initContainers"].append(writer())


def sidecar_before(spec: dict[str, Any]) -> None:
    spec["initContainers"].insert(0, writer("Always"))


def sidecar_after(spec: dict[str, Any]) -> None:
    spec["initContainers"].append(writer("Always"))


def reader_before(spec: dict[str, Any]) -> None:
    spec["initContainers"].insert(0, writer(read_only=True))


def removed(spec: dict[str, Any]) -> None:
    del spec["initContainers"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (removed, "init container modelward-verify-pvc-0 is missing"),
        (fake_args, "is not the runtime check modelward adds"),
        (fake_command, "is not the runtime check modelward adds"),
        (fake_image, "is not the runtime check modelward adds"),
        (writer_after, "init container rewrite can write volume weights after"),
        (sidecar_after, "init container rewrite can write volume weights after"),
        (sidecar_before, "init container rewrite reads volume weights before"),
        (reader_before, "init container rewrite reads volume weights before"),
    ],
)
def test_a_missing_or_undermined_verifier_is_denied(
    change: Callable[[dict[str, Any]], None], message: str
) -> None:
    obj = injected()
    change(obj["spec"])
    found = unverified(obj)
    assert found is not None
    assert message in found


@pytest.mark.parametrize(
    "change",
    [
        lambda spec: None,
        # Defaults the API server adds do not matter; nor do readers after it, or containers
        # before it that do not mount the volume.
        lambda spec: spec["initContainers"][0].update(imagePullPolicy="IfNotPresent"),
        lambda spec: spec["initContainers"].append(writer(read_only=True)),
        lambda spec: spec["initContainers"].append(writer("Always", read_only=True)),
        lambda spec: spec["initContainers"].insert(0, {"name": "setup", "image": "busybox"}),
    ],
)
def test_the_verifier_as_added_is_admitted(change: Callable[[dict[str, Any]], None]) -> None:
    obj = copy.deepcopy(injected())
    change(obj["spec"])
    assert unverified(obj) is None
