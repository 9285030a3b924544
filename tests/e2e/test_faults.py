"""Faults in what modelward depends on: a registry that is down, hangs, cuts a blob short,
serves other bytes than its digests say, answers 5xx or streams forever; a host that does not
resolve. Each is a denial that names the problem, within the admission budget: fail closed."""

from __future__ import annotations

import pathlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from modelward.pipeline import admit, decode
from modelward.structs import evidence
from tests.e2e.test_sources import isvc, key_auth, make_policy
from tests.fixtures import ocipush, signing
from tests.fixtures.faults import Fault, FaultyProxy, Rule
from tests.fixtures.registry import Registry
from tests.fixtures.settings import make_settings

BUDGET = 3.0  # the webhook timeout these tests run with
Decide = Callable[[str], Awaitable[evidence.Decision]]


@pytest.fixture
def proxy(registry: Registry) -> Iterator[FaultyProxy]:
    with FaultyProxy(registry.url) as running:
        yield running


@pytest.fixture
def pushed(
    tmp_path: pathlib.Path, registry: Registry, bert_model: pathlib.Path
) -> tuple[str, signing.KeyPair]:
    key = signing.make_ec_key(tmp_path, "k")
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    repo = ocipush.unique_repo("faults")
    ocipush.push_model(registry, repo, bert_model, signature=sig)
    return repo, key


@pytest.fixture
async def decide(
    tmp_path: pathlib.Path, proxy: FaultyProxy, pushed: tuple[str, signing.KeyPair]
) -> AsyncIterator[Decide]:
    _, key = pushed
    settings = make_settings(
        work_dir=tmp_path / "work",
        insecure_registries=frozenset({proxy.host, "no-such-registry.invalid:5000"}),
        timeout_seconds=BUDGET,
    )
    policy = make_policy(key_auth(key))
    async with admit.running(settings) as admitter:

        async def run(uri: str) -> evidence.Decision:
            return await admitter.admit(decode.from_object(isvc(uri)), [policy])

        yield run
    work = tmp_path / "work"
    assert not (work.exists() and any(work.iterdir())), "work directories must be cleaned up"


async def _timed(decide: Decide, uri: str) -> tuple[evidence.Decision, float]:
    started = time.monotonic()
    decision = await decide(uri)
    return decision, time.monotonic() - started


def _error(decision: evidence.Decision) -> tuple[str, str]:
    assert not decision.allowed
    (ref,) = decision.refs
    assert ref.error is not None, ref
    return ref.error


async def test_the_proxy_passes_a_healthy_registry_through(decide, proxy, pushed) -> None:  # type: ignore[no-untyped-def]
    repo, _ = pushed
    decision, _ = await _timed(decide, f"oci://{proxy.host}/{repo}:v1")
    assert decision.allowed, decision.message


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        pytest.param(Rule("/manifests/", Fault.HANG), "DeadlineExceeded", id="manifest-hangs"),
        pytest.param(Rule("/blobs/", Fault.HANG), "DeadlineExceeded", id="blob-hangs"),
        pytest.param(Rule("/blobs/", Fault.ENDLESS), "", id="blob-never-ends"),
        pytest.param(Rule("/blobs/", Fault.TRUNCATE), "FetchFailed", id="blob-cut-short"),
        pytest.param(Rule("/manifests/", Fault.STATUS, 503), "", id="manifest-503"),
        pytest.param(Rule("/blobs/", Fault.STATUS, 500), "", id="blob-500"),
    ],
)
async def test_registry_faults_deny_within_the_budget(decide, proxy, pushed, rule, reason) -> None:  # type: ignore[no-untyped-def]
    repo, _ = pushed
    proxy.add(rule)
    decision, took = await _timed(decide, f"oci://{proxy.host}/{repo}:v1")
    code, message = _error(decision)
    assert took < BUDGET, f"answered after {took:.1f}s"
    assert message
    if reason:
        assert code == reason, (code, message)
    else:
        assert code not in ("", "Verified"), (code, message)


async def test_registry_serving_other_bytes_than_its_digests(decide, proxy, pushed) -> None:  # type: ignore[no-untyped-def]
    """Every blob is checked against its digest: corrupted bytes are never hashed into a pass."""
    repo, _ = pushed
    proxy.add(Rule("/blobs/", Fault.CORRUPT))
    decision, took = await _timed(decide, f"oci://{proxy.host}/{repo}:v1")
    code, message = _error(decision)
    assert took < BUDGET
    assert code == "DigestMismatch", (code, message)
    assert "wrong bytes" in message or "hash to" in message, message


async def test_registry_down(decide, pushed) -> None:  # type: ignore[no-untyped-def]
    repo, _ = pushed
    with FaultyProxy("http://127.0.0.1:9") as gone:
        host = gone.host
    # The proxy is stopped: its port refuses connections.
    decision, took = await _timed(decide, f"oci://{host}/{repo}:v1")
    code, message = _error(decision)
    assert took < BUDGET
    assert code == "RegistryUnavailable", (code, message)
    assert "cannot be reached" in message


async def test_host_that_does_not_resolve(decide) -> None:  # type: ignore[no-untyped-def]
    decision, took = await _timed(decide, "oci://no-such-registry.invalid:5000/models/x:v1")
    code, message = _error(decision)
    assert took < BUDGET
    assert code == "RegistryUnavailable", (code, message)
    assert "no-such-registry.invalid" in message
