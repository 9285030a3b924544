"""`pvc://CLAIM/PATH` references: a volume modelward cannot read at admission, so never a source.

The runtime check verifies such a model where it can be read: in the pod that mounts the claim.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
import urllib.parse

from modelward import errors
from modelward.structs import refs

SCHEME = "pvc"
# A PersistentVolumeClaim name is a DNS-1123 subdomain.
_CLAIM = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


@dataclasses.dataclass(frozen=True, slots=True)
class Claim:
    """The claim a `pvc://` reference names and the model's directory inside it ('' for all)."""

    name: str
    path: str


def parse_uri(uri: str) -> Claim:
    """`pvc://claim[/path]`; an InputError for a bad claim name or a path that leaves it."""
    parsed = urllib.parse.urlsplit(uri)
    path = parsed.path.strip("/")
    problem = ""
    if parsed.scheme != SCHEME or not _CLAIM.match(parsed.netloc):
        problem = "the claim name is not a valid PersistentVolumeClaim name"
    elif parsed.query or parsed.fragment:
        problem = "a pvc:// reference takes no query or fragment"
    elif path and (posixpath.normpath(path) != path or path.split("/")[0] == ".."):
        problem = "the path inside the claim must be plain, without '.', '..' or '//'"
    if problem:
        raise errors.InputError(
            f"{uri!r}: {problem}",
            reason="BadReference",
            ref=uri,
            hint="Write pvc://CLAIM/PATH/TO/MODEL",
        )
    return Claim(name=parsed.netloc, path=path)


def unverifiable(ref: refs.ModelRef) -> errors.UnsupportedReference:
    """The denial for a `pvc://` reference a verifying policy governs: why it cannot be
    checked and the runtime check, instead of "unsupported scheme". The denial's hint for
    reason Unverifiable adds the other way out, a static authority that passes it."""
    return errors.UnsupportedReference(
        "unverifiable at admission: modelward cannot read a volume at admission; the runtime "
        "check verifies the files mounted into the pod",
        reason="Unverifiable",
        ref=ref.uri,
    )
