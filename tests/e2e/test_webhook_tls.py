"""The webhook speaks TLS 1.2 and 1.3 only: an older client is refused during the handshake."""

from __future__ import annotations

import socket
import ssl
import urllib.parse

import pytest

from tests.fixtures.kube import OperatorHandle


def _handshake(operator: OperatorHandle, version: ssl.TLSVersion) -> str:
    url = urllib.parse.urlsplit(operator.webhook_url)
    context = ssl.create_default_context(cafile=operator.ca_path)
    # Let the client offer old versions at all: OpenSSL 3 refuses them by default.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.minimum_version = version
    context.maximum_version = version
    with (
        socket.create_connection((url.hostname, url.port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=url.hostname) as tls,
    ):
        return str(tls.version())


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_current_tls_versions_are_served(operator: OperatorHandle, version: ssl.TLSVersion) -> None:
    assert _handshake(operator, version) == version.name.replace("v1_", "v1.")


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_old_tls_versions_are_refused(operator: OperatorHandle, version: ssl.TLSVersion) -> None:
    with pytest.raises(ssl.SSLError):
        _handshake(operator, version)
