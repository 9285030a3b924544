"""`hf://` references through the admission pipeline against a local Hub API server:
signed, tampered, unsigned, wrong signer, unknown repository or revision, pinned commits."""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from modelward.pipeline import admit, decode
from modelward.structs import evidence, policy
from tests.e2e.test_sources import isvc, key_auth, make_policy
from tests.fixtures import models, signing
from tests.fixtures.hub import HubServer
from tests.fixtures.settings import make_settings

REPO = "acme/bert"


def repo_dir(
    tmp_path: pathlib.Path, model: pathlib.Path, name: str, sig: pathlib.Path | None
) -> pathlib.Path:
    """A repository working tree: the model, the Hub's .gitattributes, and model.sig if any."""
    tree = models.copy_model(model, tmp_path / "trees" / name)
    if sig is not None:
        (tree / "model.sig").write_bytes(sig.read_bytes())
    return tree


@pytest.fixture
def key(tmp_path: pathlib.Path) -> signing.KeyPair:
    return signing.make_ec_key(tmp_path, "ml-release")


@pytest.fixture
def signed(tmp_path: pathlib.Path, bert_model: pathlib.Path, key: signing.KeyPair) -> pathlib.Path:
    (bert_model / ".gitattributes").write_text(
        "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
    )
    return signing.sign_with_key(bert_model, key, tmp_path / "sigs" / "model.sig")


@pytest.fixture
async def run(tmp_path: pathlib.Path, hub: HubServer) -> AsyncIterator[Any]:
    settings = make_settings(work_dir=tmp_path / "work", hf_endpoint=hub.url)
    async with admit.running(settings) as admitter:

        async def decide(uri: str, *policies: policy.Policy) -> evidence.Decision:
            return await admitter.admit(decode.from_object(isvc(uri)), policies)

        yield decide
    assert not any((tmp_path / "work").iterdir()), "work directories must be cleaned up"


async def test_signed_repository_is_admitted_and_pinned_to_its_commit(
    run, tmp_path, hub, bert_model, key, signed
) -> None:  # type: ignore[no-untyped-def]
    sha = hub.commit(REPO, repo_dir(tmp_path, bert_model, "signed", signed))
    decision = await run(f"hf://{REPO}", make_policy(key_auth(key)))
    assert decision.allowed, decision.message
    (ref,) = decision.refs
    assert ref.digest == f"git:{sha}"
    assert ref.pinned_uri == f"hf://{REPO}@{sha}"
    files = [p for p in hub.paths() if "/resolve/" in p]
    assert files, "the model files must have been downloaded"
    assert all(p.startswith(f"/{REPO}/resolve/{sha}/") for p in files), files
    assert f"/{REPO}/resolve/{sha}/config.json" in files


async def test_tampered_unsigned_and_wrong_signer_are_denied(
    run, tmp_path, hub, bert_model, key, signed
) -> None:  # type: ignore[no-untyped-def]
    other = signing.make_ec_key(tmp_path, "intruder")
    cases = {
        "tampered": (
            repo_dir(tmp_path, models.tampered_copy(bert_model, tmp_path / "t"), "t", signed),
            "DigestMismatch",
            "file 'model.safetensors' digest differs",
        ),
        "unsigned": (repo_dir(tmp_path, bert_model, "u", None), "SignatureMissing", "no signature"),
        "wrong-signer": (
            repo_dir(
                tmp_path,
                bert_model,
                "w",
                signing.sign_with_key(bert_model, other, tmp_path / "w.sig"),
            ),
            "UntrustedSigner",
            "",
        ),
    }
    for name, (tree, reason, text) in cases.items():
        hub.commit(f"acme/{name}", tree)
        decision = await run(f"hf://acme/{name}", make_policy(key_auth(key)))
        assert not decision.allowed, name
        (ref,) = decision.refs
        (result,) = ref.results
        assert result.reason == reason, (name, result)
        assert text in decision.message, (name, decision.message)


async def test_pinned_commit_admits_while_the_branch_moved_on(
    run, tmp_path, hub, bert_model, key, signed
) -> None:  # type: ignore[no-untyped-def]
    good = hub.commit(REPO, repo_dir(tmp_path, bert_model, "v1", signed))
    hub.tag(REPO, "v1", good)
    later = hub.commit(REPO, repo_dir(tmp_path, bert_model, "v2", None))
    assert later != good
    pol = make_policy(key_auth(key))
    for uri in (f"hf://{REPO}@{good}", f"hf://{REPO}@v1", f"hf://{REPO}:v1"):
        decision = await run(uri, pol)
        assert decision.allowed, (uri, decision.message)
        assert decision.refs[0].pinned_uri == f"hf://{REPO}@{good}"
    moved = await run(f"hf://{REPO}@main", pol)
    assert not moved.allowed
    assert moved.refs[0].pinned_uri == f"hf://{REPO}@{later}"
    assert moved.refs[0].results[0].reason == "SignatureMissing"


@pytest.mark.parametrize(
    ("uri", "reason", "text"),
    [
        ("hf://acme/nothing", "RepositoryNotFound", "does not exist, or is private or gated"),
        (f"hf://{REPO}@no-such-branch", "RevisionNotFound", "no such revision"),
        (f"hf://{REPO}@{'0' * 40}", "RevisionNotFound", "no such revision"),
        ("hf://acme/../etc", "BadReference", "is not a Hugging Face reference"),
    ],
)
async def test_unknown_repository_or_revision_is_a_clear_denial(
    run, tmp_path, hub, bert_model, key, signed, uri, reason, text
) -> None:  # type: ignore[no-untyped-def]
    hub.commit(REPO, repo_dir(tmp_path, bert_model, "x", signed))
    decision = await run(uri, make_policy(key_auth(key)))
    assert not decision.allowed
    (ref,) = decision.refs
    assert ref.error is not None
    assert ref.error[0] == reason
    assert text in decision.message
    assert "spec.predictor.model.storageUri" in decision.message


async def test_policy_endpoint_overrides_the_settings_endpoint(
    tmp_path, hub, bert_model, key, signed
) -> None:  # type: ignore[no-untyped-def]
    hub.commit(REPO, repo_dir(tmp_path, bert_model, "p", signed))
    settings = make_settings(work_dir=tmp_path / "work", hf_endpoint="http://127.0.0.1:9")
    pol = make_policy(key_auth(key), sources={"hf": {"endpoint": hub.url}})
    async with admit.running(settings) as admitter:
        decision = await admitter.admit(decode.from_object(isvc(f"hf://{REPO}")), [pol])
        assert decision.allowed, decision.message
        plain = make_policy(key_auth(key))
        down = await admitter.admit(decode.from_object(isvc(f"hf://{REPO}")), [plain])
    assert not down.allowed
    assert down.refs[0].error is not None
    assert down.refs[0].error[0] == "SourceUnavailable"
