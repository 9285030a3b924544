"""Trusted roots fetched from a real TUF repository over loopback HTTPS, verified by python-tuf:
good repository, root rotation, tampered target, expired timestamp, mirror down, SSRF guard."""

from __future__ import annotations

import json
import pathlib
import time

import pytest

from modelward import errors, netrules
from modelward.policies.tufspec import TufSource
from modelward.trust import roots, tufmirror
from tests.fixtures import https
from tests.fixtures.settings import LOOPBACK
from tests.fixtures.sigstore_stack import SigstoreStack
from tests.fixtures.tufrepo import TufMirror

TARGET = "trusted_root.json"


def source(mirror: TufMirror, target: str = TARGET) -> TufSource:
    return TufSource(mirror.url, mirror.repo.initial_root(), target, 60.0)


def mirrors(
    tmp_path: pathlib.Path, mirror: TufMirror, rules: netrules.Rules | None = None
) -> tufmirror.TufMirrors:
    rules = rules or netrules.Rules(allow=LOOPBACK)
    return tufmirror.TufMirrors(tmp_path / "cache", rules, ca_bundle=mirror.ca_path)


@pytest.fixture
def published(tuf_mirror: TufMirror, sigstore_stack: SigstoreStack) -> TufMirror:
    tuf_mirror.repo.add_target(TARGET, json.dumps(sigstore_stack.trusted_root()).encode())
    return tuf_mirror


def test_good_repository_gives_the_verified_trusted_root(
    published: TufMirror, sigstore_stack: SigstoreStack, tmp_path: pathlib.Path
) -> None:
    loader = mirrors(tmp_path, published)
    raw = loader.load("private", source(published))
    trusted = roots.load(raw, where="test")
    assert trusted.get_fulcio_certs()[0] == sigstore_stack.intermediate
    good = loader.last_good("private")
    assert good is not None
    assert good.root_version == 1
    # The verified metadata is cached under the work dir.
    assert list((tmp_path / "cache").glob("*/metadata/timestamp.json"))


def test_root_rotation_is_picked_up_on_refresh(
    published: TufMirror, sigstore_stack: SigstoreStack, tmp_path: pathlib.Path
) -> None:
    loader = mirrors(tmp_path, published)
    loader.load("private", source(published))
    published.repo.rotate_root()
    other = SigstoreStack.create()
    published.repo.add_target(TARGET, json.dumps(other.trusted_root()).encode())
    raw = loader.load("private", source(published))
    assert roots.load(raw, where="test").get_fulcio_certs()[0] == other.intermediate
    good = loader.last_good("private")
    assert good is not None
    assert good.root_version == 2


@pytest.mark.parametrize(
    ("break_it", "reason", "named"),
    [
        (
            lambda r: r.tamper_target(TARGET, b'{"tampered": true}'),
            "TUFLengthOrHashMismatch",
            "LengthOrHashMismatchError",
        ),
        (lambda r: r.expire_timestamp(), "TUFExpiredMetadata", "ExpiredMetadataError"),
    ],
    ids=["tampered-target", "expired-timestamp"],
)
def test_broken_repository_is_refused_with_tufs_error(
    published: TufMirror, tmp_path: pathlib.Path, break_it: object, reason: str, named: str
) -> None:
    assert callable(break_it)
    break_it(published.repo)
    loader = mirrors(tmp_path, published)
    with pytest.raises(errors.TrustRootRefreshFailed) as failed:
        loader.load("private", source(published))
    assert failed.value.reason == reason
    assert named in failed.value.message
    assert "TrustRoot 'private'" in failed.value.message
    assert failed.value.last_good == b""
    assert loader.last_good("private") is None


def test_a_rotated_root_signed_by_a_stranger_is_refused(
    published: TufMirror, tmp_path: pathlib.Path
) -> None:
    loader = mirrors(tmp_path, published)
    loader.load("private", source(published))
    # Root v2 signed only by its own new key: v1's threshold is not met.
    repo = published.repo
    old = repo.signers["root"]
    repo.rotate_root()
    repo.root.signatures.clear()
    repo.root.sign(repo.signers["root"])
    (repo.dir / "2.root.json").write_bytes(repo.root.to_bytes())
    with pytest.raises(errors.TrustRootRefreshFailed) as failed:
        loader.load("private", source(published))
    assert failed.value.reason == "TUFUnsignedMetadata"
    assert old.public_key.keyid != repo.signers["root"].public_key.keyid
    assert failed.value.last_good  # the root verified before stays in use


def test_mirror_down_keeps_the_last_good_root(published: TufMirror, tmp_path: pathlib.Path) -> None:
    loader = mirrors(tmp_path, published)
    raw = loader.load("private", source(published))
    published.take_down()
    with pytest.raises(errors.TrustRootRefreshFailed) as failed:
        loader.load("private", source(published))
    assert failed.value.reason == "TUFMirrorUnavailable"
    assert failed.value.last_good == raw
    assert "stays in use" in failed.value.message
    # The last good root belongs to its source: another target does not inherit it.
    with pytest.raises(errors.TrustRootRefreshFailed) as other:
        loader.load("private", source(published, target="other.json"))
    assert other.value.last_good == b""


