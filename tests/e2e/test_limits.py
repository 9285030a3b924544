"""Hostile servers against the limits: each is denied within its budget with the limit
named, never a crash, and every work directory is removed."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import pathlib
import time

import pytest
from aiohttp import web

from modelward.pipeline import admit, decode
from modelward.settings import Limits
from tests.e2e.test_sources import isvc, key_auth, make_policy
from tests.fixtures import signing
from tests.fixtures.https import Handler, HttpsServer
from tests.fixtures.settings import make_settings

LIMIT = 1024 * 1024


def connected(request: web.Request) -> bool:
    return request.transport is not None and not request.transport.is_closing()


def declares(length: int) -> Handler:
    """Declare `length` bytes, send 1 KiB, then stall until the client hangs up."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = length
        await response.prepare(request)
        await response.write(b"x" * 1024)
        for _ in range(150):
            if not connected(request):
                break
            await asyncio.sleep(0.2)
        return response

    return handler


def lying(declared: int, sent: int) -> Handler:
    """Declare `declared` bytes and send `sent` (more) before closing."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = declared
        response.force_close()
        await response.prepare(request)
        assert request.transport is not None
        request.transport.write(b"y" * sent)  # past aiohttp's own length check
        return response

    return handler


async def endless(request: web.Request) -> web.StreamResponse:
    """A chunked body that does not end before the client hangs up (64x the limit at most)."""
    response = web.StreamResponse()
    response.enable_chunked_encoding()
    await response.prepare(request)
    with contextlib.suppress(ConnectionResetError):
        for _ in range(64 * LIMIT // 65536):
            if not connected(request):
                break
            await response.write(b"z" * 65536)
    return response


def slow_loris(headers_first: bool) -> Handler:
    """One byte every 0.2 s, forever (or no headers at all): no read ever times out."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if not headers_first:
            for _ in range(150):
                if not connected(request):
                    return web.Response()
                await asyncio.sleep(0.2)
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError):
            for _ in range(150):  # 30 s, far past the client's timeout
                if not connected(request):
                    break
                await response.write(b"s")
                await asyncio.sleep(0.2)
        return response

    return handler


@pytest.mark.parametrize(
    ("handler", "reason", "text", "budget"),
    [
        (declares(64 * LIMIT), "ArtifactTooLarge", f"over the limit of {LIMIT}", 1.0),
        (lying(1000, 4 * LIMIT), "DigestMismatch", "digest differs", 2.0),
        (endless, "ArtifactTooLarge", f"larger than the limit of {LIMIT} bytes", 2.0),
        (slow_loris(True), "DownloadTimeout", "longer than its 1s download timeout", 1.8),
        (slow_loris(False), "DownloadTimeout", "longer than its 1s download timeout", 1.8),
    ],
    ids=[
        "oversize-content-length",
        "lying-content-length",
        "endless-chunked",
        "slow-body",
        "no-headers",
    ],
)
async def test_hostile_server_is_denied_within_budget(
    tmp_path: pathlib.Path,
    https_server: HttpsServer,
    single_file_model: pathlib.Path,
    handler: Handler,
    reason: str,
    text: str,
    budget: float,
) -> None:
    key = signing.make_ec_key(tmp_path, "k")
    sig = signing.sign_with_key(single_file_model, key, tmp_path / "model.sig")
    (https_server.root / "m.safetensors.sig").write_bytes(sig.read_bytes())
    https_server.override("/m.safetensors", handler)
    settings = make_settings(
        work_dir=tmp_path / "work",
        ca_bundle=https_server.ca_path,
        timeout_seconds=10,
        limits=dataclasses.replace(Limits(), max_artifact_bytes=LIMIT, download_timeout_seconds=1),
    )
    async with admit.running(settings) as admitter:
        started = time.monotonic()
        decision = await admitter.admit(
            decode.from_object(isvc(f"{https_server.url}/m.safetensors")),
            [make_policy(key_auth(key))],
        )
        elapsed = time.monotonic() - started
    assert not decision.allowed
    assert decision.reason == reason, decision.message
    assert text in decision.message
    assert elapsed < budget, elapsed
    assert not any((tmp_path / "work").iterdir()), "work directories must be removed"
