"""fake-gcs-server serves the JSON API: uploads, listing, media downloads by generation."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.fixtures.gcs import FakeGcs


def _media(server: FakeGcs, bucket: str, name: str, generation: str | None = None) -> bytes:
    query = {"alt": "media", **({"generation": generation} if generation else {})}
    quoted = urllib.parse.quote(name, safe="")
    url = f"{server.url}/storage/v1/b/{bucket}/o/{quoted}?{urllib.parse.urlencode(query)}"
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.read()  # type: ignore[no-any-return]


def test_upload_list_and_download(gcs_server: FakeGcs) -> None:
    bucket = gcs_server.new_bucket()
    gcs_server.put(bucket, "m/a.bin", b"a")
    gcs_server.put(bucket, "m/sub/b.bin", b"bb")
    listed = gcs_server.request("GET", f"/storage/v1/b/{bucket}/o?prefix=m/")
    assert sorted((i["name"], int(i["size"])) for i in listed["items"]) == [
        ("m/a.bin", 1),
        ("m/sub/b.bin", 2),
    ]
    assert _media(gcs_server, bucket, "m/sub/b.bin") == b"bb"


def test_generations_are_new_per_upload(gcs_server: FakeGcs) -> None:
    bucket = gcs_server.new_bucket()
    first = gcs_server.put(bucket, "k", b"one")
    second = gcs_server.put(bucket, "k", b"two")
    assert first != second
    assert _media(gcs_server, bucket, "k") == b"two"


def test_missing_object_is_404(gcs_server: FakeGcs) -> None:
    bucket = gcs_server.new_bucket()
    with pytest.raises(urllib.error.HTTPError) as missing:
        _media(gcs_server, bucket, "nothing")
    assert missing.value.code == 404
