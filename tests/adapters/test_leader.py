"""Lease-based leadership against the emulated API: one holder at a time, renewals, and a
takeover once the holder stops renewing."""

from __future__ import annotations

import datetime

import pytest

from modelward.adapters import kube, leader
from tests.fixtures.kube import KubeApi

T0 = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime.datetime:
        return self.now


def test_one_holder_until_it_stops_renewing(kube_api: KubeApi) -> None:
    kube.reset()
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "modelward"}})
    clock = Clock()
    a = leader.Leadership("modelward", "modelward-leader", duration=15, me="a", now=clock)
    b = leader.Leadership("modelward", "modelward-leader", duration=15, me="b", now=clock)
    assert a.attempt()
    assert not b.attempt()
    clock.now += datetime.timedelta(seconds=10)
    assert a.attempt()  # renewed
    clock.now += datetime.timedelta(seconds=10)
    assert not b.attempt()  # 10 s after the renewal: still held
    clock.now += datetime.timedelta(seconds=6)
    assert b.attempt()  # 16 s without a renewal: taken over
    assert not a.attempt()
    lease = kube_api.get("coordination.k8s.io/v1", "Lease", "modelward-leader", "modelward")
    assert lease is not None
    assert lease["spec"]["holderIdentity"] == "b"
    assert lease["spec"]["leaseTransitions"] == 1


def test_a_stale_write_loses(kube_api: KubeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    kube.reset()
    clock = Clock()
    a = leader.Leadership("modelward", "lease", me="a", now=clock)
    assert a.attempt()
    # b read the lease before a's renewal landed: its update carries the old version.
    stale = kube.get_object(*leader.LEASES, "lease", "modelward")
    assert stale is not None
    clock.now += datetime.timedelta(seconds=20)
    assert a.attempt()
    b = leader.Leadership("modelward", "lease", me="b", now=clock)
    with monkeypatch.context() as patched:
        patched.setattr(kube, "get_object", lambda *args: stale)
        assert not b.attempt()  # expired as b saw it, but a renewed since: 409
    assert a.attempt()
