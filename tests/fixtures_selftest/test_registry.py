"""The registry fixtures run a real registry; the proxy sees every request."""

from __future__ import annotations

import pathlib
import urllib.error
import urllib.request

import pytest

from tests.fixtures import ocipush
from tests.fixtures import registry as registry_module
from tests.fixtures.registry import (
    CountingProxy,
    Registry,
    RegistryStartError,
    start_registry,
)


def _status(url: str, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_registry_answers(registry: Registry) -> None:
    assert registry.host.startswith("127.0.0.1:")
    assert _status(f"{registry.url}/v2/") == 200
    assert registry.log_path.exists()


def test_auth_registry_demands_credentials(registry_auth: Registry) -> None:
    assert _status(f"{registry_auth.url}/v2/") == 401
    assert _status(f"{registry_auth.url}/v2/", registry_auth.auth_header) == 200


def test_registry_stops_on_exit() -> None:
    with start_registry() as running:
        url = running.url
        assert _status(f"{url}/v2/") == 200
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}/v2/", timeout=2)


def test_counting_proxy_records_requests(registry: Registry, counting_proxy: CountingProxy) -> None:
    repo = ocipush.unique_repo("proxy")
    via_proxy = ocipush.RegistryClient(registry, base_url=counting_proxy.url)
    blob = via_proxy.put_blob(repo, b"hello blob")  # POST then PUT to the proxied Location
    assert via_proxy.blob_exists(repo, blob.digest)
    assert counting_proxy.blob_reads() == []
    assert via_proxy.get_blob(repo, blob.digest) == b"hello blob"
    assert counting_proxy.blob_reads() == [f"/v2/{repo}/blobs/{blob.digest}"]
    methods = [m for m, _ in counting_proxy.requests]
    assert methods[:3] == ["HEAD", "POST", "PUT"]
    assert all(p.startswith("/v2/") for _, p in counting_proxy.requests)
    counting_proxy.clear()
    assert counting_proxy.requests == []


def test_start_failure_is_reported_quickly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    monkeypatch.setattr(registry_module, "REGISTRY_BINARY", "/bin/false")
    with pytest.raises(RegistryStartError, match="exited with code 1"), start_registry(tmp_path):
        pytest.fail("a registry that exits must not be yielded")
