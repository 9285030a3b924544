"""`s3://` references and how requests are addressed and signed."""

from __future__ import annotations

import pathlib

import aiohttp
import pytest

from modelward import errors
from modelward.sources import base, s3
from modelward.structs import access
from tests.fixtures.settings import make_settings


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://models/bert.tar.gz", s3.Location("models", "bert.tar.gz")),
        ("s3://models/team/bert/", s3.Location("models", "team/bert/")),
        ("s3://models", s3.Location("models", "")),
        ("s3://models/k?versionId=3HL4kq", s3.Location("models", "k", "3HL4kq")),
        ("s3://my.models/a b", s3.Location("my.models", "a b")),
        (
            "s3://models/k?versionId=3HL4kqtJlcpXro+DTDmJ.rm%2FSp",
            s3.Location("models", "k", "3HL4kqtJlcpXro+DTDmJ.rm/Sp"),
        ),
    ],
)
def test_parse(uri: str, expected: s3.Location) -> None:
    assert s3.parse_uri(uri) == expected
    assert s3.parse_uri(expected.uri()) == expected


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("s3://UPPER/k", "not a valid S3 bucket name"),
        ("s3://a/k", "not a valid S3 bucket name"),
        ("s3://a..b/k", "not a valid S3 bucket name"),
        ("s3://user@bucket/k", "not a valid S3 bucket name"),
        ("s3://models/k?x=1", "the only query parameter allowed is one versionId"),
        ("s3://models/k?versionId=1&versionId=2", "the only query parameter"),
        ("s3://models/k?versionId=", "the only query parameter"),
        ("s3://models/k#frag", "the only query parameter"),
        ("s3://models/dir/?versionId=1", "not of a prefix"),
    ],
)
def test_bad_references(uri: str, message: str) -> None:
    with pytest.raises(errors.InputError) as caught:
        s3.parse_uri(uri)
    assert caught.value.reason == "BadReference"
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("endpoint", "settings_endpoint", "bucket", "url"),
    [
        (None, None, "models", "https://models.s3.eu-west-1.amazonaws.com/a%20b/c.bin"),
        (None, None, "my.models", "https://s3.eu-west-1.amazonaws.com/my.models/a%20b/c.bin"),
        (None, "http://minio:9000", "models", "http://minio:9000/models/a%20b/c.bin"),
        (
            access.Endpoint(url="https://s3.corp", force_path_style=False),
            "http://minio:9000",
            "models",
            "https://models.s3.corp/a%20b/c.bin",
        ),
        (
            access.Endpoint(force_path_style=True),
            None,
            "models",
            "https://s3.eu-west-1.amazonaws.com/models/a%20b/c.bin",
        ),
    ],
)
async def test_addressing(
    tmp_path: pathlib.Path,
    endpoint: access.Endpoint | None,
    settings_endpoint: str | None,
    bucket: str,
    url: str,
) -> None:
    async with aiohttp.ClientSession() as session:
        ctx = base.FetchContext(
            session=session,
            settings=make_settings(s3_endpoint=settings_endpoint, s3_region="eu-west-1"),
            workdir=tmp_path,
            endpoints={"s3": endpoint} if endpoint else {},
        )
        client = s3._Client(ctx, bucket, None, f"s3://{bucket}/a b/c.bin")
        assert client.url("a b/c.bin") == url


async def test_listing_query_is_in_canonical_order(tmp_path: pathlib.Path) -> None:
    async with aiohttp.ClientSession() as session:
        ctx = base.FetchContext(
            session=session, settings=make_settings(s3_endpoint="http://h"), workdir=tmp_path
        )
        client = s3._Client(ctx, "models", None, "s3://models/x/")
        assert client.url("", [("prefix", "a b/"), ("list-type", "2")]) == (
            "http://h/models/?list-type=2&prefix=a%20b%2F"
        )