def test_missing_target_is_named(published: TufMirror, tmp_path: pathlib.Path) -> None:
    with pytest.raises(errors.TrustRootRefreshFailed) as failed:
        mirrors(tmp_path, published).load("private", source(published, target="nope.json"))
    assert failed.value.reason == "TUFTargetNotFound"
    assert "'nope.json'" in failed.value.message


def test_target_that_is_not_a_trusted_root(tuf_mirror: TufMirror, tmp_path: pathlib.Path) -> None:
    tuf_mirror.repo.add_target(TARGET, b'{"mediaType": "something else"}')
    with pytest.raises(errors.TrustRootRefreshFailed) as failed:
        mirrors(tmp_path, tuf_mirror).load("private", source(tuf_mirror))
    assert failed.value.reason == "InvalidTrustRoot"


def test_mirror_on_a_blocked_address_is_refused(
    published: TufMirror, tmp_path: pathlib.Path
) -> None:
    loader = mirrors(tmp_path, published, rules=netrules.Rules())
    with pytest.raises(errors.TrustRootRefreshFailed) as failed:
        loader.load("private", source(published))
    assert failed.value.reason == "EgressDenied"
    assert published.server.paths() == []


def test_refresh_is_due_after_the_interval(published: TufMirror, tmp_path: pathlib.Path) -> None:
    now = [100.0]
    loader = tufmirror.TufMirrors(
        tmp_path / "cache",
        netrules.Rules(allow=LOOPBACK),
        ca_bundle=published.ca_path,
        clock=lambda: now[0],
    )
    assert loader.due("private", 60.0)
    loader.load("private", source(published))
    assert not loader.due("private", 60.0)
    now[0] += 60.0
    assert loader.due("private", 60.0)
    loader.forget("private")
    assert loader.last_good("private") is None


def test_last_good_root_survives_a_restart(published: TufMirror, tmp_path: pathlib.Path) -> None:
    raw = mirrors(tmp_path, published).load("private", source(published))
    published.take_down()
    restarted = mirrors(tmp_path, published)
    with pytest.raises(errors.TrustRootRefreshFailed) as failed:
        restarted.load("private", source(published))
    assert failed.value.last_good == raw
    good = restarted.last_good("private")
    assert good is not None
    assert good.root_version == 1
    # A cache from another place holds nothing for this source.
    with pytest.raises(errors.TrustRootRefreshFailed) as elsewhere:
        tufmirror.TufMirrors(tmp_path / "other", netrules.Rules(allow=LOOPBACK)).load(
            "private", source(published)
        )
    assert elsewhere.value.last_good == b""


def test_redirect_to_a_metadata_address_is_refused(
    published: TufMirror, tmp_path: pathlib.Path
) -> None:
    published.server.override("/timestamp.json", https.redirect("http://169.254.169.254/latest"))
    with pytest.raises(errors.TrustRootRefreshFailed) as failed:
        mirrors(tmp_path, published).load("private", source(published))
    assert failed.value.reason == "EgressDenied"


@pytest.mark.parametrize(
    ("fetch_timeout", "budget"), [(0.3, 60.0), (60.0, 0.3)], ids=["one-fetch", "whole-refresh"]
)
def test_slow_mirror_is_cut_off(
    published: TufMirror, tmp_path: pathlib.Path, fetch_timeout: float, budget: float
) -> None:
    published.server.override("/timestamp.json", https.delay(2.0))
    loader = tufmirror.TufMirrors(
        tmp_path / "cache",
        netrules.Rules(allow=LOOPBACK),
        ca_bundle=published.ca_path,
        fetch_timeout=fetch_timeout,
        budget=budget,
    )
    started = time.monotonic()
    with pytest.raises(errors.TrustRootRefreshFailed) as failed:
        loader.load("private", source(published))
    assert time.monotonic() - started < 1.5
    assert failed.value.reason == "TUFMirrorUnavailable"
    assert "SlowRetrievalError" in failed.value.message


@pytest.mark.parametrize(
    ("initial", "reason"),
    [
        (b'{"signed": {"_type": "root"}, "signatures": []}', "TUFDeserialization"),
        (None, "TUFUnsignedMetadata"),
    ],
    ids=["malformed", "unsigned"],
)
def test_bad_initial_root_is_refused(
    published: TufMirror, tmp_path: pathlib.Path, initial: bytes | None, reason: str
) -> None:
    if initial is None:  # a well-formed root.json whose signatures were stripped
        document = json.loads(published.repo.initial_root())
        document["signatures"] = []
        initial = json.dumps(document).encode()
    bad = TufSource(published.url, initial, TARGET, 60.0)
    with pytest.raises(errors.TrustRootRefreshFailed) as failed:
        mirrors(tmp_path, published).load("private", bad)
    assert failed.value.reason == reason
    assert published.server.paths() == []  # refused before asking the mirror anything
