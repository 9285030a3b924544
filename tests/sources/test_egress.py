"""The SSRF guard on a real aiohttp session against a loopback server that counts its TCP
connections: blocked addresses in every spelling, names that resolve to them, rebinding
names and redirect hops are all refused before any connection is made to them."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Mapping

import pytest
from aiohttp import abc as aiohttp_abc

from modelward import errors, netrules
from modelward.sources import egress


class CountingServer:
    """A minimal HTTP/1.1 server on 127.0.0.1 that counts accepted connections and answers
    each path from `routes` (status, extra headers), closing the connection every time."""

    def __init__(self) -> None:
        self.connections = 0
        self.routes: dict[str, tuple[int, dict[str, str]]] = {}
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        head = await reader.readuntil(b"\r\n\r\n")
        path = head.split(b" ", 2)[1].decode()
        code, headers = self.routes.get(path, (200, {}))
        lines = [f"HTTP/1.1 {code} X", "Content-Length: 2", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\nok").encode())
        await writer.drain()
        writer.close()


class FakeDNS(aiohttp_abc.AbstractResolver):
    """Answers from a table; a list of answers is served in turn (DNS rebinding)."""

    def __init__(self, table: Mapping[str, str | list[str]]) -> None:
        self.table = {k: ([v] if isinstance(v, str) else list(v)) for k, v in table.items()}

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[aiohttp_abc.ResolveResult]:
        answers = self.table[host]
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        fam = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
        return [
            {"hostname": host, "host": address, "port": port, "family": fam, "proto": 0, "flags": 0}
        ]

    async def close(self) -> None:
        return None


@pytest.fixture
async def server() -> AsyncIterator[CountingServer]:
    srv = CountingServer()
    await srv.start()
    yield srv
    await srv.stop()


LOOPBACK_SERVER = netrules.Rules(allow=netrules.parse_allowance(["127.0.0.1"], what="t"))
DNS = {
    "metadata-alias.test": "169.254.169.254",
    "mapped-alias.test": "::ffff:169.254.169.254",
    "loopback-alias.test": "127.0.0.1",
    "models.test": "127.0.0.1",
}


async def get(rules: netrules.Rules, url: str, dns: Mapping[str, str | list[str]] = DNS) -> int:
    async with (
        egress.session(rules, resolver=FakeDNS(dns)) as session,
        session.get(url, max_redirects=5) as resp,
    ):
        await resp.read()
        return resp.status


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("2130706433", "means 127.0.0.1, a loopback address"),
        ("017700000001", "means 127.0.0.1, a loopback address"),
        ("0177.0.0.1", "means 127.0.0.1, a loopback address"),
        ("0x7f.0.0.1", "means 127.0.0.1, a loopback address"),
        ("127.1", "means 127.0.0.1, a loopback address"),
        ("[::ffff:127.0.0.1]", "a loopback address"),
        ("loopback-alias.test", "loopback-alias.test resolves to 127.0.0.1, a loopback address"),
    ],
)
async def test_loopback_in_any_spelling_is_refused_without_connecting(
    server: CountingServer, host: str, reason: str
) -> None:
    with pytest.raises(errors.EgressDenied, match=reason):
        await get(netrules.Rules(), f"http://{host}:{server.port}/model")
    assert server.connections == 0


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("169.254.169.254", "link-local"),
        ("[::ffff:169.254.169.254]", "link-local"),
        ("[::ffff:a9fe:a9fe]", "link-local"),
        ("2852039166", "means 169.254.169.254, a link-local"),
        ("[fd00:ec2::254]", "cloud metadata address"),
        ("100.100.100.200", "cloud metadata address"),
        ("metadata.google.internal", "cloud metadata service name"),
        ("metadata-alias.test", "resolves to 169.254.169.254, a link-local"),
        ("mapped-alias.test", "resolves to 169.254.169.254, a link-local"),
    ],
)
async def test_metadata_addresses_are_refused(host: str, reason: str) -> None:
    started = asyncio.get_running_loop().time()
    with pytest.raises(errors.EgressDenied, match=reason):
        await get(LOOPBACK_SERVER, f"http://{host}/latest/meta-data/")
    # Refused, not timed out: nothing was dialled.
    assert asyncio.get_running_loop().time() - started < 1.0


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/latest/meta-data/",
        "http://2852039166/latest/meta-data/",
        "http://metadata-alias.test/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
    ],
)
async def test_redirect_from_an_allowed_server_to_metadata_is_refused(
    server: CountingServer, target: str
) -> None:
    server.routes["/model"] = (302, {"Location": target})
    with pytest.raises(errors.EgressDenied, match=r"link-local|metadata"):
        await get(LOOPBACK_SERVER, f"http://127.0.0.1:{server.port}/model")
    assert server.connections == 1


async def test_redirect_hop_to_a_relative_path_stays_allowed(server: CountingServer) -> None:
    server.routes["/model"] = (302, {"Location": "/elsewhere"})
    assert await get(LOOPBACK_SERVER, f"http://127.0.0.1:{server.port}/model") == 200
    assert server.connections == 2


async def test_a_rebinding_name_is_checked_at_every_connection(server: CountingServer) -> None:
    rules = netrules.Rules(allow=netrules.parse_allowance(["127.0.0.1"], what="t"))
    dns = {"rebind.test": ["127.0.0.1", "169.254.169.254"]}
    async with egress.session(rules, resolver=FakeDNS(dns)) as session:
        async with session.get(f"http://rebind.test:{server.port}/a") as resp:
            assert resp.status == 200
        # The server closed the connection: the next request resolves the name again.
        with pytest.raises(
            errors.EgressDenied, match=r"rebind\.test resolves to 169\.254\.169\.254"
        ):
            await session.get(f"http://rebind.test:{server.port}/b")
    assert server.connections == 1


async def test_configured_cluster_range_is_refused_and_an_allowed_host_is_not(
    server: CountingServer,
) -> None:
    blocked = netrules.parse_networks(["127.0.0.0/8"], what="t")
    host_allowed = netrules.Rules(
        blocked=blocked, allow=netrules.parse_allowance(["models.test"], what="t")
    )
    assert await get(host_allowed, f"http://models.test:{server.port}/m") == 200
    with pytest.raises(errors.EgressDenied, match=r"loopback-alias\.test resolves to 127\.0\.0\.1"):
        await get(host_allowed, f"http://loopback-alias.test:{server.port}/m")
    assert server.connections == 1
