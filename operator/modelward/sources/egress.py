"""The SSRF guard on every connection modelward makes for a model.

Two hooks on the aiohttp session, so that no request or redirect hop escapes them:
- a resolver that checks every address a host name resolves to, at each new connection
  (the DNS cache is off, so a name that rebinds to a metadata address is seen rebinding);
- request and redirect traces that check IP literals, which aiohttp never resolves.
Connections are pooled per session only, and a session carries one set of rules, so a
connection opened under one policy's allowances is never reused under another's.
"""

from __future__ import annotations

import ipaddress
import socket
from types import SimpleNamespace

import aiohttp
from aiohttp import abc as aiohttp_abc
from yarl import URL

from modelward import netrules


class GuardedResolver(aiohttp_abc.AbstractResolver):
    """Resolves with the system resolver, then refuses blocked addresses."""

    def __init__(self, rules: netrules.Rules, inner: aiohttp_abc.AbstractResolver | None = None):
        self._rules = rules
        self._inner = inner or aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[aiohttp_abc.ResolveResult]:
        url = f"{host}:{port}"
        self._rules.check_host(host, url=url)
        results = await self._inner.resolve(host, port, family)
        # Every address is checked, not only the first: the connector tries them all.
        for result in results:
            address = ipaddress.ip_address(result["host"].split("%", 1)[0])
            self._rules.check_address(address, host=host, url=url)
        return results

    async def close(self) -> None:
        await self._inner.close()


def trace_config(rules: netrules.Rules) -> aiohttp.TraceConfig:
    """Checks the URL of each request and the target of each redirect before connecting."""
    config = aiohttp.TraceConfig()

    async def on_start(
        session: aiohttp.ClientSession,
        ctx: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        _check_url(rules, params.url)

    async def on_redirect(
        session: aiohttp.ClientSession,
        ctx: SimpleNamespace,
        params: aiohttp.TraceRequestRedirectParams,
    ) -> None:
        location = params.response.headers.get("Location") or params.response.headers.get("URI")
        if location:
            _check_url(rules, params.url.join(URL(location)))

    config.on_request_start.append(on_start)
    config.on_request_redirect.append(on_redirect)
    return config


def _check_url(rules: netrules.Rules, url: URL) -> None:
    host = url.raw_host
    if host:
        rules.check_host(host, url=str(url.with_query(None).with_fragment(None)))


def session(
    rules: netrules.Rules, *, resolver: aiohttp_abc.AbstractResolver | None = None
) -> aiohttp.ClientSession:
    """An HTTP session whose every connection obeys `rules`; per-read timeouts only, the
    download timeout and the admission deadline bound the total."""
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(rules, resolver), use_dns_cache=False)
    return aiohttp.ClientSession(
        connector=connector,
        trace_configs=[trace_config(rules)],
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=30),
    )
