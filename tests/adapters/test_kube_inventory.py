"""Listing workloads and ModelVerifications from the cluster (the Kubernetes emulator)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from modelward.adapters import kube, kube_inventory
from modelward.extractors import registry
from tests.fixtures.kube import Kind, KubeApi, register_resources


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


THING = Kind("example.com", "v1", "things", "Thing")


def extractor(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "modelward.io/v1alpha1",
        "kind": "ModelExtractor",
        "metadata": {"name": name},
        "spec": spec,
    }


def test_kinds_declared_by_model_extractors_are_listed(kube_api: KubeApi) -> None:
    kube_api.in_emulator(lambda emulator: register_resources(emulator, (THING,)))
    kube_api.create(
        extractor(
            "things",
            {
                "group": "example.com",
                "kind": "Thing",
                "versions": ["v1"],
                "paths": [{"path": "spec.modelUri"}],
            },
        )
    )
    kube_api.create(extractor("broken", {"group": "example.com", "kind": "Other", "paths": []}))
    kube_api.create(
        {
            "apiVersion": "example.com/v1",
            "kind": "Thing",
            "metadata": {"name": "t", "namespace": "default"},
            "spec": {"modelUri": "oci://r/m:v1"},
        }
    )
    index, kinds = kube_inventory.list_extractors()
    assert kinds == [kube_inventory.Kind("example.com", "v1", "things", "Thing")]
    assert index.get("example.com", "Thing") is not None
    assert index.get("example.com", "Other") is None
    (thing,) = kube_inventory.list_workloads(kinds)
    assert (thing["kind"], thing["metadata"]["name"]) == ("Thing", "t")
