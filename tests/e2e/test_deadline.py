"""A slow source never holds an admission past its budget: the request is denied in time,
its work is cancelled and its work directory removed."""

from __future__ import annotations

import pathlib
import time

from modelward.pipeline import admit, decode
from tests.e2e.test_sources import isvc, key_auth, make_policy, publish
from tests.fixtures import https, signing
from tests.fixtures.settings import make_settings


async def test_hanging_source_is_denied_within_the_budget(
    tmp_path: pathlib.Path, https_server: https.HttpsServer, bert_model: pathlib.Path
) -> None:
    key = signing.make_ec_key(tmp_path, "k")
    sig = signing.sign_with_key(bert_model, key, tmp_path / "model.sig")
    uri = publish(https_server, bert_model, "slow.tar.gz", sig)
    https_server.override("/slow.tar.gz", https.throttle(chunk=64, interval=0.5))
    settings = make_settings(
        work_dir=tmp_path / "work",
        ca_bundle=https_server.ca_path,
        timeout_seconds=2.5,
    )
    assert settings.deadline_seconds == 1.0
    async with admit.running(settings) as admitter:
        started = time.monotonic()
        decision = await admitter.admit(decode.from_object(isvc(uri)), [make_policy(key_auth(key))])
        elapsed = time.monotonic() - started
    assert not decision.allowed
    assert decision.reason == "DeadlineExceeded"
    assert "did not finish within the 1.0s admission budget" in decision.message
    assert 1.0 <= elapsed < 1.5, elapsed
    assert not any((tmp_path / "work").iterdir()), "the cancelled work directory must be removed"
