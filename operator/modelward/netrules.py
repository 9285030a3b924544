"""Which network addresses modelward may fetch models from: the SSRF rules, as plain data.

Users write the URLs modelward fetches, so an address is refused by default when it belongs
to the node or the cluster rather than to a model server: link-local and cloud metadata
endpoints, loopback, unspecified, multicast, and the configured cluster ranges. Explicit
allowances (settings, a ClusterModelPolicy) re-open single hosts or ranges.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
from collections.abc import Iterable

from modelward import errors

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Instance metadata services of the clouds (AWS IPv6, Alibaba, Azure wireserver); the
# common 169.254.169.254 is covered by the link-local class.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("fd00:ec2::254", "100.100.100.200", "168.63.129.16")
)
METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.com",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_SETTING_HINT = "MODELWARD_EGRESS_ALLOW / Helm value egress.allow"


@dataclasses.dataclass(frozen=True, slots=True)
class Allowance:
    """Addresses and host names explicitly allowed despite the default blocks."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()

    def __or__(self, other: Allowance) -> Allowance:
        return Allowance(self.networks + other.networks, self.hosts | other.hosts)

    def __bool__(self) -> bool:
        return bool(self.networks or self.hosts)

    def allows_host(self, host: str) -> bool:
        return _norm_host(host) in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        return any(address.version == n.version and address in n for n in self.networks)


@dataclasses.dataclass(frozen=True, slots=True)
class Rules:
    """The blocked cluster ranges and the allowances; the built-in classes always apply."""

    blocked: tuple[IPNetwork, ...] = ()
    allow: Allowance = Allowance()

    def with_allowance(self, extra: Allowance) -> Rules:
        return Rules(blocked=self.blocked, allow=self.allow | extra)

    def check_host(self, host: str, *, url: str) -> None:
        """Refuse a metadata host name or an IP literal (any spelling) that is blocked."""
        if self.allow.allows_host(host):
            return
        if _norm_host(host) in METADATA_NAMES:
            raise _denied(url, host, None, "a cloud metadata service name")
        address = parse_literal(host)
        if address is not None:
            self.check_address(address, host=host, url=url)

    def check_address(self, address: IPAddress, *, host: str, url: str) -> None:
        """Refuse `address` (what `host` resolved to) unless it is allowed."""
        if self.allow.allows_host(host):
            return
        plain = normalise(address)
        if self.allow.allows_address(plain) or self.allow.allows_address(address):
            return
        reason = classify(plain, self.blocked)
        if reason is not None:
            raise _denied(url, host, plain, reason)


def normalise(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped, -compatible, NAT64 or 6to4 IPv6 address."""
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (int(address) >> 32 == 0 and int(address) > 1):
        # NAT64 prefix or the deprecated IPv4-compatible form ::a.b.c.d.
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def classify(address: IPAddress, blocked: Iterable[IPNetwork] = ()) -> str | None:
    """The class of a blocked address, for the denial message; None when it may be fetched."""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified or (
        isinstance(address, ipaddress.IPv4Address) and address in _THIS_NETWORK
    ):
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    for network in blocked:
        if address.version == network.version and address in network:
            return f"an address in the cluster-internal range {network}"
    return None


def parse_literal(host: str) -> IPAddress | None:
    """`host` as an IP address, accepting the legacy spellings resolvers accept too
    (2130706433, 0177.0.0.1, 0x7f.1, 127.1); None for a host name."""
    text = host.strip("[]")
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        pass
    if not text or not all(c.isdigit() or c in ".xXabcdefABCDEF" for c in text):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        return None


def parse_allowance(entries: Iterable[str], *, what: str) -> Allowance:
    """Allowance entries: CIDRs, single addresses or host names; InputError on anything else."""
    networks: list[IPNetwork] = []
    hosts: set[str] = set()
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        if "/" in entry or ":" in entry or not all(c.isalnum() or c in ".-" for c in entry):
            raise errors.InputError(
                f"{what}: {entry!r} is neither a CIDR, an IP address nor a host name",
                reason="InvalidEgressRule",
            )
        hosts.add(_norm_host(entry))
    return Allowance(networks=tuple(networks), hosts=frozenset(hosts))


def parse_networks(entries: Iterable[str], *, what: str) -> tuple[IPNetwork, ...]:
    """CIDRs (pod and service ranges); InputError on anything else."""
    out = []
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        try:
            out.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise errors.InputError(
                f"{what}: {entry!r} is not a CIDR", reason="InvalidEgressRule"
            ) from None
    return tuple(out)


def _norm_host(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


def _denied(url: str, host: str, address: IPAddress | None, reason: str) -> errors.EgressDenied:
    if address is None:
        what = f"{host} is {reason}"
    elif parse_literal(host) is not None:
        what = (
            f"{host} is {reason}"
            if str(address) == host.strip("[]")
            else (f"{host} means {address}, {reason}")
        )
    else:
        what = f"{host} resolves to {address}, {reason}"
    return errors.EgressDenied(
        f"modelward refuses to connect to {url}: {what}",
        hint=(
            "Serve models from a host outside the node and cluster ranges, or allow this "
            f"address explicitly ({_SETTING_HINT}, or spec.sources.allow in a ClusterModelPolicy)"
        ),
    )
