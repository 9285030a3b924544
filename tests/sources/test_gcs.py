"""`gs://` references and JSON API addressing."""

from __future__ import annotations

import pathlib

import aiohttp
import pytest

from modelward import errors
from modelward.sources import base, gcs
from modelward.structs import access
from tests.fixtures.settings import make_settings


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (
            "gs://kfserving-examples/models/sklearn",
            gcs.Location("kfserving-examples", "models/sklearn"),
        ),
        ("gs://b_1/dir/", gcs.Location("b_1", "dir/")),
        ("gs://bucket/m.bin#1712345", gcs.Location("bucket", "m.bin", "1712345")),
    ],
)
def test_parse(uri: str, expected: gcs.Location) -> None:
    assert gcs.parse_uri(uri) == expected
    assert expected.uri() == uri


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("gs://B/m", "not a valid GCS bucket name"),
        ("gs://bucket/m?generation=1", "takes no query"),
        ("gs://bucket/m#abc", "must be a number"),
        ("gs://bucket/m#", "must be a number"),
        ("gs://bucket/dir/#12", "not a prefix"),
    ],
)
def test_bad_references(uri: str, message: str) -> None:
    with pytest.raises(errors.InputError) as caught:
        gcs.parse_uri(uri)
    assert caught.value.reason == "BadReference"
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("endpoint", "settings_endpoint", "expected"),
    [
        (None, None, "https://storage.googleapis.com"),
        (None, "http://gcs.local:4443/", "http://gcs.local:4443"),
        (access.Endpoint(url="https://gw.corp"), "http://gcs.local", "https://gw.corp"),
    ],
)
async def test_addressing(
    tmp_path: pathlib.Path,
    endpoint: access.Endpoint | None,
    settings_endpoint: str | None,
    expected: str,
) -> None:
    async with aiohttp.ClientSession() as session:
        ctx = base.FetchContext(
            session=session,
            settings=make_settings(gcs_endpoint=settings_endpoint),
            workdir=tmp_path,
            endpoints={"gs": endpoint} if endpoint else {},
        )
        client = gcs._Client(ctx, "models", None, "gs://models/a/b c")
        assert client.url("a/b c", [("alt", "media")]) == (
            f"{expected}/storage/v1/b/models/o/a%2Fb%20c?alt=media"
        )
