"""How an OCI artifact's files are read, against a real registry: downloaded and kept for
scanning, only hashed as they stream, or judged by their layer digests; each byte read once."""

from __future__ import annotations

import hashlib
import pathlib
from collections.abc import Iterator, Mapping, Sequence
from typing import BinaryIO

import pytest

from modelward import errors, streams
from modelward.pipeline import admit
from modelward.sources import base, oci
from modelward.structs import refs
from tests.fixtures import ocipush
from tests.fixtures.faults import Fault, FaultyProxy, Rule
from tests.fixtures.registry import Registry
from tests.fixtures.settings import make_settings


def sha256_tree(model: pathlib.Path) -> dict[str, str]:
    return {
        p.relative_to(model).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(model.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def pushed(registry: Registry, bert_model: pathlib.Path) -> ocipush.Pushed:
    return ocipush.push_model(registry, ocipush.unique_repo("src-oci"), bert_model)


@pytest.fixture
def proxy(registry: Registry) -> Iterator[FaultyProxy]:
    with FaultyProxy(registry.url) as running:
        yield running


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Bytes handed to the hasher, one entry per batch."""
    counted: list[int] = []
    real = streams._write_and_hash

    def counting(handle: BinaryIO | None, hasher: object, chunks: Sequence[bytes]) -> None:
        counted.append(sum(len(c) for c in chunks))
        real(handle, hasher, chunks)  # type: ignore[arg-type]

    monkeypatch.setattr(streams, "_write_and_hash", counting)
    return counted


async def read_files(
    proxy: FaultyProxy, pushed: ocipush.Pushed, work: pathlib.Path, how: str
) -> Mapping[str, str]:
    settings = make_settings(work_dir=work, insecure_registries=frozenset({proxy.host}))
    uri = f"oci://{proxy.host}/{pushed.repo}@{pushed.digest}"
    async with admit.new_session(settings) as session:
        ctx = base.FetchContext(session=session, settings=settings, workdir=work)
        artifact = await oci.OciSource().open(refs.ModelRef(uri=uri, field_path="spec.model"), ctx)
        method = {
            "files": artifact.files,
            "hashed_files": artifact.hashed_files,
            "bound_files": artifact.bound_files,
        }[how]
        return await method()


@pytest.mark.parametrize(
    ("how", "downloads", "keeps"),
    [("files", True, True), ("hashed_files", True, False), ("bound_files", False, False)],
)
async def test_each_mode_reads_and_keeps_what_it_says(  # type: ignore[no-untyped-def]
    tmp_path, bert_model, pushed, proxy, hashed, how, downloads, keeps
) -> None:
    work = tmp_path / "work"
    files = await read_files(proxy, pushed, work, how)
    # The same digests whichever way: streamed digests are the files' sha256.
    assert dict(files) == sha256_tree(bert_model)
    layers = {layer["digest"]: layer["size"] for layer in pushed.manifest["layers"]}
    reads = [p.rsplit("/", 1)[-1] for p in proxy.blob_reads()]
    if downloads:
        # Every model blob once, every byte hashed once, while it streamed.
        assert sorted(reads) == sorted(layers)
        assert sum(hashed) == sum(layers.values())
    else:
        assert reads == []
        assert hashed == []
    model_dir = work / base.MODEL_DIR
    kept = sha256_tree(model_dir) if model_dir.exists() else {}
    assert kept == (dict(files) if keeps else {})


@pytest.mark.parametrize("how", ["files", "hashed_files"])
async def test_a_blob_that_hashes_to_another_digest_is_refused(  # type: ignore[no-untyped-def]
    tmp_path, pushed, proxy, how
) -> None:
    weights = next(
        layer["digest"]
        for layer in pushed.manifest["layers"]
        if layer["annotations"][ocipush.TITLE] == "model.safetensors"
    )
    proxy.add(Rule(f"/blobs/{weights}", Fault.CORRUPT))
    with pytest.raises(errors.DigestMismatch, match=f"blob {weights} that hash to sha256:"):
        await read_files(proxy, pushed, tmp_path / "work", how)
