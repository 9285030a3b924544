"""Parse a TrustRoot object into the trusted_root.json bytes keyless authorities verify against.

A TrustRoot names a Sigstore instance: the public-good one mirrored for an air-gapped cluster,
or a private deployment. Its spec holds exactly one of:
- `sigstoreKeys`: the trusted_root.json fields inline (certificateAuthorities, tlogs, ctlogs,
  timestampAuthorities), as protobuf-specs spells them;
- `trustedRootJSON`: a trusted_root.json or client trust config document, as text;
- `configMapRef`: a ConfigMap entry holding such a document;
- `tuf`: a mirrored TUF repository whose target is the document (fetched by the operator).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any

from modelward import errors
from modelward.policies import tufspec
from modelward.trust import roots

# (namespace, name, key) -> the ConfigMap entry; raises PolicyError when unreadable.
ConfigMapReader = Callable[[str, str, str], bytes]
# (TrustRoot name, source) -> the verified document; raises TrustRootRefreshFailed.
TufLoader = Callable[[str, tufspec.TufSource], bytes]
DEFAULT_KEY = "trusted_root.json"
SOURCES = ("sigstoreKeys", "trustedRootJSON", "configMapRef", "tuf")


@dataclasses.dataclass(frozen=True, slots=True)
class TrustRoot:
    """A loaded TrustRoot, or why it is not usable. A TUF TrustRoot whose refresh failed
    keeps its last good `raw` alongside the error."""

    name: str
    generation: int
    raw: bytes = b""
    error_reason: str = ""
    error_message: str = ""

    @property
    def ready(self) -> bool:
        return not self.error_reason


def parse_trust_root(
    obj: Mapping[str, Any],
    *,
    configmaps: ConfigMapReader,
    home_namespace: str,
    tuf: TufLoader | None = None,
) -> TrustRoot:
    """Parse and check a TrustRoot; problems are recorded on the result, never raised."""
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    assert isinstance(metadata, Mapping)
    name = str(metadata.get("name", ""))
    generation = metadata.get("generation")
    generation = generation if isinstance(generation, int) else 0
    try:
        raw = _document(
            obj.get("spec"), name, configmaps=configmaps, home_namespace=home_namespace, tuf=tuf
        )
        roots.check(raw, where=f"TrustRoot {name!r}")
    except errors.TrustRootRefreshFailed as e:
        return TrustRoot(
            name, generation, raw=e.last_good, error_reason=e.reason, error_message=e.message
        )
    except errors.PolicyError as e:
        return TrustRoot(name, generation, error_reason=e.reason, error_message=e.message)
    return TrustRoot(name, generation, raw=raw)


def _document(
    spec: Any,
    name: str,
    *,
    configmaps: ConfigMapReader,
    home_namespace: str,
    tuf: TufLoader | None,
) -> bytes:
    if not isinstance(spec, Mapping):
        raise errors.PolicyError("spec is missing or not an object", reason="InvalidSpec")
    given = [s for s in SOURCES if s in spec]
    if len(given) != 1:
        raise errors.PolicyError(
            f"spec needs exactly one of {', '.join(SOURCES)}", reason="InvalidSpec"
        )
    if "sigstoreKeys" in spec:
        keys = spec["sigstoreKeys"]
        if not isinstance(keys, Mapping):
            raise errors.PolicyError("sigstoreKeys must be an object", reason="InvalidSpec")
        document = {"mediaType": roots.TRUSTED_ROOT_MEDIA_TYPE, **keys}
        try:
            return json.dumps(document).encode()
        except (TypeError, ValueError, RecursionError) as e:
            raise errors.PolicyError(
                f"sigstoreKeys cannot be read as a trusted root ({e})", reason="InvalidSpec"
            ) from None
    if "trustedRootJSON" in spec:
        text = spec["trustedRootJSON"]
        if not isinstance(text, str) or not text.strip():
            raise errors.PolicyError(
                "trustedRootJSON must be a JSON document", reason="InvalidSpec"
            )
        return text.encode()
    if "tuf" in spec:
        source = tufspec.parse(spec["tuf"], configmaps=configmaps, home_namespace=home_namespace)
        if tuf is None:
            raise errors.PolicyError(
                "tuf: TUF mirrors are fetched by the operator only", reason="InvalidSpec"
            )
        return tuf(name, source)
    ref = spec["configMapRef"]
    if not isinstance(ref, Mapping) or not isinstance(ref.get("name"), str) or not ref["name"]:
        raise errors.PolicyError("configMapRef needs a name", reason="InvalidSpec")
    namespace = str(ref.get("namespace") or home_namespace)
    return configmaps(namespace, ref["name"], str(ref.get("key") or DEFAULT_KEY))
