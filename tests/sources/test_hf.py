"""The `hf://` source on its own: reference forms, mutability, tokens, limits."""

from __future__ import annotations

import dataclasses
import hashlib
import pathlib
from collections.abc import AsyncIterator

import pytest

from modelward import errors
from modelward.pipeline import admit
from modelward.settings import Limits
from modelward.sources import base, hf
from modelward.structs import refs
from tests.fixtures.hub import HubServer
from tests.fixtures.settings import make_settings

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("uri", "repo", "revision", "pinned"),
    [
        ("hf://acme/bert", "acme/bert", "main", False),
        ("hf://gpt2", "gpt2", "main", False),
        ("hf://acme/bert@v1.0", "acme/bert", "v1.0", False),
        ("hf://acme/bert@refs/pr/1", "acme/bert", "refs/pr/1", False),
        (f"hf://acme/bert@{SHA}", "acme/bert", SHA, True),
        (f"hf://acme/bert:{SHA}", "acme/bert", SHA, True),
        (f"hf://acme/bert@{SHA[:12]}", "acme/bert", SHA[:12], False),
    ],
)
def test_reference_forms(uri: str, repo: str, revision: str, pinned: bool) -> None:
    parsed = hf.parse(uri)
    assert (parsed.repo, parsed.revision, parsed.pinned) == (repo, revision, pinned)


@pytest.mark.parametrize(
    "uri", ["hf://", "hf://a/b/c", "hf://acme/../x", "hf://acme/bert@../x", "hf://acme/b ert"]
)
def test_bad_references(uri: str) -> None:
    with pytest.raises(errors.InputError, match="not a Hugging Face reference"):
        hf.parse(uri)


class Tokens:
    """A credential provider holding one Secret for one host."""

    def __init__(self, host: str, token: str) -> None:
        self.host, self.token = host, token
        self.asked: list[tuple[str, str]] = []

    async def lookup(self, scheme: str, host: str) -> base.Credentials | None:
        self.asked.append((scheme, host))
        if host != self.host:
            return None
        return base.Credentials(values={"HF_TOKEN": self.token}, origin="ml/hf-token")


@pytest.fixture
async def ctx(tmp_path: pathlib.Path, hub: HubServer) -> AsyncIterator[base.FetchContext]:
    settings = make_settings(work_dir=tmp_path / "work", hf_endpoint=hub.url)
    async with admit.new_session(settings) as session:
        yield base.FetchContext(session=session, settings=settings, workdir=tmp_path / "work")


def model_tree(tmp_path: pathlib.Path, files: dict[str, bytes]) -> pathlib.Path:
    tree = tmp_path / "tree"
    for name, data in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(data)
    return tree


def ref(uri: str) -> refs.ModelRef:
    return refs.ModelRef(uri=uri, field_path="spec.model")


async def test_mutable_only_unless_a_commit_sha(ctx, tmp_path, hub) -> None:  # type: ignore[no-untyped-def]
    sha = hub.commit("acme/m", model_tree(tmp_path, {"a.bin": b"a", "sub/b.bin": b"b"}))
    branch = await hf.HfSource().open(ref("hf://acme/m"), ctx)
    pinned = await hf.HfSource().open(ref(f"hf://acme/m@{sha}"), ctx)
    assert branch.pinned.mutable
    assert not pinned.pinned.mutable
    assert branch.pinned.digest == pinned.pinned.digest == f"git:{sha}"
    files = await pinned.files()
    assert set(files) == {"a.bin", "sub/b.bin"}
    assert await pinned.signatures() == []


async def test_private_repository_needs_the_workloads_token(ctx, tmp_path, hub) -> None:  # type: ignore[no-untyped-def]
    hub.commit("acme/private", model_tree(tmp_path, {"a.bin": b"a"}), token="s3cret")
    with pytest.raises(errors.FetchError, match="private or gated") as caught:
        await hf.HfSource().open(ref("hf://acme/private"), ctx)
    assert caught.value.reason == "RepositoryNotFound"

    wrong = dataclasses.replace(ctx, credentials=Tokens("127.0.0.1", "nope"))
    with pytest.raises(errors.FetchError, match="with the workload's token"):
        await hf.HfSource().open(ref("hf://acme/private"), wrong)

    tokens = Tokens("127.0.0.1", "s3cret")
    good = dataclasses.replace(ctx, credentials=tokens)
    artifact = await hf.HfSource().open(ref("hf://acme/private"), good)
    assert await artifact.files() == {"a.bin": hashlib.sha256(b"a").hexdigest()}
    assert tokens.asked == [("hf", "127.0.0.1")]


async def test_token_never_follows_a_redirect_to_another_origin(ctx, tmp_path, hub) -> None:  # type: ignore[no-untyped-def]
    hub.commit("acme/private", model_tree(tmp_path, {"a.bin": b"a", "model.sig": b"{}"}), token="t")
    hub.cdn = True
    tokens = dataclasses.replace(ctx, credentials=Tokens("127.0.0.1", "t"))
    artifact = await hf.HfSource().open(ref("hf://acme/private"), tokens)
    assert await artifact.files() == {"a.bin": hashlib.sha256(b"a").hexdigest()}
    (signature,) = await artifact.signatures()
    assert signature.data == b"{}"
    assert sorted(p.rsplit("/", 1)[1] for p, _ in hub.cdn_requests) == ["a.bin", "model.sig"]
    assert [auth for _, auth in hub.cdn_requests] == [None, None]


async def test_too_many_files_is_refused_before_any_download(ctx, tmp_path, hub) -> None:  # type: ignore[no-untyped-def]
    hub.commit("acme/many", model_tree(tmp_path, {f"f{i}": b"x" for i in range(5)}))
    small = dataclasses.replace(
        ctx, settings=dataclasses.replace(ctx.settings, limits=Limits(max_files=4))
    )
    with pytest.raises(
        errors.ArtifactLimitError, match=r"5 files, over the limit of 4 \(max files\)"
    ):
        await hf.HfSource().open(ref("hf://acme/many"), small)
    assert not [p for p in hub.paths() if "/resolve/" in p]


async def test_total_size_over_the_limit_is_refused_while_streaming(ctx, tmp_path, hub) -> None:  # type: ignore[no-untyped-def]
    hub.commit("acme/big", model_tree(tmp_path, {"a": b"x" * 600, "b": b"y" * 600}))
    small = dataclasses.replace(
        ctx, settings=dataclasses.replace(ctx.settings, limits=Limits(max_artifact_bytes=1000))
    )
    artifact = await hf.HfSource().open(ref("hf://acme/big"), small)
    with pytest.raises(errors.ArtifactLimitError, match="limit of 1000 bytes"):
        await artifact.files()
