"""One replica at a time does the cluster-wide background work (re-verifying records, the
audit), chosen with a coordination.k8s.io Lease as client-go's leader election does: the
holder renews it; another replica takes it over once it has not been renewed for its
duration. Every replica keeps serving admissions either way."""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import socket
import uuid
from collections.abc import Callable
from typing import Any

import kubernetes

from modelward.adapters import kube
from modelward.record import verifications

logger = logging.getLogger(__name__)

LEASES = ("coordination.k8s.io", "v1", "leases")


def identity() -> str:
    """This replica's name in the Lease: its pod name when known, made unique per process."""
    base = os.environ.get("POD_NAME") or socket.gethostname()
    return f"{base}-{uuid.uuid4().hex[:6]}"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _micro(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Leadership:
    """Holds, renews or waits for one Lease; `leading` says whether this replica holds it."""

    def __init__(
        self,
        namespace: str,
        name: str,
        *,
        duration: float = 15.0,
        me: str | None = None,
        now: Callable[[], datetime.datetime] = _now,
    ) -> None:
        self.namespace = namespace
        self.name = name
        self.duration = duration
        self.me = me or identity()
        self._now = now
        self.leading = False

    def attempt(self) -> bool:
        """One round: take or renew the Lease if it is free, ours or expired. Blocking."""
        try:
            self.leading = self._attempt()
        except kubernetes.client.ApiException as e:
            if e.status != 409:  # 409: another replica wrote first this round
                logger.warning("lease unavailable", extra={"lease": self.name, "status": e.status})
            self.leading = False
        return self.leading

    def _attempt(self) -> bool:
        now = self._now()
        lease = kube.get_object(*LEASES, self.name, self.namespace)
        spec = {"holderIdentity": self.me, "leaseDurationSeconds": max(1, round(self.duration))}
        if lease is None:
            kube.create_object(
                *LEASES,
                {
                    "apiVersion": "coordination.k8s.io/v1",
                    "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": self.namespace},
                    "spec": {
                        **spec,
                        "acquireTime": _micro(now),
                        "renewTime": _micro(now),
                        "leaseTransitions": 0,
                    },
                },
                self.namespace,
            )
            return True
        current = lease.get("spec") or {}
        holder = current.get("holderIdentity")
        renewed = verifications.parse_time(current.get("renewTime"))
        held_for = float(current.get("leaseDurationSeconds") or self.duration)
        expired = renewed is None or now > renewed + datetime.timedelta(seconds=held_for)
        if holder not in (None, "", self.me) and not expired:
            return False
        update: dict[str, Any] = {**spec, "renewTime": _micro(now)}
        if holder != self.me:
            update["acquireTime"] = _micro(now)
            update["leaseTransitions"] = int(current.get("leaseTransitions") or 0) + 1
        version = str((lease.get("metadata") or {}).get("resourceVersion", ""))
        kube.patch_object(
            *LEASES,
            self.name,
            {"metadata": {"resourceVersion": version}, "spec": update},
            self.namespace,
        )
        if holder != self.me:
            logger.info("leading the background work", extra={"lease": self.name, "me": self.me})
        return True

    async def run(self) -> None:
        """Take part in the election until cancelled; renews at a third of the duration."""
        while True:
            await asyncio.to_thread(self.attempt)
            await asyncio.sleep(self.duration / 3)
