"""Writing records through the emulated API: created once, entries merged per policy, and
concurrent writers lose nothing."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import itertools

from modelward.adapters import kube, records
from modelward.record import verification_index, verifications
from modelward.structs import evidence, refs
from tests.fixtures.kube import KubeApi
from tests.record.test_verifications import DIGEST, NOW, TTL, make_policy, passed

NAME = verifications.record_name(DIGEST)
PINNED = refs.PinnedRef(refs.ModelRef("oci://reg/m:v1", "f"), DIGEST, f"oci://reg/m@{DIGEST}")


def test_writers_of_one_record_merge_their_entries(kube_api: KubeApi) -> None:
    kube.reset()
    pols = [make_policy(f"p{i}", uid=f"u{i}") for i in range(6)]
    writes = [
        records.Write(
            name=NAME,
            digest=DIGEST,
            pinned=PINNED,
            entries=(verifications.entry_of(p, passed(p), now=NOW, ttl=TTL),),
            create=True,
        )
        for p in pols
    ]
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        list(pool.map(records.write, writes))
    stored = kube_api.get("modelward.io/v1alpha1", "ModelVerification", NAME)
    assert stored is not None
    assert stored["metadata"]["labels"][verifications.ORIGIN_LABEL] == "admission"
    assert sorted(e["name"] for e in stored["status"]["policies"]) == [p.key.name for p in pols]
    assert stored["status"]["verdict"] == "Verified"


def test_an_update_only_write_does_not_create(kube_api: KubeApi) -> None:
    kube.reset()
    item = records.Write(
        name="gone", digest=DIGEST, pinned=None, drop=(("ClusterModelPolicy", None, "p"),)
    )
    assert records.write(item) is None
    assert kube_api.get("modelward.io/v1alpha1", "ModelVerification", "gone") is None


async def test_the_writer_records_passes_and_skips_unknown_failures(kube_api: KubeApi) -> None:
    kube.reset()
    pol = make_policy()
    index = verification_index.RecordIndex()
    writer = records.Writer(index, ttl=TTL)
    task = asyncio.create_task(writer.run())
    try:
        failure = passed(pol)
        failure = type(failure)(
            policy=pol.key, mode=pol.mode, passed=False, reason="SignatureMissing", message="none"
        )
        writer.submit(PINNED, [(pol, failure)])
        await asyncio.wait_for(writer.drain(), 5)
        assert kube_api.get("modelward.io/v1alpha1", "ModelVerification", NAME) is None
        writer.submit(PINNED, [(pol, passed(pol))])
        await asyncio.wait_for(writer.drain(), 5)
        stored = kube_api.get("modelward.io/v1alpha1", "ModelVerification", NAME)
        assert stored is not None
        assert stored["status"]["references"] == ["oci://reg/m:v1"]
    finally:
        task.cancel()


async def test_a_verdict_the_record_holds_is_not_written_again(kube_api: KubeApi) -> None:
    kube.reset()
    signing_policy, other = make_policy("ml"), make_policy("sec", uid="u2")
    failure = evidence.PolicyResult(
        policy=other.key, mode=other.mode, passed=False, reason="UntrustedSigner", message="no"
    )
    results = [(signing_policy, passed(signing_policy)), (other, failure)]
    index = verification_index.RecordIndex()
    ticks = itertools.count()
    # Every admission a minute later: written again, each would change the record.
    writer = records.Writer(
        index, ttl=TTL, now=lambda: NOW + datetime.timedelta(minutes=next(ticks))
    )
    task = asyncio.create_task(writer.run())
    try:
        writer.submit(PINNED, results)
        await asyncio.wait_for(writer.drain(), 5)
        stored = kube_api.get("modelward.io/v1alpha1", "ModelVerification", NAME)
        assert stored is not None
        index.put(stored)
        version = stored["metadata"]["resourceVersion"]
        # A model denied by one policy on every admission: the same verdicts, no new write.
        for _ in range(20):
            writer.submit(PINNED, results)
        await asyncio.wait_for(writer.drain(), 5)
        again = kube_api.get("modelward.io/v1alpha1", "ModelVerification", NAME)
        assert again is not None
        assert again["metadata"]["resourceVersion"] == version
        # A changed verdict is written.
        writer.submit(PINNED, [(other, passed(other))])
        await asyncio.wait_for(writer.drain(), 5)
        changed = kube_api.get("modelward.io/v1alpha1", "ModelVerification", NAME)
        assert changed is not None
        assert changed["status"]["verdict"] == "Verified"
    finally:
        task.cancel()
