"""Serving the operator's certificate: a renewal is served to new connections at once."""

from __future__ import annotations

import asyncio
import datetime
import pathlib
import ssl

from modelward import certs
from modelward.adapters import kopf_app, webhook_tls

NOW = datetime.datetime.now(datetime.UTC)


async def served_ca(port: int, candidates: list[certs.Material]) -> int:
    """Which candidate's CA verifies the certificate served on `port`."""
    for i, material in enumerate(candidates):
        client = ssl.create_default_context(cadata=material.ca.decode())
        try:
            _, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=client, server_hostname="127.0.0.1"
            )
        except ssl.SSLCertVerificationError:
            continue
        writer.close()
        await writer.wait_closed()
        return i
    raise AssertionError("no candidate CA verifies the served certificate")


async def test_install_reloads_the_live_context(tmp_path: pathlib.Path) -> None:
    first, second = (
        certs.generate("modelward", "guard", now=NOW, extra_names=("127.0.0.1",)) for _ in "ab"
    )
    serving = webhook_tls.Serving(tmp_path / "tls")
    assert serving.install(first) is True
    context = kopf_app.server_context()
    context.load_cert_chain(serving.cert_path, serving.key_path)
    serving.context = context
    assert serving.key_path.stat().st_mode & 0o077 == 0  # the key is the operator's alone

    async def hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(hello, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        assert await served_ca(port, [first, second]) == 0
        assert serving.install(first) is False  # already served: nothing to do
        assert serving.install(second) is True
        assert await served_ca(port, [first, second]) == 1
    finally:
        server.close()
        await server.wait_closed()
