"""Settings from the environment: the options this module's readers rely on."""

from __future__ import annotations

import ipaddress

import pytest

from modelward import errors
from modelward.settings import DEFAULT_HF_ENDPOINT, Settings


@pytest.mark.parametrize(
    ("env", "pin"),
    [
        ({}, False),
        ({"MODELWARD_PIN_DIGESTS": "true"}, True),
        ({"MODELWARD_PIN_DIGESTS": "False"}, False),
    ],
)
def test_pin_digests(env: dict[str, str], pin: bool) -> None:
    assert Settings.from_env(env).pin_digests is pin


def test_pin_digests_rejects_other_values() -> None:
    with pytest.raises(errors.InputError, match="MODELWARD_PIN_DIGESTS must be true or false"):
        Settings.from_env({"MODELWARD_PIN_DIGESTS": "yes"})


def test_egress_endpoint_and_limits_from_env() -> None:
    s = Settings.from_env(
        {
            "MODELWARD_BLOCKED_NETWORKS": "10.96.0.0/12, 10.244.0.0/16",
            "MODELWARD_EGRESS_ALLOW": "10.96.5.5,minio.storage.svc",
            "MODELWARD_HF_ENDPOINT": "https://hub.corp/",
            "MODELWARD_MAX_ARTIFACT_BYTES": "1000",
            "MODELWARD_MAX_FILES": "7",
            "MODELWARD_MAX_UNPACKED_BYTES": "2000",
            "MODELWARD_DOWNLOAD_TIMEOUT_SECONDS": "2.5",
        }
    )
    assert s.blocked_networks == (
        ipaddress.ip_network("10.96.0.0/12"),
        ipaddress.ip_network("10.244.0.0/16"),
    )
    assert s.egress_allow.hosts == frozenset({"minio.storage.svc"})
    assert s.egress_rules.allow.allows_address(ipaddress.ip_address("10.96.5.5"))
    assert s.hf_endpoint == "https://hub.corp"
    assert (s.limits.max_artifact_bytes, s.limits.max_files, s.limits.max_unpacked_bytes) == (
        1000,
        7,
        2000,
    )
    assert s.limits.download_timeout_seconds == 2.5


def test_defaults_block_and_allow_nothing_extra() -> None:
    s = Settings.from_env({})
    assert s.blocked_networks == ()
    assert not s.egress_allow
    assert s.hf_endpoint == DEFAULT_HF_ENDPOINT


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("MODELWARD_BLOCKED_NETWORKS", "10.0.0.0/99", "is not a CIDR"),
        ("MODELWARD_EGRESS_ALLOW", "http://x/", "neither a CIDR"),
        ("MODELWARD_MAX_FILES", "many", "must be a positive number"),
        ("MODELWARD_DOWNLOAD_TIMEOUT_SECONDS", "-1", "must be a positive number"),
        ("MODELWARD_HF_ENDPOINT", "hub.corp", "must be an http"),
        ("MODELWARD_RECORDS", "yes", "MODELWARD_RECORDS must be true or false"),
        ("MODELWARD_RECORD_TTL_SECONDS", "0", "must be positive"),
        ("MODELWARD_RECHECK_INTERVAL_SECONDS", "soon", "must be numbers"),
        ("MODELWARD_AUDIT_INTERVAL_SECONDS", "-5", "zero \\(no audit\\) or positive"),
        ("MODELWARD_LEASE_SECONDS", "-1", "must be positive"),
    ],
)
def test_bad_values_are_input_errors(name: str, value: str, text: str) -> None:
    with pytest.raises(errors.InputError, match=text):
        Settings.from_env({name: value})


def test_object_store_endpoints_from_env() -> None:
    settings = Settings.from_env(
        {
            "MODELWARD_S3_ENDPOINT": "http://minio:9000",
            "MODELWARD_S3_REGION": "eu-west-1",
            "MODELWARD_GCS_ENDPOINT": "http://gcs:4443",
        }
    )
    assert (settings.s3_endpoint, settings.s3_region, settings.gcs_endpoint) == (
        "http://minio:9000",
        "eu-west-1",
        "http://gcs:4443",
    )


def test_empty_values_mean_the_public_services() -> None:
    settings = Settings.from_env({"MODELWARD_S3_ENDPOINT": "", "MODELWARD_GCS_ENDPOINT": ""})
    assert (settings.s3_endpoint, settings.s3_region, settings.gcs_endpoint) == (
        None,
        "us-east-1",
        None,
    )


def test_records_and_audit_from_env() -> None:
    default = Settings.from_env({})
    assert default.records
    assert default.record_ttl_seconds == 86400
    assert default.audit_interval_seconds == 600
    s = Settings.from_env(
        {
            "MODELWARD_RECORDS": "false",
            "MODELWARD_RECORD_TTL_SECONDS": "3600",
            "MODELWARD_RECHECK_INTERVAL_SECONDS": "5",
            "MODELWARD_AUDIT_INTERVAL_SECONDS": "0",
            "MODELWARD_LEASE_SECONDS": "10",
        }
    )
    assert not s.records
    assert (s.record_ttl_seconds, s.recheck_interval_seconds) == (3600, 5)
    assert (s.audit_interval_seconds, s.lease_seconds) == (0, 10)
