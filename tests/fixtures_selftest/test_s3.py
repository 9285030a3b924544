"""SeaweedFS serves S3 with credentials enforced and bucket versioning."""

from __future__ import annotations

import urllib.error
import urllib.request

import botocore.exceptions
import pytest

from tests.fixtures.s3 import SeaweedS3


def test_objects_round_trip_and_list(s3_server: SeaweedS3) -> None:
    bucket = s3_server.new_bucket()
    s3_server.put(bucket, "m/a.bin", b"a")
    s3_server.put(bucket, "m/sub/b.bin", b"bb")
    client = s3_server.client()
    listed = client.list_objects_v2(Bucket=bucket, Prefix="m/")  # type: ignore[attr-defined]
    assert sorted((o["Key"], o["Size"]) for o in listed["Contents"]) == [
        ("m/a.bin", 1),
        ("m/sub/b.bin", 2),
    ]


def test_versioning_keeps_both_versions(s3_server: SeaweedS3) -> None:
    bucket = s3_server.new_bucket(versioned=True)
    first = s3_server.put(bucket, "k", b"one")
    second = s3_server.put(bucket, "k", b"two")
    assert first
    assert second
    assert first != second
    client = s3_server.client()
    old = client.get_object(Bucket=bucket, Key="k", VersionId=first)  # type: ignore[attr-defined]
    assert old["Body"].read() == b"one"
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"  # type: ignore[attr-defined]


def test_credentials_are_enforced(s3_server: SeaweedS3) -> None:
    bucket = s3_server.new_bucket()
    s3_server.put(bucket, "k", b"x")
    with pytest.raises(urllib.error.HTTPError) as anonymous:
        urllib.request.urlopen(f"{s3_server.url}/{bucket}/k", timeout=5)
    assert anonymous.value.code == 403
    wrong = s3_server.client(secret_key="not-the-secret")
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        wrong.get_object(Bucket=bucket, Key="k")  # type: ignore[attr-defined]
    assert denied.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
