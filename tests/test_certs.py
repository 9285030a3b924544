"""The webhook's CA and serving certificate: made for the right names, judged for renewal."""

from __future__ import annotations

import datetime
import ipaddress

import pytest
from cryptography import x509

from modelward import certs

NOW = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
NAMES = certs.dns_names("modelward", "guard")


def test_generated_material_chains_and_names_the_service() -> None:
    material = certs.generate("modelward", "guard", now=NOW, extra_names=("127.0.0.1",))
    loaded = certs.load(material.ca, material.cert, material.key)
    assert loaded == material
    leaf = x509.load_pem_x509_certificate(material.cert)
    ca = x509.load_pem_x509_certificate(material.ca)
    leaf.verify_directly_issued_by(ca)
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == [
        "modelward",
        "modelward.guard",
        "modelward.guard.svc",
        "modelward.guard.svc.cluster.local",
    ]
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert leaf.not_valid_after_utc == NOW + certs.VALIDITY


def test_load_refuses_mismatched_or_garbled_material() -> None:
    one = certs.generate("modelward", "guard", now=NOW)
    other = certs.generate("modelward", "guard", now=NOW)
    assert certs.load(one.ca, one.cert, other.key) is None  # not the certificate's key
    assert certs.load(other.ca, one.cert, one.key) is None  # not issued by this CA
    assert certs.load(b"junk", one.cert, one.key) is None
    assert certs.load(one.ca, one.cert, b"") is None


@pytest.mark.parametrize(
    ("age", "names", "expected"),
    [
        (datetime.timedelta(0), NAMES, False),
        (datetime.timedelta(days=300), NAMES, False),
        (datetime.timedelta(days=336), NAMES, True),  # within 30 days of expiry
        (datetime.timedelta(days=400), NAMES, True),  # expired
        (datetime.timedelta(0), certs.dns_names("modelward", "elsewhere"), True),
        (datetime.timedelta(0), [*NAMES, "10.0.0.1"], True),
    ],
)
def test_due(age: datetime.timedelta, names: list[str], expected: bool) -> None:
    material = certs.generate("modelward", "guard", now=NOW)
    assert certs.due(material, now=NOW + age, names=names) is expected


def test_missing_material_is_due() -> None:
    assert certs.due(None, now=NOW, names=NAMES)
