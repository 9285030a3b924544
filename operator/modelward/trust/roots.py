"""Sigstore trusted roots: the public-good root shipped with sigstore-python, parsed roots."""

from __future__ import annotations

import functools
import hashlib
import importlib.resources

from sigstore import errors as sigstore_errors
from sigstore import models as sigstore_models
from sigstore._internal.trust import KeyringPurpose
from sigstore_models.trustroot import v1 as trustroot_v1

from modelward import errors

# The TUF bootstrap copy inside the sigstore-python wheel; read from disk, never refreshed
# over the network at admission.
_PUBLIC_GOOD = (
    "sigstore",
    "_store",
    "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev",
    "trusted_root.json",
)
PUBLIC_GOOD_NAME = "sigstore-public-good"
TRUSTED_ROOT_MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
MAX_ROOT_BYTES = 1024 * 1024


def public_good() -> bytes:
    """The Sigstore public-good trusted_root.json shipped with sigstore-python."""
    package, *parts = _PUBLIC_GOOD
    return importlib.resources.files(package).joinpath(*parts).read_bytes()


def check(raw: bytes, *, where: str) -> None:
    """Raise a PolicyError unless `raw` is a usable trusted_root.json."""
    load(raw, where=where)


def load(raw: bytes, *, where: str) -> sigstore_models.TrustedRoot:
    """Parse a trusted_root.json (or a client trust config holding one)."""
    return _load(hashlib.sha256(raw).hexdigest(), raw, where)


@functools.lru_cache(maxsize=32)
def _load(_digest: str, raw: bytes, where: str) -> sigstore_models.TrustedRoot:
    if len(raw) > MAX_ROOT_BYTES:
        raise errors.PolicyError(
            f"{where}: the trusted root is larger than {MAX_ROOT_BYTES} bytes",
            reason="InvalidTrustRoot",
        )
    try:
        text = raw.decode()
        if '"trustedRoot"' in text:
            config = sigstore_models.ClientTrustConfig.from_json(text)
            root = config.trusted_root
        else:
            root = sigstore_models.TrustedRoot(trustroot_v1.TrustedRoot.from_json(text))
        root.get_fulcio_certs()
        root.rekor_keyring(KeyringPurpose.VERIFY)
        root.ct_keyring(KeyringPurpose.VERIFY)
    except (
        sigstore_errors.Error,
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        RecursionError,
    ) as e:
        raise errors.PolicyError(
            f"{where}: not a usable Sigstore trusted_root.json or client trust config ({e}); "
            "it needs certificateAuthorities, tlogs and ctlogs",
            reason="InvalidTrustRoot",
        ) from None
    return root
