"""Writing records through the emulated API: created once, entries merged per policy, and
concurrent writers lose nothing."""

from __future__ import annotations

import asyncio
import concurrent.futures

from modelward.adapters import kube, records
from modelward.record import verification_index, verifications
from modelward.structs import refs
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
