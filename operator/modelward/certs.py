"""The webhook's own CA and serving certificate: made, read back, and judged for renewal.

Plain cryptography, no Kubernetes: `adapters/webhook_tls.py` keeps them in a Secret.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=365)
# Renewed this long before expiry: every replica checks hourly, so there is ample overlap.
RENEW_BEFORE = datetime.timedelta(days=30)
# Clocks between the API server and the node may differ.
BACKDATE = datetime.timedelta(minutes=5)


@dataclasses.dataclass(frozen=True, slots=True)
class Material:
    """PEM CA certificate, serving certificate and its key, and when the certificate expires."""

    ca: bytes
    cert: bytes
    key: bytes
    not_after: datetime.datetime


def dns_names(service: str, namespace: str) -> list[str]:
    """The names the API server may use for the webhook's Service."""
    return [
        service,
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.cluster.local",
    ]


def _general_names(names: list[str]) -> list[x509.GeneralName]:
    """DNS names, and IP addresses for the names that are addresses."""
    out: list[x509.GeneralName] = []
    for name in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            out.append(x509.DNSName(name))
    return out


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def generate(
    service: str,
    namespace: str,
    *,
    now: datetime.datetime,
    validity: datetime.timedelta = VALIDITY,
    extra_names: tuple[str, ...] = (),
) -> Material:
    """A new CA and a serving certificate it signs for the Service's DNS names (and
    `extra_names`: host names or IP addresses)."""
    start, end = now - BACKDATE, now + validity
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"modelward-ca.{namespace}")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [*dns_names(service, namespace), *extra_names]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[2]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(_general_names(names)), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return Material(
        ca=ca.public_bytes(serialization.Encoding.PEM),
        cert=cert.public_bytes(serialization.Encoding.PEM),
        key=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        not_after=end,
    )


def load(ca: bytes, cert: bytes, key: bytes) -> Material | None:
    """Material read back from storage; None when any part is missing or unreadable, or the
    certificate does not belong to the key or was not issued by the CA."""
    try:
        ca_cert = x509.load_pem_x509_certificate(ca)
        leaf = x509.load_pem_x509_certificate(cert)
        private = serialization.load_pem_private_key(key, password=None)
        leaf.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return None
    if leaf.public_key() != private.public_key():
        return None
    return Material(ca=ca, cert=cert, key=key, not_after=leaf.not_valid_after_utc)


def due(
    material: Material | None,
    *,
    now: datetime.datetime,
    names: list[str],
    renew_before: datetime.timedelta = RENEW_BEFORE,
) -> bool:
    """Whether the material must be (re)made: missing, expiring, or not for these names."""
    if material is None or material.not_after - renew_before <= now:
        return True
    leaf = x509.load_pem_x509_certificate(material.cert)
    try:
        sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return True
    return not set(_general_names(names)) <= set(sans)
