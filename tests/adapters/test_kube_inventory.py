"""Listing workloads and ModelVerifications from the cluster (the Kubernetes emulator)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from modelward.adapters import kube, kube_inventory
from modelward.extractors import registry
from tests.fixtures.kube import KubeApi


@pytest.fixture(autouse=True)
def fresh_client() -> Iterator[None]:
    """Each test's emulator, not a client cached from another test."""
    kube.reset()
    yield
    kube.reset()


def test_every_kind_the_extractors_read_is_listed() -> None:
    listed = {(k.group, k.kind) for k in kube_inventory.WORKLOAD_KINDS}
    assert listed == set(registry.BUILTIN)


def pod(name: str, owner: dict[str, Any] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "default"}
    if owner is not None:
        metadata["ownerReferences"] = [owner | {"name": "o", "uid": "u", "controller": True}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {"containers": [{"name": "c", "image": "i"}]},
    }


def test_objects_a_listed_kind_controls_are_left_out(kube_api: KubeApi) -> None:
    kube_api.create(pod("plain"))
    kube_api.create(pod("of-a-replicaset", {"apiVersion": "apps/v1", "kind": "ReplicaSet"}))
    kube_api.create(pod("of-something-else", {"apiVersion": "example.com/v1", "kind": "Thing"}))
    found = kube_inventory.list_workloads()
    assert sorted(o["metadata"]["name"] for o in found) == ["of-something-else", "plain"]
    assert {(o["apiVersion"], o["kind"]) for o in found} == {("v1", "Pod")}


def test_kinds_the_cluster_does_not_serve_are_skipped(kube_api: KubeApi) -> None:
    absent = kube_inventory.Kind("example.com", "v1", "things", "Thing")
    assert kube_inventory.list_workloads([absent]) == []
