"""The SSRF rules as plain data: address classes, spellings, allowances."""

from __future__ import annotations

import ipaddress

import pytest

from modelward import errors, netrules

RULES = netrules.Rules(blocked=netrules.parse_networks(["10.96.0.0/12", "fd00:10::/64"], what="t"))


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fd00:ec2::254", "cloud metadata address"),
        ("100.100.100.200", "cloud metadata address"),
        ("metadata.google.internal", "cloud metadata service name"),
        ("METADATA.google.internal.", "cloud metadata service name"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("10.96.0.1", "cluster-internal range 10.96.0.0/12"),
        ("fd00:10::5", "cluster-internal range fd00:10::/64"),
        # Other spellings of the same addresses.
        ("::ffff:169.254.169.254", "link-local"),
        ("[::ffff:a9fe:a9fe]", "link-local"),
        ("::169.254.169.254", "link-local"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
        ("2002:a9fe:a9fe::1", "link-local"),
        ("2130706433", "loopback"),
        ("0177.0.0.1", "loopback"),
        ("0x7f.1", "loopback"),
        ("127.1", "loopback"),
        ("2852039166", "link-local"),
        ("0251.0376.0251.0376", "link-local"),
    ],
)
def test_blocked_hosts_are_refused_with_their_class(host: str, reason: str) -> None:
    with pytest.raises(errors.EgressDenied) as caught:
        RULES.check_host(host, url=f"http://{host}/m")
    message = caught.value.user_message()
    assert reason in message
    assert f"http://{host}/m" in message
    assert "MODELWARD_EGRESS_ALLOW" in message
    assert "spec.sources.allow" in message
    assert caught.value.reason == "EgressDenied"


@pytest.mark.parametrize(
    "host", ["93.184.216.34", "2606:4700::1", "models.example.com", "10.0.0.1"]
)
def test_public_addresses_and_names_pass(host: str) -> None:
    RULES.check_host(host, url=f"https://{host}/m")


def test_resolved_address_is_named_with_the_host() -> None:
    with pytest.raises(errors.EgressDenied, match=r"evil\.test resolves to 169\.254\.169\.254"):
        RULES.check_address(
            ipaddress.ip_address("169.254.169.254"), host="evil.test", url="evil.test:80"
        )


def test_legacy_spelling_is_named_with_its_meaning() -> None:
    with pytest.raises(errors.EgressDenied, match=r"2130706433 means 127\.0\.0\.1, a loopback"):
        RULES.check_host("2130706433", url="http://2130706433/")


@pytest.mark.parametrize(
    ("entries", "host", "address"),
    [
        (["127.0.0.0/8"], "localhost", "127.0.0.1"),
        (["127.0.0.1"], "x", "::ffff:127.0.0.1"),
        (["::1"], "x", "::1"),
        (["10.96.0.0/16"], "x", "10.96.3.4"),
        (["minio.storage.svc"], "Minio.Storage.Svc.", "10.96.0.9"),
    ],
)
def test_allowances_reopen_addresses_and_hosts(entries: list[str], host: str, address: str) -> None:
    rules = RULES.with_allowance(netrules.parse_allowance(entries, what="t"))
    rules.check_address(ipaddress.ip_address(address), host=host, url="u")
    with pytest.raises(errors.EgressDenied):
        RULES.check_address(ipaddress.ip_address(address), host=host, url="u")


def test_allowance_of_one_range_does_not_open_others() -> None:
    rules = RULES.with_allowance(netrules.parse_allowance(["127.0.0.1"], what="t"))
    with pytest.raises(errors.EgressDenied, match="link-local"):
        rules.check_host("169.254.169.254", url="u")


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "http://x", "a b", "x/y"])
def test_bad_allowance_entries_are_input_errors(entry: str) -> None:
    with pytest.raises(errors.InputError, match="neither a CIDR"):
        netrules.parse_allowance([entry], what="MODELWARD_EGRESS_ALLOW")


def test_bad_blocked_network_is_an_input_error() -> None:
    with pytest.raises(errors.InputError, match=r"'10\.0\.0\.0/40' is not a CIDR"):
        netrules.parse_networks(["10.0.0.0/40"], what="MODELWARD_BLOCKED_NETWORKS")
