"""The HTTPS file server serves files with a test CA and fails on demand."""

from __future__ import annotations

import asyncio
import pathlib
import ssl
import urllib.error
import urllib.request
from typing import Any

import aiohttp
import pytest

from tests.fixtures import https, models
from tests.fixtures.https import HttpsServer


@pytest.fixture
def served(https_server: HttpsServer) -> bytes:
    path = models.make_single_file(https_server.root / "m", "tiny.safetensors")
    (path.parent / "tiny.safetensors.sig").write_text('{"bundle": true}\n')
    return path.read_bytes()


async def _get(server: HttpsServer, path: str, **kwargs: Any) -> tuple[int, bytes]:
    timeout = aiohttp.ClientTimeout(total=5)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(server.url + path, ssl=server.client_ssl_context(), **kwargs) as response,
    ):
        return response.status, await response.read()


async def test_serves_files_and_detached_signatures(
    https_server: HttpsServer, served: bytes
) -> None:
    assert https_server.url.startswith("https://127.0.0.1:")
    assert await _get(https_server, "/m/tiny.safetensors") == (200, served)
    assert await _get(https_server, "/m/tiny.safetensors.sig") == (200, b'{"bundle": true}\n')
    assert (await _get(https_server, "/m/missing"))[0] == 404
    assert (await _get(https_server, "/../etc/passwd"))[0] == 404
    assert https_server.requests == [
        ("GET", "/m/tiny.safetensors"),
        ("GET", "/m/tiny.safetensors.sig"),
        ("GET", "/m/missing"),
        ("GET", "/etc/passwd"),  # the client normalises the dots away
    ]


def test_sync_clients_trust_only_the_test_ca(https_server: HttpsServer, served: bytes) -> None:
    context = ssl.create_default_context(cafile=str(https_server.ca_path))
    url = f"{https_server.url}/m/tiny.safetensors"
    with urllib.request.urlopen(url, context=context, timeout=5) as response:
        assert response.read() == served
    localhost = url.replace("127.0.0.1", "localhost")
    with urllib.request.urlopen(localhost, context=context, timeout=5) as response:
        assert response.read() == served
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(url, context=ssl.create_default_context(), timeout=5)


async def test_delay_status_redirect_replace(https_server: HttpsServer, served: bytes) -> None:
    path = "/m/tiny.safetensors"
    https_server.override(path, https.delay(0.5))
    with pytest.raises(asyncio.TimeoutError):
        await _get(https_server, path, timeout=aiohttp.ClientTimeout(total=0.2))
    https_server.override(path, https.status(503, b"busy"))
    assert await _get(https_server, path) == (503, b"busy")
    https_server.overrides.clear()
    assert await _get(https_server, "/old") == (404, b"404: Not Found")
    https_server.override("/old", https.redirect(path))
    assert await _get(https_server, "/old") == (200, served)
    assert (await _get(https_server, "/old", allow_redirects=False))[0] == 302
    https_server.override(path, https.replace(b"evil"))
    assert await _get(https_server, path) == (200, b"evil")


@pytest.mark.parametrize(
    "handler",
    [https.truncate(10), https.wrong_length(10_000)],
    ids=["truncate", "longer-than-body"],
)
async def test_short_bodies_fail_the_client(
    https_server: HttpsServer, served: bytes, handler: https.Handler
) -> None:
    https_server.override("/m/tiny.safetensors", handler)
    with pytest.raises(aiohttp.ClientPayloadError):
        await _get(https_server, "/m/tiny.safetensors")


async def test_shorter_declared_length_cuts_the_body(
    https_server: HttpsServer, served: bytes
) -> None:
    https_server.override("/m/tiny.safetensors", https.wrong_length(10))
    assert await _get(https_server, "/m/tiny.safetensors") == (200, served[:10])


async def test_throttle_streams_everything_slowly(https_server: HttpsServer, served: bytes) -> None:
    https_server.override("/m/tiny.safetensors", https.throttle(64, 0.01))
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await _get(https_server, "/m/tiny.safetensors") == (200, served)
    assert loop.time() - start >= 0.01 * (len(served) // 64)


def test_server_stops(tmp_path: pathlib.Path) -> None:
    with HttpsServer(tmp_path / "www", tmp_path / "pki") as server:
        url = server.url
    context = ssl.create_default_context(cafile=str(server.ca_path))
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "/", context=context, timeout=2)
